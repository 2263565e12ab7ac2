// FsxCache and PlanSweep against the in-process FSx emulator: reads share one sweep, our writes go
// through without a Describe, waiting stores are woken by a sweep that sees their change, and the
// calls a sweep makes depend on the file systems waited on, not on how many stores or readers ask.
#include "controllers/fsx_cache.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "controllers/fsx_sweep.h"
#include "controllers/store_plan.h"
#include "unit/aws/fsx_client_fixture.h"

namespace ckpt::controllers {
namespace {

using aws::Json;
using namespace std::chrono_literals;

class FsxCacheTest : public aws::FsxClientTest {
 protected:
  std::string Create(int i) {
    Json r = aws::Persistent2();
    r["ClientRequestToken"] = "cache-test-" + std::to_string(i);
    r["Tags"] = Json::array({{{"Key", kOwnerTag}, {"Value", "uid-" + std::to_string(i)}}});
    return (*client_->CreateFileSystem(r))["FileSystemId"];
  }
  int Calls(const std::string& op) { return emulator_->CallCounts()[op]; }
  std::vector<std::string> woken_;
  std::mutex woken_mu_;
  void Wire(FsxCache& cache) {
    cache.SetWake([this](const std::string& key) {
      std::lock_guard<std::mutex> l(woken_mu_);
      woken_.push_back(key);
    });
  }
};

TEST(PlanSweepTest, BatchesByTheLimitsFsxDocuments) {
  std::vector<std::string> waited;
  std::map<std::string, size_t> known;  // 1,000 file systems with 2 associations each
  for (int i = 0; i < 1000; ++i) known["fs-" + std::to_string(1000 + i)] = 2;
  for (int i = 0; i < 120; ++i) waited.push_back("fs-" + std::to_string(1000 + i));
  SweepPlan plan = PlanSweep(waited, known);
  ASSERT_EQ(plan.file_system_batches.size(), 3u);  // 50 ids per DescribeFileSystems
  EXPECT_EQ(plan.file_system_batches[2].size(), 20u);
  EXPECT_FALSE(plan.all_associations);
  EXPECT_EQ(plan.association_chunks.size(), 6u);  // 20 values per filter
  EXPECT_EQ(ExpectedAssociationPages(plan, known), 12u) << "6 chunks of 40 associations, 2 pages each, not 80";
}

TEST(PlanSweepTest, SweepsAllAssociationsWhenThatTakesFewerPages) {
  std::map<std::string, size_t> known;
  std::vector<std::string> waited;
  for (int i = 0; i < 100; ++i) known["fs-" + std::to_string(1000 + i)] = 1;
  for (int i = 0; i < 100; ++i) waited.push_back("fs-" + std::to_string(1000 + i));
  SweepPlan most = PlanSweep(waited, known);  // 5 filtered calls vs 4 pages of 25
  EXPECT_TRUE(most.all_associations);
  EXPECT_EQ(ExpectedAssociationPages(most, known), 4u);
  SweepPlan few = PlanSweep({"fs-1000", "fs-1001"}, known);  // 1 filtered call vs 4 pages
  EXPECT_FALSE(few.all_associations);
  EXPECT_EQ(ExpectedAssociationPages(few, known), 1u);
}

TEST_F(FsxCacheTest, ConcurrentReadersShareOneSweepAndLaterReadsCallNothing) {
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(Create(i));
  FsxCache cache(*client_, SystemClock(), {100ms, 10min});
  int before = Calls("DescribeFileSystems");
  std::vector<std::jthread> readers;
  for (int i = 0; i < 8; ++i)
    readers.emplace_back([&, i] { EXPECT_TRUE((*cache.FileSystem(ids[i % 3])).has_value()); });
  readers.clear();
  EXPECT_EQ(Calls("DescribeFileSystems") - before, 1);
  EXPECT_EQ(cache.full_sweeps(), 1u);
  EXPECT_TRUE((*cache.FileSystemOwnedBy("uid-1")).has_value());
  EXPECT_FALSE((*cache.FileSystemOwnedBy("uid-9")).has_value());
  EXPECT_TRUE((*cache.Associations(ids[0])).empty());
  EXPECT_EQ(Calls("DescribeFileSystems") - before, 1);
}

TEST_F(FsxCacheTest, OurWritesGoThroughAndAMissIsAskedById) {
  FsxCache cache(*client_, SystemClock(), {100ms, 10min});
  ASSERT_TRUE(cache.Associations("fs-none").ok());  // the first read sweeps
  Json r = aws::Persistent2();
  Json created = *client_->CreateFileSystem(r);
  cache.PutFileSystem(created);
  int before = Calls("DescribeFileSystems");
  EXPECT_EQ((*cache.FileSystem(created["FileSystemId"]))->value("Lifecycle", ""), "CREATING");
  EXPECT_EQ(Calls("DescribeFileSystems"), before) << "served from the write-through";
  std::string outside = Create(7);  // made after the sweep, not by us
  EXPECT_TRUE((*cache.FileSystem(outside)).has_value());
  EXPECT_FALSE((*cache.FileSystem("fs-0123456789abcdef0")).has_value());
  EXPECT_EQ(Calls("DescribeFileSystems") - before, 2) << "one by-id call per miss";
}

TEST_F(FsxCacheTest, ASweepWakesTheStoresWhoseFileSystemChangedAndNobodyElse) {
  FsxCache cache(*client_, SystemClock(), {100ms, 10min});
  Wire(cache);
  std::string a = Create(1), b = Create(2);
  ASSERT_TRUE(cache.FileSystem(a).ok());
  cache.WakeOnChange(a, "ns/a", cache.Version(a));
  cache.WakeOnChange(b, "ns/b", cache.Version(b));
  WaitFor(a, "AVAILABLE");
  WaitFor(b, "AVAILABLE");
  ASSERT_TRUE(cache.SweepWaiting().ok());
  std::sort(woken_.begin(), woken_.end());
  EXPECT_EQ(woken_, (std::vector<std::string>{"ns/a", "ns/b"}));
  EXPECT_EQ((*cache.FileSystem(a))->value("Lifecycle", ""), "AVAILABLE");
  int before = Calls("DescribeFileSystems") + Calls("DescribeDataRepositoryAssociations");
  ASSERT_TRUE(cache.SweepWaiting().ok());
  EXPECT_EQ(Calls("DescribeFileSystems") + Calls("DescribeDataRepositoryAssociations"), before)
      << "nobody waits: no calls";
  cache.WakeOnChange(a, "ns/late", 0);  // read before the change the sweep saw: woken at once
  EXPECT_EQ(woken_.back(), "ns/late");
}

TEST_F(FsxCacheTest, SweepCallsDependOnFileSystemsWaitedOnNotOnWaiters) {
  FsxCache cache(*client_, SystemClock(), {100ms, 10min});
  Wire(cache);
  std::vector<std::string> ids;
  for (int i = 0; i < 60; ++i) ids.push_back(Create(100 + i));
  ASSERT_TRUE(cache.FileSystem(ids[0]).ok());
  for (int waiter = 0; waiter < 5; ++waiter)
    for (const auto& id : ids) cache.WakeOnChange(id, "ns/" + id + "-" + std::to_string(waiter), cache.Version(id));
  int fs_before = Calls("DescribeFileSystems"), dra_before = Calls("DescribeDataRepositoryAssociations");
  ASSERT_TRUE(cache.SweepWaiting().ok());
  EXPECT_EQ(Calls("DescribeFileSystems") - fs_before, 2) << "60 ids in batches of 50";
  EXPECT_EQ(Calls("DescribeDataRepositoryAssociations") - dra_before, 1) << "no associations known: one page";
}

TEST_F(FsxCacheTest, AssociationWritesGoThroughAndADeleteKeepsTheRest) {
  std::string id = Create(1);
  WaitFor(id, "AVAILABLE");
  FsxCache cache(*client_, SystemClock(), {100ms, 10min});
  Json made = *client_->CreateDataRepositoryAssociation(
      {{"FileSystemId", id}, {"FileSystemPath", "/checkpoints"}, {"DataRepositoryPath", "s3://bucket/checkpoints/"}});
  ASSERT_EQ((*cache.Associations(id)).size(), 1u);  // the sweep saw it
  cache.PutAssociation(id, {{"AssociationId", made["AssociationId"]}, {"Lifecycle", "DELETING"}});
  auto listed = *cache.Associations(id);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["Lifecycle"], "DELETING");
  EXPECT_EQ(listed[0]["FileSystemPath"], "/checkpoints");
}

}  // namespace
}  // namespace ckpt::controllers
