// Process chaos on the real daemon: while CheckpointStores (linked, policy Delete) and TrainRuns
// on the real training stack are created, edited and deleted, the only operator process is
// SIGKILLed at random moments (at least 25 times) and restarted at once. At the end every FSx
// resource is accounted for: each living store has exactly one file system and one association
// per declared path, nothing is left of a deleted store (no file system, no association, no
// finalizer, no TrainRun), and nothing in FSx belongs to no store. And a leader SIGKILLed while
// its FSx creates are in flight: the standby takes over and nothing is created twice. Each prints
// one line of figures.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <map>
#include <random>
#include <thread>

#include "ckpt/aws/fsx_client.h"
#include "ckpt/emulator/fsx_emulator.h"
#include "controllers/store_plan.h"
#include "fakes/static_credentials.h"
#include "integration/envtest.h"
#include "integration/operator_process.h"
#include "integration/test_objects.h"

namespace ckpt {
namespace {

namespace res = kube::resources;
using kube::Json;
using testing::Eventually;
using namespace std::chrono_literals;

constexpr char kNs[] = "chaos";
constexpr int kStores = 16, kRuns = 4, kKept = 4, kMinKills = 25;

std::string StoreName(int i) { return "store-" + std::to_string(i); }

Json ChaosStore(int i) {
  Json s = testing::CheckpointStoreObject(kNs, StoreName(i));
  s["spec"]["deletionPolicy"] = "Delete";
  s["spec"]["dataRepository"] = {
      {"bucket", "s3://training-ckpt-123456789012"},
      {"associations", {{{"path", "/data"}, {"prefix", "s" + std::to_string(i) + "/data/"}, {"import", {"NEW"}}},
                        {{"path", "/checkpoints"}, {"prefix", "s" + std::to_string(i) + "/ckpt/"}, {"export", {"NEW", "CHANGED"}}}}}};
  return s;
}

// A one-node run on one of the stores that will be deleted (their deletion waits for it).
Json ChaosRun(int i) {
  return Json::parse(R"({"apiVersion": "trainops.io/v1alpha1", "kind": "TrainRun",
    "metadata": {"name": "run-)" + std::to_string(i) + R"(", "namespace": "chaos"},
    "spec": {"checkpointStore": ")" + StoreName(kKept + i) + R"(", "runtimeRef": {"name": "torch-distributed"},
             "placement": {"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]},
             "trainer": {"image": "my/train:1", "numNodes": 1, "resourcesPerNode": {"limits": {"nvidia.com/gpu": 8}}}}})");
}

// The daemon, killed with SIGKILL every 0.3-2 s and started again at once, until Stop().
class ChaosMonkey {
 public:
  ChaosMonkey(std::vector<std::string> args, std::string log_dir) : args_(std::move(args)), log_dir_(std::move(log_dir)) {
    pid_ = Spawn();
    thread_ = std::jthread([this](std::stop_token stop) { Run(stop); });
  }
  ~ChaosMonkey() { Stop(); }
  int kills() const { return kills_; }
  void Stop() {
    thread_.request_stop();
    if (thread_.joinable()) thread_.join();
    if (pid_ > 0) kill(pid_, SIGKILL), waitpid(pid_, nullptr, 0), pid_ = 0;
  }

