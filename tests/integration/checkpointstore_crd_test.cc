// The CheckpointStore CRD's validation on a real API server: each bad spec is rejected at apply
// time with a message a person understands (table-driven, one named case per rule), immutable
// fields stay immutable on update, and the workshop's layout (PERSISTENT_2, 4 associations) passes.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

#include "integration/envtest.h"

namespace ckpt {
namespace {

using kube::Json;
namespace res = kube::resources;

Json Workshop(const std::string& name) {
  return Json::parse(R"({
    "apiVersion": "trainops.io/v1alpha1", "kind": "CheckpointStore",
    "metadata": {"name": ")" + name + R"(", "namespace": "default"},
    "spec": {
      "fileSystem": {"deploymentType": "PERSISTENT_2", "storageCapacityGiB": 2400, "perUnitStorageThroughput": 250,
                     "subnetId": "subnet-0123456789abcdef0", "securityGroupIds": ["sg-0123456789abcdef0"],
                     "efaEnabled": true, "dataCompressionType": "LZ4", "fileSystemTypeVersion": "2.15",
                     "tags": {"team": "ml"}},
      "dataRepository": {"bucket": "s3://training-ckpt-123456789012", "associations": [
        {"path": "/data", "prefix": "data/", "import": ["NEW", "CHANGED", "DELETED"]},
        {"path": "/checkpoints", "prefix": "checkpoints/", "import": ["NEW", "CHANGED", "DELETED"], "export": ["NEW", "CHANGED", "DELETED"]},
        {"path": "/logs", "prefix": "logs/", "export": ["NEW", "CHANGED", "DELETED"]},
        {"path": "/results", "prefix": "results/", "export": ["NEW", "CHANGED", "DELETED"]}]},
      "volume": {"claimName": ")" + name + R"(", "mountOptions": ["flock", "lazystatfs"]}}})");
}

struct Case {
  const char* name;
  std::function<void(Json& spec)> mutate;
  const char* message;
};

class CheckpointStoreCrdTest : public ::testing::TestWithParam<Case> {};

TEST_P(CheckpointStoreCrdTest, RejectsBadInputWithAClearMessage) {
  auto client = testing::Envtest().NewClient();
  Json obj = Workshop("bad-" + std::string(GetParam().name));
  GetParam().mutate(obj["spec"]);
  auto r = client->Create(res::CheckpointStores(), "default", obj);
  ASSERT_TRUE(r.status().IsInvalid()) << r.status().ToString();
  EXPECT_NE(r.status().message().find(GetParam().message), std::string::npos) << r.status().message();
}

// Drops the S3 link and sets automatic backups (FSx backs up only unlinked file systems).
void Unlink(Json& spec, int retention_days, const std::string& start) {
  spec.erase("dataRepository");
  spec["fileSystem"]["backups"] = {{"automaticRetentionDays", retention_days}, {"dailyStartTime", start}};
}

Json Dra(const std::string& path, const std::string& prefix) { return {{"path", path}, {"prefix", prefix}}; }

INSTANTIATE_TEST_SUITE_P(
    Rules, CheckpointStoreCrdTest,
    ::testing::Values(
        Case{"capacity-step", [](Json& s) { s["fileSystem"]["storageCapacityGiB"] = 3600; },
             "storageCapacityGiB must be 1200 or a multiple of 2400"},
        Case{"capacity-too-small", [](Json& s) { s["fileSystem"]["storageCapacityGiB"] = 1000; },
             "should be greater than or equal to 1200"},
        Case{"throughput-for-type", [](Json& s) { s["fileSystem"]["perUnitStorageThroughput"] = 200; },
             "perUnitStorageThroughput must be 50, 100 or 200 MB/s/TiB for PERSISTENT_1 and 125, 250, 500 or 1000"},
        Case{"throughput-missing", [](Json& s) { s["fileSystem"].erase("perUnitStorageThroughput"); },
             "perUnitStorageThroughput is required for PERSISTENT_1 and PERSISTENT_2"},
        Case{"efa-needs-persistent-2",
             [](Json& s) {
               s["fileSystem"]["deploymentType"] = "PERSISTENT_1";
               s["fileSystem"]["perUnitStorageThroughput"] = 200;
             },
             "efaEnabled requires deploymentType PERSISTENT_2"},
        Case{"adopt-mixed-with-create", [](Json& s) { s["fileSystem"]["id"] = "fs-0123456789abcdef0"; },
             "fileSystem.id adopts an existing file system: do not also set"},
        Case{"neither-adopt-nor-create", [](Json& s) { s["fileSystem"] = Json::object(); },
             "set fileSystem.id to adopt an existing file system, or deploymentType, storageCapacityGiB and subnetId"},
        Case{"scratch-backups",
             [](Json& s) {
               Unlink(s, 30, "03:00");
               s["fileSystem"]["deploymentType"] = "SCRATCH_2";
               s["fileSystem"].erase("perUnitStorageThroughput");
               s["fileSystem"].erase("efaEnabled");
             },
             "SCRATCH_2 file systems have no automatic backups"},
        Case{"retention-range", [](Json& s) { Unlink(s, 91, "03:00"); }, "should be less than or equal to 90"},
        Case{"backup-time", [](Json& s) { Unlink(s, 30, "3:00"); }, "dailyStartTime must be HH:MM in UTC"},
        Case{"backup-time-hour", [](Json& s) { Unlink(s, 30, "24:00"); }, "dailyStartTime must be HH:MM in UTC"},
        Case{"backups-with-associations",
             [](Json& s) { s["fileSystem"]["backups"] = {{"automaticRetentionDays", 7}}; },
             "automatic backups are not available on a file system linked to S3 (FSx for Lustre backs up only "
             "persistent file systems without data repository associations)"},
        Case{"snapshot-with-associations", [](Json& s) { s["deletionPolicy"] = "Snapshot"; },
             "deletionPolicy Snapshot takes a final FSx backup, which FSx does not take of a file system linked to S3"},
        Case{"two-checkpoint-associations",
             [](Json& s) {
               s["dataRepository"]["associations"][1]["checkpoints"] = true;
               s["dataRepository"]["associations"][2]["checkpoints"] = true;
             },
             "at most one association can be marked checkpoints: true"},
        Case{"restore-needs-a-backup-id", [](Json& s) { s["fileSystem"]["fromBackup"] = "snap-1"; },
             "spec.fileSystem.fromBackup in body should match '^backup-[0-9a-f]{8,}$'"},
        Case{"restore-is-not-adopt",
             [](Json& s) { s["fileSystem"] = {{"id", "fs-0123456789abcdef0"}, {"fromBackup", "backup-0123456789abcdef0"}}; },
             "fileSystem.id adopts an existing file system: do not also set"},
        Case{"duplicate-path", [](Json& s) { s["dataRepository"]["associations"].push_back(Dra("/data", "other/")); },
             "Duplicate value"},
        Case{"nested-paths", [](Json& s) { s["dataRepository"]["associations"].push_back(Dra("/data/raw", "raw/")); },
             "association paths must not be nested in one another"},
        Case{"root-overlaps-all", [](Json& s) { s["dataRepository"]["associations"].push_back(Dra("/", "all/")); },
             "association paths must not be nested in one another"},
        Case{"shared-prefix", [](Json& s) { s["dataRepository"]["associations"].push_back(Dra("/more", "data/")); },
             "each association needs its own bucket prefix"},
        Case{"relative-path", [](Json& s) { s["dataRepository"]["associations"].push_back(Dra("scratch", "s/")); },
             "path must be an absolute directory"},
        Case{"more-than-8",
             [](Json& s) {
               for (int i = 0; i < 5; ++i)
                 s["dataRepository"]["associations"].push_back(Dra("/x" + std::to_string(i), "x" + std::to_string(i) + "/"));
             },
             "must have at most 8 items"},
        Case{"associations-need-bucket", [](Json& s) { s["dataRepository"].erase("bucket"); },
             "dataRepository.bucket is required when associations are listed"},
        Case{"bad-deletion-policy", [](Json& s) { s["deletionPolicy"] = "Shred"; },
             "supported values: \"Retain\", \"Delete\", \"Snapshot\""}),
    [](const ::testing::TestParamInfo<Case>& param) {
      std::string n = param.param.name;
      std::replace(n.begin(), n.end(), '-', '_');
      return n;
    });

TEST(CheckpointStoreCrdNameTest, ANameThatCannotBeALabelValueIsRefusedAtApply) {
  auto client = testing::Envtest().NewClient();
  auto r = client->Create(res::CheckpointStores(), "default", Workshop(std::string(64, 'n')));
  ASSERT_TRUE(r.status().IsInvalid()) << r.status().ToString();
  EXPECT_NE(r.status().message().find("metadata.name must be at most 63 characters: it is a label value"), std::string::npos)
      << r.status().message();
  EXPECT_TRUE(client->Create(res::CheckpointStores(), "default", Workshop(std::string(63, 'n'))).ok());
}

TEST(CheckpointStoreCrdUpdateTest, WorkshopLayoutIsAcceptedAndImmutableFieldsStayPut) {
  auto client = testing::Envtest().NewClient();
  auto created = client->Create(res::CheckpointStores(), "default", Workshop("workshop"));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ((*created)["spec"]["deletionPolicy"], "Retain");
  auto update = [&](std::function<void(Json&)> mutate) {
    Json obj = *client->Get(res::CheckpointStores(), "default", "workshop");
    mutate(obj["spec"]);
    return client->Update(res::CheckpointStores(), obj).status();
  };
  Status s = update([](Json& spec) { spec["fileSystem"]["deploymentType"] = "PERSISTENT_1"; });
  EXPECT_NE(s.message().find("deploymentType is immutable"), std::string::npos) << s.ToString();
  s = update([](Json& spec) { spec["fileSystem"]["subnetId"] = "subnet-0fedcba9876543210"; });
  EXPECT_NE(s.message().find("subnetId is immutable"), std::string::npos) << s.ToString();
  s = update([](Json& spec) { spec["fileSystem"]["storageCapacityGiB"] = 1200; });
  EXPECT_NE(s.message().find("storageCapacityGiB can only grow"), std::string::npos) << s.ToString();
  s = update([](Json& spec) {
    spec["fileSystem"] = {{"id", "fs-0123456789abcdef0"}};
  });
  EXPECT_NE(s.message().find("cannot switch between adopting"), std::string::npos) << s.ToString();
  s = update([](Json& spec) { spec["fileSystem"]["fromBackup"] = "backup-0123456789abcdef0"; });
  EXPECT_NE(s.message().find("fromBackup can only be set when the store is created"), std::string::npos) << s.ToString();
  EXPECT_TRUE(update([](Json& spec) {
                spec["fileSystem"]["storageCapacityGiB"] = 4800;
                spec["dataRepository"]["finalExport"] = false;
                spec["dataRepository"]["associations"].erase(3);
              }).ok())
      << "growing capacity, skipping the final export and removing an association are allowed";
}

}  // namespace
}  // namespace ckpt

CKPT_ENVTEST_MAIN();