 private:
  pid_t Spawn() {
    return testing::SpawnOperator(CKPT_OPERATOR_BINARY, args_, log_dir_ + "/operator-" + std::to_string(kills_) + ".log");
  }
  void Run(std::stop_token stop) {
    std::mt19937 rng(20261124);
    std::uniform_int_distribution<int> pause_ms(300, 2000);
    while (!stop.stop_requested()) {
      auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(pause_ms(rng));
      while (!stop.stop_requested() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(20ms);
      if (stop.stop_requested()) return;
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      ++kills_;
      pid_ = Spawn();
    }
  }
  std::vector<std::string> args_;
  std::string log_dir_;
  pid_t pid_ = 0;
  std::atomic<int> kills_{0};
  std::jthread thread_;
};

class OperatorChaosTest : public ::testing::Test {
 protected:
  void SetUp() override {
    emulator::FsxEmulatorOptions o;
    o.create_time = o.update_time = o.delete_time = o.association_time = 500ms;
    emulator_ = std::move(emulator::StartFsxEmulator(o)).value();
    fsx_ = aws::NewFsxClient({.endpoint = emulator_->url(), .region = "us-east-1", .credentials = &creds_});
    client_ = testing::Envtest().NewClient();
    (void)client_->Create(res::Namespaces(), "", Json{{"metadata", {{"name", kNs}}}});
    auto kubeconfig = testing::Envtest().OperatorKubeconfig();
    ASSERT_TRUE(kubeconfig.ok()) << kubeconfig.status().ToString();
    args_ = testing::DaemonArgs(*kubeconfig, emulator_->url(), {"--fsx-refusal-retry", "2s", "--leader-elect=false"});
  }
  // What a test leaves in the namespace (kept stores with their finalizers and FSx ids) must not
  // become the next test's work: its daemons are gone by now, so finalizers are dropped by hand.
  void TearDown() override {
    for (const kube::Resource& r : {res::TrainRuns(), res::CheckpointStores()}) {
      auto list = client_->List(r, kNs, {});
      if (!list.ok()) continue;
      for (const auto& o : (*list)["items"]) {
        const std::string name = o["metadata"]["name"];
        (void)client_->Patch(r, kNs, name, {}, R"({"metadata":{"finalizers":null}})");
        (void)client_->Delete(r, kNs, name);
      }
    }
  }
  std::string Phase(const kube::Resource& r, const std::string& name) {
    auto o = client_->Get(r, kNs, name);
    return o.ok() ? o->value("/status/phase"_json_pointer, std::string()) : "";
  }
  bool AllInPhase(const kube::Resource& r, const std::string& prefix, int n, const std::string& phase) {
    for (int i = 0; i < n; ++i)
      if (Phase(r, prefix + std::to_string(i)) != phase) return false;
    return true;
  }
  bool Gone(const kube::Resource& r, const std::string& name) { return client_->Get(r, kNs, name).status().IsNotFound(); }
  // File systems (not being deleted) by the store UID they are tagged with.
  std::map<std::string, std::vector<std::string>> FileSystemsByOwner() {
    std::map<std::string, std::vector<std::string>> owners;
    const std::vector<Json> all = *fsx_->DescribeFileSystems({});  // a range-for over a temporary's * dangles
    for (const auto& fs : all) {
      std::string owner;
      for (const auto& t : fs.value("Tags", Json::array()))
        if (t["Key"] == controllers::kOwnerTag) owner = t["Value"];
      owners[owner].push_back(fs["FileSystemId"]);
    }
    return owners;
  }

  testing::StaticCredentials creds_;
  std::unique_ptr<emulator::FsxEmulator> emulator_;
  aws::FsxClientPtr fsx_;
  kube::KubeClientPtr client_;
  std::vector<std::string> args_;
};

TEST_F(OperatorChaosTest, SigkilledWhileCreatingEditingAndDeletingLeavesNothingDuplicatedOrOrphaned) {
  auto started = std::chrono::steady_clock::now();
  ChaosMonkey monkey(args_, testing::Envtest().dir());
  std::map<std::string, std::string> uids;  // store name -> UID
  for (int i = 0; i < kStores; ++i) {
    auto made = client_->Create(res::CheckpointStores(), kNs, ChaosStore(i));
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    uids[StoreName(i)] = (*made)["metadata"]["uid"];
  }
  for (int i = 0; i < kRuns; ++i) ASSERT_TRUE(client_->Create(res::TrainRuns(), kNs, ChaosRun(i)).ok());
  ASSERT_TRUE(Eventually([&] { return AllInPhase(res::CheckpointStores(), "store-", kStores, "Ready"); }, 180s));
  ASSERT_TRUE(Eventually([&] { return AllInPhase(res::TrainRuns(), "run-", kRuns, "Running"); }, 120s))
      << (*client_->Get(res::TrainRuns(), kNs, "run-0"))["status"].dump(2);
  int duplicates = 0;
  for (const auto& [owner, ids] : FileSystemsByOwner()) duplicates += static_cast<int>(ids.size()) - 1;

  for (int i = 0; i < kStores; i += 2) {  // edit: a third association on every other store
    Json s = *client_->Get(res::CheckpointStores(), kNs, StoreName(i));
    s["spec"]["dataRepository"]["associations"].push_back(
        {{"path", "/logs"}, {"prefix", "s" + std::to_string(i) + "/logs/"}, {"export", {"NEW"}}});
    ASSERT_TRUE(client_->Update(res::CheckpointStores(), s).ok());
  }
  for (int i = 0; i < kRuns; ++i) ASSERT_TRUE(client_->Delete(res::TrainRuns(), kNs, "run-" + std::to_string(i)).ok());
  for (int i = kKept; i < kStores; ++i) ASSERT_TRUE(client_->Delete(res::CheckpointStores(), kNs, StoreName(i)).ok());
  ASSERT_TRUE(Eventually([&] {
    for (int i = kKept; i < kStores; ++i)
      if (!Gone(res::CheckpointStores(), StoreName(i))) return false;
    return true;
  }, 180s));
  while (monkey.kills() < kMinKills) std::this_thread::sleep_for(100ms);
  monkey.Stop();
  const pid_t survivor = testing::SpawnOperator(CKPT_OPERATOR_BINARY, args_, testing::Envtest().dir() + "/operator-final.log");
  ASSERT_TRUE(Eventually([&] {
    for (int i = 0; i < kKept; ++i) {
      auto s = client_->Get(res::CheckpointStores(), kNs, StoreName(i));
      if (!s.ok() || (*s).value("/status/phase"_json_pointer, std::string()) != "Ready" ||
          (*s).value("/status/observedGeneration"_json_pointer, 0) != (*s)["metadata"].value("generation", 0))
        return false;
    }
    return FileSystemsByOwner().size() == static_cast<size_t>(kKept);  // deleted ones have left FSx
  }, 60s));

  auto owners = FileSystemsByOwner();
  int file_systems = 0, associations = 0, association_duplicates = 0, orphans = 0, finalizers_left = 0;
  for (int i = 0; i < kStores; ++i) {
    const bool kept = i < kKept;
    auto it = owners.find(uids[StoreName(i)]);
    const size_t n = it == owners.end() ? 0 : it->second.size();
    if (kept) duplicates += n > 1 ? static_cast<int>(n) - 1 : 0;
    else orphans += static_cast<int>(n);
    if (!kept) finalizers_left += !Gone(res::CheckpointStores(), StoreName(i));
    if (n == 0) continue;
    file_systems += static_cast<int>(n);
    std::map<std::string, int> per_path;
    const std::vector<Json> dras = *fsx_->DescribeDataRepositoryAssociations(
        Json::array({{{"Name", "file-system-id"}, {"Values", {it->second[0]}}}}));
    for (const auto& a : dras) ++per_path[a.value("FileSystemPath", "")];
    for (const auto& [path, count] : per_path) association_duplicates += count - 1;
    associations += static_cast<int>(dras.size());
    EXPECT_EQ(per_path.size(), i % 2 == 0 ? 3u : 2u) << StoreName(i) << ": one association per declared path";
  }
  for (const auto& [owner, ids] : owners)
    if (std::none_of(uids.begin(), uids.end(), [&](const auto& u) { return u.second == owner; })) orphans += ids.size();
  int runs_left = 0;
  for (int i = 0; i < kRuns; ++i) runs_left += !Gone(res::TrainRuns(), "run-" + std::to_string(i));
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
  std::cerr << "[chaos] kills=" << monkey.kills() << " stores=" << kStores << " (kept " << kKept << ") runs=" << kRuns
            << " file_systems=" << file_systems << " associations=" << associations << " duplicates=" << duplicates
            << " association_duplicates=" << association_duplicates << " orphans=" << orphans
            << " finalizers_left=" << finalizers_left << " runs_left=" << runs_left << " seconds=" << seconds.count()
            << " CreateFileSystem_calls=" << emulator_->CallCounts()["CreateFileSystem"] << "\n";
  EXPECT_EQ(testing::StopOperator(survivor), 0);
  EXPECT_GE(monkey.kills(), kMinKills);
  EXPECT_EQ(file_systems, kKept);
  EXPECT_EQ(duplicates, 0);
  EXPECT_EQ(association_duplicates, 0);
  EXPECT_EQ(orphans, 0);
  EXPECT_EQ(finalizers_left, 0);
  EXPECT_EQ(runs_left, 0);
}

// Two replicas with leader election; every FSx call takes 400 ms, so creates are in flight when
// the leader is SIGKILLed. The standby takes the lease once it expires and finishes the work that
// the dead leader started: one file system per store, none created twice.
TEST_F(OperatorChaosTest, LeaderKilledInTheMiddleOfBusyReconcilesNeverCreatesTwice) {
  emulator_->SetFaults({.latency = 400ms});
  std::vector<std::string> elected = args_;
  std::erase(elected, "--leader-elect=false");
  const std::string dir = testing::Envtest().dir();
  auto spawn = [&](const std::string& id) {
    std::vector<std::string> a = elected;
    a.insert(a.end(), {"--leader-election-identity", id});
    return testing::SpawnOperator(CKPT_OPERATOR_BINARY, a, dir + "/" + id + ".log");
  };
  const pid_t first = spawn("replica-a");
  ASSERT_TRUE(Eventually([&] { return testing::ReadFile(dir + "/replica-a.log").find("became leader") != std::string::npos; }, 30s));
  const pid_t standby = spawn("replica-b");
  std::map<std::string, std::string> uids;
  for (int i = 0; i < 8; ++i) {
    auto made = client_->Create(res::CheckpointStores(), kNs, ChaosStore(100 + i));
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    uids[(*made)["metadata"]["uid"]] = StoreName(100 + i);
  }
  ASSERT_TRUE(Eventually([&] { return emulator_->CallCounts()["CreateFileSystem"] >= 3; }, 30s)) << "creates in flight";
  kill(first, SIGKILL);
  waitpid(first, nullptr, 0);
  const auto killed = std::chrono::steady_clock::now();
  ASSERT_TRUE(Eventually([&] { return testing::ReadFile(dir + "/replica-b.log").find("became leader") != std::string::npos; }, 60s));
  const double takeover = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  const bool ready = Eventually([&] {
    for (int i = 0; i < 8; ++i)
      if (Phase(res::CheckpointStores(), StoreName(100 + i)) != "Ready") return false;
    return true;
  }, 120s);
  const Json events = *client_->List(res::Events(), kNs, {});
  std::map<std::string, int> reasons;
  for (const auto& e : events["items"]) reasons[e.value("reason", "") + ": " + e.value("note", "").substr(0, 120)] += 1;
  for (const auto& [reason, n] : reasons) std::cerr << "[handover] event x" << n << " " << reason << "\n";
  ASSERT_TRUE(ready) << (*client_->Get(res::CheckpointStores(), kNs, StoreName(100)))["status"].dump(2);
  int duplicates = 0, stores_with_one = 0;
  for (const auto& [owner, ids] : FileSystemsByOwner()) {
    if (!uids.count(owner)) continue;
    duplicates += static_cast<int>(ids.size()) - 1;
    stores_with_one += ids.size() == 1;
  }
  std::cerr << "[handover] stores=8 creates_before_kill>=3 takeover_after=" << takeover << "s stores_with_one_file_system="
            << stores_with_one << " duplicates=" << duplicates
            << " CreateFileSystem_calls=" << emulator_->CallCounts()["CreateFileSystem"] << "\n";
  EXPECT_EQ(stores_with_one, 8);
  EXPECT_EQ(duplicates, 0);
  EXPECT_EQ(testing::StopOperator(standby), 0);
}

}  // namespace
}  // namespace ckpt

CKPT_ENVTEST_MAIN();
