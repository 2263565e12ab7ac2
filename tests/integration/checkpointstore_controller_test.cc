// The CheckpointStore controller end to end: real kube-apiserver + kube-controller-manager (the
// PV binder binds our claims), the FSx emulator in-process with fast lifecycles, and the
// operator's Manager running the controller. Covers: the workshop store becomes Ready with its
// claim Bound and 4 associations; a crash between FSx create and the status write still ends with
// one file system, and a store deleted in that window still has its file system deleted; adopting
// by id; retention changes reach FSx (unlinked store); a removed association is deleted; each
// deletion policy: Retain keeps everything, Delete on a linked store runs one final export task
// before deleting anything (and an injected task failure stops it), Snapshot's final backup of an
// unlinked store restores into a Ready store (a running TrainRun blocking deletion is in
// trainrun_controller_test, on the real training stack); a write an admission policy forbids becomes a condition and one Event, then recovers;
// 30% throttling converges.
#include <gtest/gtest.h>

#include "fakes/static_credentials.h"

#include <fstream>
#include <set>
#include <thread>

#include "ckpt/controllers/checkpoint_store.h"
#include "ckpt/emulator/fsx_emulator.h"
#include "ckpt/kube/informer.h"
#include "ckpt/runtime/handlers.h"
#include "ckpt/runtime/manager.h"
#include "controllers/fsx_cache.h"
#include "controllers/store_plan.h"
#include "integration/envtest.h"
#include "integration/test_objects.h"

namespace ckpt {
namespace {

using kube::Json;
using testing::Eventually;
namespace res = kube::resources;
using namespace std::chrono_literals;

using testing::StaticCredentials;

constexpr char kNs[] = "stores";

Json Store(const std::string& ns, const std::string& name, const std::string& policy = "Retain") {
  return Json::parse(R"({"apiVersion": "trainops.io/v1alpha1", "kind": "CheckpointStore",
    "metadata": {"name": ")" + name + R"(", "namespace": ")" + ns + R"("},
    "spec": {"fileSystem": {"deploymentType": "PERSISTENT_2", "storageCapacityGiB": 2400, "perUnitStorageThroughput": 250,
                            "subnetId": "subnet-0123456789abcdef0", "fileSystemTypeVersion": "2.15"},
             "dataRepository": {"bucket": "s3://training-ckpt-123456789012", "associations": [
               {"path": "/data", "prefix": "data/", "import": ["NEW", "CHANGED", "DELETED"]},
               {"path": "/checkpoints", "prefix": "checkpoints/", "import": ["NEW", "CHANGED", "DELETED"], "export": ["NEW", "CHANGED", "DELETED"]},
               {"path": "/logs", "prefix": "logs/", "export": ["NEW", "CHANGED", "DELETED"]},
               {"path": "/results", "prefix": "results/", "export": ["NEW", "CHANGED", "DELETED"]}]},
             "volume": {"claimName": ")" + name + R"(-ckpt"}, "deletionPolicy": ")" + policy + R"("}})");
}

// A store with no S3 link: the kind FSx backs up (automatic daily backups, Snapshot on deletion).
Json UnlinkedStore(const std::string& ns, const std::string& name, const std::string& policy = "Retain") {
  Json s = Store(ns, name, policy);
  s["spec"].erase("dataRepository");
  s["spec"]["fileSystem"]["backups"] = {{"automaticRetentionDays", 30}, {"dailyStartTime", "03:00"}};
  return s;
}

// Everything the operator runs, wired as the daemon will: informers, controller, manager.
struct Operator {
  explicit Operator(const std::string& ns, kube::KubeClient& client, aws::FsxClient& fsx)
      : fsx_cache(fsx, SystemClock(), {200ms, 5s}),
        events(client, SystemClock(), "ckpt-operator", "test", 1s),  // short series: repeats patch
        stores(client, {res::CheckpointStores(), ns}, SystemClock()),
        trainruns(client, {res::TrainRuns(), ns}, SystemClock(),
                  {{{controllers::kTrainRunsByStore, controllers::TrainRunStoreKey}}}),
        claims(client, {res::PersistentVolumeClaims(), ns, controllers::kStoreLabel}, SystemClock()),
        volumes(client, {res::PersistentVolumes(), "", controllers::kStoreLabel}, SystemClock()),
        reconciler(client, {stores.store(), trainruns.store(), claims.store(), volumes.store()}, fsx, fsx_cache, events,
                   SystemClock(), {200ms, 5s, 1s}),
        controller({"checkpointstore", 2}, reconciler, SystemClock(), &metrics),
        manager({.probe_address = "0"}, client, SystemClock(), metrics) {
    stores.AddHandler(runtime::EnqueueSelfUnlessStatusOnly(controller.queue()));
    fsx_cache.SetWake([this](const std::string& key) { controller.queue().Add(key); });
    manager.AddRunnable([this](std::stop_token stop) { fsx_cache.Run(stop); });
    claims.AddHandler(runtime::EnqueueOwner(controller.queue(), "trainops.io", "CheckpointStore"));
    trainruns.AddHandler(runtime::EnqueueMapped(controller.queue(), controllers::DeletingStoreOf(stores.store())));
    manager.AddInformer(&stores);
    manager.AddInformer(&trainruns);
    manager.AddInformer(&claims);
    manager.AddInformer(&volumes);
    volumes.AddHandler(runtime::EnqueueMapped(controller.queue(), controllers::StoreOfVolume));
    manager.AddController(&controller);
    thread = std::jthread([this](std::stop_token stop) { manager.Run(stop); });
  }
  runtime::Metrics metrics;
  controllers::FsxCache fsx_cache;
  runtime::KubeEventRecorder events;
  kube::Informer stores, trainruns, claims, volumes;
  controllers::CheckpointStoreReconciler reconciler;
  runtime::Controller controller;
  runtime::Manager manager;
  std::jthread thread;  // last member: stops (request_stop + join) before the rest is destroyed
};

class CheckpointStoreControllerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    emulator::FsxEmulatorOptions o;
    o.create_time = o.update_time = o.delete_time = o.association_time = 300ms;
    emulator_ = std::move(emulator::StartFsxEmulator(o)).value().release();
    aws::JsonRpcOptions r;
    r.endpoint = emulator_->url();
    r.region = "us-east-1";
    r.credentials = &creds_;
    r.retry = {.max_attempts = 3, .max_backoff = 100ms};
    fsx_ = aws::NewFsxClient(r).release();
    client_ = testing::Envtest().NewClient().release();
    for (const char* ns : {kNs, "crash"}) (void)client_->Create(res::Namespaces(), "", Json{{"metadata", {{"name", ns}}}});
    auto as_operator = testing::Envtest().NewOperatorClient();  // the ServiceAccount deploy/rbac grants
    ASSERT_TRUE(as_operator.ok()) << as_operator.status().ToString();
    operator_client_ = std::move(as_operator).value().release();
    operator_ = new Operator(kNs, *operator_client_, *fsx_);
  }
  static void TearDownTestSuite() { delete operator_; }

  static Json Get(const std::string& name) { return *client_->Get(res::CheckpointStores(), kNs, name); }
  static bool Ready(const std::string& name) {
    auto s = client_->Get(res::CheckpointStores(), kNs, name);
    return s.ok() && (*s).value("/status/phase"_json_pointer, std::string()) == "Ready";
  }
  static std::vector<Json> Associations(const std::string& fs_id) {
    return *fsx_->DescribeDataRepositoryAssociations(Json::array({{{"Name", "file-system-id"}, {"Values", {fs_id}}}}));
  }
  void Delete(const std::string& name) { ASSERT_TRUE(client_->Delete(res::CheckpointStores(), kNs, name).ok()); }
  bool Gone(const std::string& name) { return client_->Get(res::CheckpointStores(), kNs, name).status().IsNotFound(); }

  static inline StaticCredentials creds_;
  static inline emulator::FsxEmulator* emulator_ = nullptr;
  static inline aws::FsxClient* fsx_ = nullptr;
  static inline kube::KubeClient* client_ = nullptr;           // admin: the test's own actions
  static inline kube::KubeClient* operator_client_ = nullptr;  // the operator's ServiceAccount
  static inline Operator* operator_ = nullptr;
};

TEST_F(CheckpointStoreControllerTest, WorkshopStoreBecomesReadyWithBoundClaimAndFourAssociations) {
  ASSERT_TRUE(client_->Create(res::CheckpointStores(), kNs, Store(kNs, "workshop")).ok());
  ASSERT_TRUE(Eventually([] { return Ready("workshop"); }, 60s)) << Get("workshop")["status"].dump(2);
  Json s = Get("workshop");
  std::string fs_id = s["status"]["fileSystemId"];
  EXPECT_EQ(s["status"]["dnsName"], fs_id + ".fsx.us-east-1.amazonaws.com");
  EXPECT_EQ(s["status"]["associations"].size(), 4u);
  EXPECT_EQ(s["status"]["volume"]["bound"], true);
  EXPECT_EQ(s["metadata"]["finalizers"][0], controllers::kStoreFinalizer);
  auto pvc = client_->Get(res::PersistentVolumeClaims(), kNs, "workshop-ckpt");
  EXPECT_EQ((*pvc)["status"]["phase"], "Bound") << "bound by the real kube-controller-manager";
  auto pv = client_->Get(res::PersistentVolumes(), "", "ckpt-stores-workshop");
  EXPECT_EQ((*pv)["spec"]["csi"]["volumeHandle"], fs_id);
  EXPECT_EQ((*pv)["spec"]["csi"]["driver"], "fsx.csi.aws.com");
  EXPECT_EQ(Associations(fs_id).size(), 4u);
}

TEST_F(CheckpointStoreControllerTest, RetentionChangeReachesFsxOnAnUnlinkedStore) {
  ASSERT_TRUE(client_->Create(res::CheckpointStores(), kNs, UnlinkedStore(kNs, "edited")).ok());
  ASSERT_TRUE(Eventually([] { return Ready("edited"); }, 60s)) << Get("edited")["status"].dump(2);
  Json s = Get("edited");
  std::string fs_id = s["status"]["fileSystemId"];
  EXPECT_EQ((*fsx_->DescribeFileSystems({fs_id}))[0]["LustreConfiguration"]["AutomaticBackupRetentionDays"], 30);
  int updates = emulator_->CallCounts()["UpdateFileSystem"];
  s["spec"]["fileSystem"]["backups"]["automaticRetentionDays"] = 7;
  ASSERT_TRUE(client_->Update(res::CheckpointStores(), s).ok());
  EXPECT_TRUE(Eventually([&] {
    auto fs = fsx_->DescribeFileSystems({fs_id});
    return fs.ok() && (*fs)[0]["LustreConfiguration"]["AutomaticBackupRetentionDays"] == 7;
  }, 30s));
  EXPECT_GT(emulator_->CallCounts()["UpdateFileSystem"], updates);
  EXPECT_TRUE(Eventually([] { return Ready("edited") && Get("edited")["status"]["observedGeneration"] == 2; }, 30s));
}

TEST_F(CheckpointStoreControllerTest, RemovedAssociationIsDeleted) {
  ASSERT_TRUE(client_->Create(res::CheckpointStores(), kNs, Store(kNs, "pruned")).ok());
  ASSERT_TRUE(Eventually([] { return Ready("pruned"); }, 60s));
  Json s = Get("pruned");
  std::string fs_id = s["status"]["fileSystemId"];
  s["spec"]["dataRepository"]["associations"].erase(3);  // /results
  ASSERT_TRUE(client_->Update(res::CheckpointStores(), s).ok());
  EXPECT_TRUE(Eventually([&] { return Associations(fs_id).size() == 3; }, 30s)) << "the removed association is deleted";
  EXPECT_TRUE(Eventually([] { return Ready("pruned") && Get("pruned")["status"]["observedGeneration"] == 2; }, 30s));
  kube::ListOptions o;
  o.field_selector = "regarding.name=pruned,reason=CreatedDataRepositoryAssociation";
  Json events = *client_->List(res::Events(), kNs, o);
  ASSERT_FALSE(events["items"].empty());
  EXPECT_EQ(events["items"][0]["note"].get<std::string>().find('{'), std::string::npos)
      << "a sentence with the id and paths, not JSON: " << events["items"][0]["note"];
}

TEST_F(CheckpointStoreControllerTest, AdoptsAnExistingFileSystemById) {
  Json outside = Store(kNs, "outside");
  outside["metadata"]["uid"] = "not-a-store";
  Json req = controllers::CreateFileSystemRequest(outside);
  req["ClientRequestToken"] = "made-outside";
  req.erase("Tags");
  auto made = fsx_->CreateFileSystem(req);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  std::string fs_id = (*made)["FileSystemId"];
  size_t before = emulator_->FileSystemCount();
  Json adopt = Store(kNs, "adopted");
  adopt["spec"]["fileSystem"] = {{"id", fs_id}};
  adopt["spec"].erase("dataRepository");
  ASSERT_TRUE(client_->Create(res::CheckpointStores(), kNs, adopt).ok());
  ASSERT_TRUE(Eventually([] { return Ready("adopted"); }, 60s)) << Get("adopted")["status"].dump(2);
  EXPECT_EQ(Get("adopted")["status"]["fileSystemId"], fs_id);
  EXPECT_EQ(emulator_->FileSystemCount(), before) << "adopting creates nothing";
}

TEST_F(CheckpointStoreControllerTest, FsxRefusalBecomesAConditionAndEventWithoutAHotLoop) {
  Json missing = Store(kNs, "missing");
  missing["spec"]["fileSystem"] = {{"id", "fs-0000000000000dead"}};
  missing["spec"].erase("dataRepository");
  ASSERT_TRUE(client_->Create(res::CheckpointStores(), kNs, missing).ok());
  auto condition = [] {
    for (const auto& c : Get("missing").value("/status/conditions"_json_pointer, Json::array()))
      if (c["type"] == "FileSystemReady") return c;
    return Json::object();
  };
  ASSERT_TRUE(Eventually([&] { return condition().value("reason", "") == "FileSystemNotFound"; }, 30s));
  EXPECT_EQ(condition()["message"], "file system fs-0000000000000dead does not exist in FSx");
  EXPECT_EQ(Get("missing")["status"]["phase"], "Error");
  kube::ListOptions o;
  o.field_selector = "regarding.name=missing";
  auto events = client_->List(res::Events(), kNs, o);
  ASSERT_TRUE(events.ok());
  ASSERT_GE((*events)["items"].size(), 1u);
  EXPECT_EQ((*events)["items"][0]["reason"], "FileSystemNotFound");
  EXPECT_EQ((*events)["items"][0]["type"], "Warning");
  int before = emulator_->CallCounts()["DescribeFileSystems"];
  std::this_thread::sleep_for(3s);
  int during = emulator_->CallCounts()["DescribeFileSystems"] - before;
  EXPECT_LE(during, 8) << "a refused store is retried every refusal_retry (1 s here), not in a hot loop";
  Delete("missing");
  EXPECT_TRUE(Eventually([this] { return Gone("missing"); }, 30s));
}

TEST_F(CheckpointStoreControllerTest, AClaimNameTakenByAnotherClaimIsReportedAndLeftAlone) {
  Json foreign = {{"apiVersion", "v1"}, {"kind", "PersistentVolumeClaim"},
                  {"metadata", {{"name", "taken-ckpt"}, {"namespace", kNs}}},
                  {"spec", {{"accessModes", {"ReadWriteOnce"}}, {"storageClassName", "someone-elses"},
                            {"resources", {{"requests", {{"storage", "1Gi"}}}}}}}};
  ASSERT_TRUE(client_->Create(res::PersistentVolumeClaims(), kNs, foreign).ok());
  Json store = UnlinkedStore(kNs, "taken");
  ASSERT_TRUE(client_->Create(res::CheckpointStores(), kNs, store).ok());
  auto volume_condition = [] {
    for (const auto& c : Get("taken").value("/status/conditions"_json_pointer, Json::array()))
      if (c["type"] == "VolumeReady") return c;
    return Json::object();
  };
  ASSERT_TRUE(Eventually([&] { return volume_condition().value("reason", "") == "ClaimConflict"; }, 30s))
      << Get("taken").dump();
  EXPECT_NE(volume_condition().value("message", "").find("claim taken-ckpt already exists"), std::string::npos);
  EXPECT_EQ(Get("taken")["status"]["phase"], "Error");
  Json claim = *client_->Get(res::PersistentVolumeClaims(), kNs, "taken-ckpt");
  EXPECT_FALSE(claim["metadata"].contains("labels")) << "someone else's claim is never changed";
  EXPECT_EQ(claim["spec"]["storageClassName"], "someone-elses");
  Delete("taken");
  EXPECT_TRUE(Eventually([this] { return Gone("taken"); }, 30s));
}

TEST_F(CheckpointStoreControllerTest, RetainKeepsTheFileSystemAndItsAssociations) {
  ASSERT_TRUE(client_->Create(res::CheckpointStores(), kNs, Store(kNs, "policy-retain", "Retain")).ok());
  ASSERT_TRUE(Eventually([&] { return Ready("policy-retain"); }, 60s));
  std::string fs_id = Get("policy-retain")["status"]["fileSystemId"];
  Delete("policy-retain");
  ASSERT_TRUE(Eventually([&] { return Gone("policy-retain"); }, 60s));
  EXPECT_TRUE(fsx_->DescribeFileSystems({fs_id}).ok()) << "Retain leaves the file system alone";
  EXPECT_EQ(Associations(fs_id).size(), 4u);
  EXPECT_TRUE(Eventually([&] { return client_->Get(res::PersistentVolumes(), "", "ckpt-stores-policy-retain").status().IsNotFound(); }, 30s));
}

TEST_F(CheckpointStoreControllerTest, DeletingALinkedStoreExportsOnceThenDeletes) {
  ASSERT_TRUE(client_->Create(res::CheckpointStores(), kNs, Store(kNs, "policy-delete", "Delete")).ok());
  ASSERT_TRUE(Eventually([&] { return Ready("policy-delete"); }, 60s));
  std::string fs_id = Get("policy-delete")["status"]["fileSystemId"];
  Delete("policy-delete");
  Json filter = {{"Filters", {{{"Name", "file-system-id"}, {"Values", {fs_id}}}}}};
  int polls_while_exporting = 0, touched_while_exporting = 0;
  ASSERT_TRUE(Eventually([&] {  // until the export succeeded, the file system and its links stay
    auto tasks = fsx_->DescribeDataRepositoryTasks(filter);
    if (tasks.ok() && !tasks->empty() && tasks->front()["Lifecycle"] != "SUCCEEDED") {
      ++polls_while_exporting;
      auto fs = fsx_->DescribeFileSystems({fs_id});
      touched_while_exporting += !fs.ok() || (*fs)[0]["Lifecycle"] != "AVAILABLE" || Associations(fs_id).size() != 4;
    }
    return Gone("policy-delete");
  }, 60s)) << Get("policy-delete")["status"].dump(2);
  EXPECT_GT(polls_while_exporting, 0) << "the task ran for a while (1 s in the emulator)";
  EXPECT_EQ(touched_while_exporting, 0) << "nothing deleted before the export succeeded";
  EXPECT_TRUE(Eventually([&] { return fsx_->DescribeFileSystems({fs_id}).status().IsNotFound(); }, 30s));
  auto tasks = *fsx_->DescribeDataRepositoryTasks(filter);
  ASSERT_EQ(tasks.size(), 1u) << "one final export task";
  EXPECT_EQ(tasks[0]["Type"], "EXPORT_TO_REPOSITORY");
  EXPECT_EQ(tasks[0]["Lifecycle"], "SUCCEEDED");
  EXPECT_EQ(tasks[0]["Paths"], Json::array({"checkpoints", "logs", "results"})) << "the export-enabled paths";
}

TEST_F(CheckpointStoreControllerTest, FailedFinalExportStopsTheDeletion) {
  ASSERT_TRUE(client_->Create(res::CheckpointStores(), kNs, Store(kNs, "export-fails", "Delete")).ok());
  ASSERT_TRUE(Eventually([&] { return Ready("export-fails"); }, 60s));
  std::string fs_id = Get("export-fails")["status"]["fileSystemId"];
  emulator_->SetFaults({.fail_tasks = true});
  Delete("export-fails");
  auto ready = [](const Json& store) {
    for (const auto& c : store.value("/status/conditions"_json_pointer, Json::array()))
      if (c["type"] == "Ready") return c;
    return Json::object();
  };
  Json store;
  auto failed_attempt = [&](int attempt) {
    store = Get("export-fails");
    return ready(store).value("reason", "") == "FinalExportFailed" &&
           store.value("/status/finalExport/attempt"_json_pointer, 0) >= attempt;
  };
  bool reported = Eventually([&] { return failed_attempt(1); }, 30s);
  bool retried = Eventually([&] { return failed_attempt(2); }, 30s);  // a new task after the 1 s refusal retry
  auto fs = fsx_->DescribeFileSystems({fs_id});
  size_t associations = Associations(fs_id).size();
  emulator_->SetFaults({});
  ASSERT_TRUE(reported) << store["status"].dump(2);
  EXPECT_TRUE(retried) << store["status"].dump(2);
  std::string message = ready(store)["message"];
  EXPECT_NE(message.find("emulated fault"), std::string::npos) << "FSx's failure details: " << message;
  EXPECT_NE(message.find("report: s3://training-ckpt-123456789012/checkpoints/"), std::string::npos) << message;
  EXPECT_EQ(store["status"]["phase"], "Deleting");
  ASSERT_TRUE(fs.ok()) << "nothing deleted";
  EXPECT_EQ((*fs)[0]["Lifecycle"], "AVAILABLE");
  EXPECT_EQ(associations, 4u);
  kube::ListOptions o;
  o.field_selector = "regarding.name=export-fails,reason=FinalExportFailed";
  EXPECT_FALSE((*client_->List(res::Events(), kNs, o))["items"].empty());
  EXPECT_TRUE(Eventually([&] { return Gone("export-fails"); }, 60s))
      << "the next attempt succeeds once S3 is writable: " << Get("export-fails")["status"].dump(2);
  EXPECT_TRUE(Eventually([&] { return fsx_->DescribeFileSystems({fs_id}).status().IsNotFound(); }, 30s));
}

TEST_F(CheckpointStoreControllerTest, SnapshotOfAnUnlinkedStoreRestoresIntoAReadyStore) {
  ASSERT_TRUE(client_->Create(res::CheckpointStores(), kNs, UnlinkedStore(kNs, "policy-snapshot", "Snapshot")).ok());
  ASSERT_TRUE(Eventually([&] { return Ready("policy-snapshot"); }, 60s));
  std::string fs_id = Get("policy-snapshot")["status"]["fileSystemId"];
  Delete("policy-snapshot");
  ASSERT_TRUE(Eventually([&] { return Gone("policy-snapshot"); }, 60s));
  EXPECT_TRUE(Eventually([&] { return fsx_->DescribeFileSystems({fs_id}).status().IsNotFound(); }, 30s));
  std::string backup;
  ASSERT_TRUE(Eventually([&] {
    const std::vector<Json> backups = *fsx_->DescribeBackups(Json::object());
    for (const auto& b : backups)
      if (b["FileSystemId"] == fs_id && b["Lifecycle"] == "AVAILABLE") backup = b["BackupId"];
    return !backup.empty();
  }, 30s)) << "a final backup";
  Json restored = UnlinkedStore(kNs, "restored");
  restored["spec"]["fileSystem"]["fromBackup"] = backup;
  ASSERT_TRUE(client_->Create(res::CheckpointStores(), kNs, restored).ok());
  ASSERT_TRUE(Eventually([&] { return Ready("restored"); }, 60s)) << Get("restored")["status"].dump(2);
  std::string new_id = Get("restored")["status"]["fileSystemId"];
  EXPECT_NE(new_id, fs_id);
  EXPECT_EQ(emulator_->CallCounts()["CreateFileSystemFromBackup"], 1);
  EXPECT_EQ((*fsx_->DescribeFileSystems({new_id}))[0]["StorageCapacity"], 2400);
}

// A cluster policy (a ValidatingAdmissionPolicy, as Kyverno or Gatekeeper would) forbids the
// store's PersistentVolume: after a retry the store says so itself, with what it observed so far,
// and recovers once the policy is gone.
TEST_F(CheckpointStoreControllerTest, AForbiddenWriteBecomesAConditionAndEventThenRecovers) {
  const std::string policy = testing::Envtest().dir() + "/forbid-pv.yaml";
  std::ofstream(policy) << R"(apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: forbid-walled-pv}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules: [{apiGroups: [""], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [persistentvolumes]}]
  validations:
  - expression: "!has(object.metadata.labels) || !('trainops.io/checkpointstore' in object.metadata.labels) || object.metadata.labels['trainops.io/checkpointstore'] != 'walled'"
    message: "PersistentVolumes of store walled are not allowed in this cluster"
    reason: Forbidden
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: forbid-walled-pv}
spec: {policyName: forbid-walled-pv, validationActions: [Deny]}
)";
  ASSERT_TRUE(testing::Envtest().Kubectl("apply -f " + policy).ok());
  std::this_thread::sleep_for(2s);  // the API server loads the policy
  ASSERT_TRUE(client_->Create(res::CheckpointStores(), kNs, UnlinkedStore(kNs, "walled")).ok());
  auto ready = [] {
    for (const auto& c : Get("walled").value("/status/conditions"_json_pointer, Json::array()))
      if (c["type"] == "Ready") return c;
    return Json::object();
  };
  bool reported = Eventually([&] { return ready().value("reason", "") == "Forbidden"; }, 60s);
  Json status = Get("walled")["status"];
  (void)testing::Envtest().Kubectl("delete -f " + policy);
  ASSERT_TRUE(reported) << status.dump(2);
  EXPECT_NE(ready()["message"].get<std::string>().find("not allowed in this cluster"), std::string::npos) << ready();
  EXPECT_EQ(status["phase"], "Error");
  EXPECT_EQ(status["lifecycle"], "AVAILABLE") << "what was observed before the failing step is written";
  kube::ListOptions o;
  o.field_selector = "regarding.name=walled,reason=Forbidden";
  Json events = *client_->List(res::Events(), kNs, o);
  ASSERT_EQ(events["items"].size(), 1u) << "one Event, deduplicated across retries";
  EXPECT_EQ(events["items"][0]["type"], "Warning");
  EXPECT_TRUE(Eventually([] { return Ready("walled"); }, 90s)) << "recovers once the policy is gone";
}

TEST_F(CheckpointStoreControllerTest, ConvergesUnderThirtyPercentThrottling) {
  emulator_->SetFaults({.throttle_rate = 0.3});
  ASSERT_TRUE(client_->Create(res::CheckpointStores(), kNs, Store(kNs, "throttled")).ok());
  bool ready = Eventually([] { return Ready("throttled"); }, 120s);
  emulator_->SetFaults({});
  ASSERT_TRUE(ready) << Get("throttled")["status"].dump(2);
  std::cerr << "[throttling] FSx calls: " << Json(emulator_->CallCounts()).dump() << "\n";
}

// A KubeClient that fails every status write: the operator "crashes" right after FSx create.
class FailingStatusWrites : public kube::KubeClient {
 public:
  explicit FailingStatusWrites(kube::KubeClient& c) : c_(c) {}
  StatusOr<Json> Get(const kube::Resource& r, std::string_view ns, std::string_view n) override { return c_.Get(r, ns, n); }
  StatusOr<Json> List(const kube::Resource& r, std::string_view ns, const kube::ListOptions& o) override { return c_.List(r, ns, o); }
  StatusOr<Json> Create(const kube::Resource& r, std::string_view ns, const Json& o) override { return c_.Create(r, ns, o); }
  StatusOr<Json> Update(const kube::Resource& r, const Json& o, std::string_view sub) override { return c_.Update(r, o, sub); }
  StatusOr<Json> Patch(const kube::Resource& r, std::string_view ns, std::string_view n, const kube::PatchOptions& o,
                       std::string_view body) override {
    if (o.subresource == "status") return Unavailable("simulated crash before the status write");
    return c_.Patch(r, ns, n, o, body);
  }
  Status Delete(const kube::Resource& r, std::string_view ns, std::string_view n, const kube::DeleteOptions& o) override {
    return c_.Delete(r, ns, n, o);
  }
  Status Watch(const kube::Resource& r, std::string_view ns, const kube::WatchOptions& o, const kube::WatchCallback& cb) override {
    return c_.Watch(r, ns, o, cb);
  }
  StatusOr<Json> Discover(std::string_view gv) override { return c_.Discover(gv); }

 private:
  kube::KubeClient& c_;
};

// The caches and event recorder of an operator process watching namespace "crash".
struct CrashNamespaceCaches {
  explicit CrashNamespaceCaches(kube::KubeClient& client)
      : stores(client, {res::CheckpointStores(), "crash"}, SystemClock()),
        trainruns(client, {res::TrainRuns(), "crash"}, SystemClock()),
        claims(client, {res::PersistentVolumeClaims(), "crash", controllers::kStoreLabel}, SystemClock()),
        volumes(client, {res::PersistentVolumes(), "", controllers::kStoreLabel}, SystemClock()),
        events(client, SystemClock(), "ckpt-operator", "crash-test") {
    for (auto* i : {&stores, &trainruns, &claims, &volumes}) i->Start();
  }
  controllers::CheckpointStoreCaches caches() const {
    return {stores.store(), trainruns.store(), claims.store(), volumes.store()};
  }
  kube::Informer stores, trainruns, claims, volumes;
  runtime::KubeEventRecorder events;
};

// The first operator process: creates `name`'s file system, then dies before recording its id.
void CreateAndCrashBeforeTheStatusWrite(kube::KubeClient& client, aws::FsxClient& fsx, CrashNamespaceCaches& c,
                                        emulator::FsxEmulator& emulator, const std::string& name) {
  size_t before = emulator.FileSystemCount();
  FailingStatusWrites failing(client);
  controllers::FsxCache fsx_cache(fsx, SystemClock());
  controllers::CheckpointStoreReconciler first(failing, c.caches(), fsx, fsx_cache, c.events, SystemClock(),
                                               {200ms, 5s, 1s});
  ASSERT_TRUE(Eventually([&] {
    (void)first.Reconcile(std::string("crash/") + name);
    return emulator.FileSystemCount() == before + 1;
  }, 20s));
}

TEST_F(CheckpointStoreControllerTest, CrashBetweenCreateAndStatusWriteStillMakesOneFileSystem) {
  ASSERT_TRUE(client_->Create(res::CheckpointStores(), "crash", Store("crash", "survivor")).ok());
  size_t before = emulator_->FileSystemCount();
  CrashNamespaceCaches c(*operator_client_);
  ASSERT_TRUE(c.stores.store().WaitUntilReady(10s));
  CreateAndCrashBeforeTheStatusWrite(*operator_client_, *fsx_, c, *emulator_, "survivor");
  EXPECT_FALSE((*client_->Get(res::CheckpointStores(), "crash", "survivor")).contains("status"));
  // The restarted process: a new FSx view, no memory of the create.
  controllers::FsxCache fsx_cache(*fsx_, SystemClock());
  controllers::CheckpointStoreReconciler second(*operator_client_, c.caches(), *fsx_, fsx_cache, c.events,
                                                SystemClock(), {200ms, 5s, 1s});
  ASSERT_TRUE(Eventually([&] {
    (void)second.Reconcile("crash/survivor");
    auto s = client_->Get(res::CheckpointStores(), "crash", "survivor");
    return s.ok() && (*s).value("/status/fileSystemId"_json_pointer, std::string()) != "";
  }, 20s));
  EXPECT_EQ(emulator_->FileSystemCount(), before + 1) << "exactly one file system";
}

TEST_F(CheckpointStoreControllerTest, DeletedBeforeItsFileSystemWasRecordedStillDeletesIt) {
  ASSERT_TRUE(client_->Create(res::CheckpointStores(), "crash", Store("crash", "unrecorded", "Delete")).ok());
  size_t before = emulator_->FileSystemCount();
  CrashNamespaceCaches c(*operator_client_);
  ASSERT_TRUE(c.stores.store().WaitUntilReady(10s));
  CreateAndCrashBeforeTheStatusWrite(*operator_client_, *fsx_, c, *emulator_, "unrecorded");
  ASSERT_TRUE(client_->Delete(res::CheckpointStores(), "crash", "unrecorded").ok());
  // The restarted process finds a store being deleted with no file system id in its status.
  controllers::FsxCache fsx_cache(*fsx_, SystemClock());
  controllers::CheckpointStoreReconciler second(*operator_client_, c.caches(), *fsx_, fsx_cache, c.events,
                                                SystemClock(), {200ms, 5s, 1s});
  ASSERT_TRUE(Eventually([&] {
    (void)second.Reconcile("crash/unrecorded");
    return client_->Get(res::CheckpointStores(), "crash", "unrecorded").status().IsNotFound();
  }, 30s));
  EXPECT_EQ(emulator_->FileSystemCount(), before) << "found by its UID tag and deleted, not left behind unowned";
}

Json Condition(const Json& store, const std::string& type) {
  for (const auto& c : store.value("/status/conditions"_json_pointer, Json::array()))
    if (c["type"] == type) return c;
  return Json::object();
}

std::set<std::string> EventReasons(kube::KubeClient& client, const std::string& name) {
  kube::ListOptions o;
  o.field_selector = "regarding.name=" + name;
  std::set<std::string> reasons;
  const Json list = *client.List(res::Events(), kNs, o);
  for (const auto& e : list["items"]) reasons.insert(e["reason"]);
  return reasons;
}

// The seeds' deletion protection is an IAM deny on fsx:DeleteFileSystem. FSx deletes a Lustre
// file system's associations with it, so the operator asks for nothing but DeleteFileSystem: a
// refusal destroys nothing, automatic export paused for the final export is switched back on,
// and the condition says who refused and what to do; retries wait --fsx-refusal-retry (1 s here).
TEST_F(CheckpointStoreControllerTest, ARefusedDeleteFileSystemLeavesEveryAssociationAndBacksOff) {
  ASSERT_TRUE(client_->Create(res::CheckpointStores(), kNs, Store(kNs, "protected", "Delete")).ok());
  ASSERT_TRUE(Eventually([&] { return Ready("protected"); }, 60s));
  const std::string fs_id = Get("protected")["status"]["fileSystemId"];
  emulator_->SetFaults({.denied_operations = {"DeleteFileSystem"}});
  Delete("protected");
  ASSERT_TRUE(Eventually([&] { return Condition(Get("protected"), "Ready").value("reason", "") == "AccessDeniedException"; }, 60s))
      << Get("protected")["status"].dump(2);
  const Json status = Get("protected")["status"];
  const std::string message = Condition(Get("protected"), "Ready")["message"];
  EXPECT_NE(message.find("FSx refused DeleteFileSystem for " + fs_id), std::string::npos) << message;
  EXPECT_NE(message.find("explicit deny"), std::string::npos) << "FSx's own words: " << message;
  EXPECT_NE(message.find("set spec.deletionPolicy: Retain"), std::string::npos) << message;
  EXPECT_EQ(Condition(Get("protected"), "Stalled").value("status", ""), "True") << "kstatus: needs a human";
  EXPECT_EQ(status["phase"], "Deleting");
  // Each retry pauses automatic export again for a new final export, so the restore is seen
  // between retries (--fsx-refusal-retry is 1 s here), and no association is ever deleted.
  auto restored = [&] {
    std::vector<Json> links = Associations(fs_id);
    bool on = links.size() == 4;
    for (const auto& a : links) {
      EXPECT_NE(a["Lifecycle"], "DELETING") << "a refused delete deletes no association: " << a.dump();
      if (a["FileSystemPath"] != "/data")
        on = on && !a.value("/S3/AutoExportPolicy/Events"_json_pointer, Json::array()).empty();
    }
    return on;
  };
  EXPECT_TRUE(Eventually(restored, 10s, 20ms)) << "every S3 link is there with automatic export on again: "
                                               << ::testing::PrintToString(Associations(fs_id));
  const auto reasons = EventReasons(*client_, "protected");
  EXPECT_TRUE(reasons.count("PausedAutomaticExport") && reasons.count("RestoredAutomaticExport") &&
              reasons.count("AccessDeniedException")) << ::testing::PrintToString(reasons);
  const int before = emulator_->CallCounts()["DeleteFileSystem"];
  std::this_thread::sleep_for(4s);
  const int refused_again = emulator_->CallCounts()["DeleteFileSystem"] - before;
  std::cerr << "[refusal] DeleteFileSystem calls in 4 s while denied: " << refused_again << "\n";
  EXPECT_LE(refused_again, 3) << "once per refusal retry (a new final export first), not every poll";
  emulator_->SetFaults({});
  EXPECT_TRUE(Eventually([&] { return Gone("protected"); }, 60s)) << "the deny lifted: " << Get("protected")["status"].dump(2);
  EXPECT_TRUE(Eventually([&] { return fsx_->DescribeFileSystems({fs_id}).status().IsNotFound() && Associations(fs_id).empty(); }, 30s))
      << "the associations went with the file system";
}

// AWS: "Automatic export and export data repository tasks cannot run at the same time"; the
// emulator refuses an export task while any association exports automatically, so the final
// export must pause automatic export first, and its task covers the paths that exported.
TEST_F(CheckpointStoreControllerTest, TheFinalExportRunsOnlyOnceAutomaticExportIsPaused) {
  ASSERT_TRUE(client_->Create(res::CheckpointStores(), kNs, Store(kNs, "flushed", "Delete")).ok());
  ASSERT_TRUE(Eventually([&] { return Ready("flushed"); }, 60s));
  const std::string fs_id = Get("flushed")["status"]["fileSystemId"];
  auto refused = fsx_->CreateDataRepositoryTask({{"Type", "EXPORT_TO_REPOSITORY"}, {"FileSystemId", fs_id},
                                                 {"Report", {{"Enabled", false}}}});
  ASSERT_FALSE(refused.ok()) << "the emulator models AWS's rule";
  EXPECT_NE(refused.status().message().find("cannot run at the same time"), std::string::npos) << refused.status().ToString();
  Delete("flushed");
  ASSERT_TRUE(Eventually([&] { return Gone("flushed"); }, 60s)) << Get("flushed")["status"].dump(2);
  auto tasks = *fsx_->DescribeDataRepositoryTasks({{"Filters", {{{"Name", "file-system-id"}, {"Values", {fs_id}}}}}});
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0]["Lifecycle"], "SUCCEEDED");
  EXPECT_EQ(tasks[0]["Paths"], Json::array({"checkpoints", "logs", "results"}));
  EXPECT_TRUE(EventReasons(*client_, "flushed").count("PausedAutomaticExport"));
}

// An adopted file system may carry associations someone else made: they are never changed or
// deleted, and one at a path the spec wants is reported, not taken over.
TEST_F(CheckpointStoreControllerTest, AnAdoptedFileSystemKeepsTheAssociationsSomeoneElseMade) {
  Json outside = Store(kNs, "elsewhere");
  outside["metadata"]["uid"] = "not-a-store";
  Json req = controllers::CreateFileSystemRequest(outside);
  req["ClientRequestToken"] = "made-for-foreign-links";
  req.erase("Tags");
  auto made = fsx_->CreateFileSystem(req);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  const std::string fs_id = (*made)["FileSystemId"];
  ASSERT_TRUE(Eventually([&] { return (*fsx_->DescribeFileSystems({fs_id}))[0]["Lifecycle"] == "AVAILABLE"; }, 30s));
  auto link = [&](const std::string& path, const std::string& prefix) {
    auto a = fsx_->CreateDataRepositoryAssociation({{"FileSystemId", fs_id}, {"FileSystemPath", path},
                                                    {"DataRepositoryPath", "s3://someone-elses-bucket/" + prefix}});
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? a->value("AssociationId", "") : "";
  };
  const std::string at_wanted = link("/data", "data/"), elsewhere = link("/scratch", "scratch/");
  ASSERT_TRUE(Eventually([&] {
    for (const auto& a : Associations(fs_id))
      if (a["Lifecycle"] != "AVAILABLE") return false;
    return true;
  }, 30s)) << "someone else's links are in place before the store adopts";
  Json adopt = Store(kNs, "adopter", "Retain");
  adopt["spec"]["fileSystem"] = {{"id", fs_id}};
  adopt["spec"]["dataRepository"]["associations"].erase(3);  // keep /data and /checkpoints
  adopt["spec"]["dataRepository"]["associations"].erase(2);
  ASSERT_TRUE(client_->Create(res::CheckpointStores(), kNs, adopt).ok());
  ASSERT_TRUE(Eventually([&] { return Condition(Get("adopter"), "DataRepositoryReady").value("reason", "") == "AssociationConflict"; }, 60s))
      << Get("adopter")["status"].dump(2);
  const std::string message = Condition(Get("adopter"), "DataRepositoryReady")["message"];
  EXPECT_NE(message.find(at_wanted + " at /data (s3://someone-elses-bucket/data/) was not created by this store"), std::string::npos)
      << message;
  EXPECT_EQ(Get("adopter")["status"]["phase"], "Error");
  ASSERT_TRUE(Eventually([&] { return Associations(fs_id).size() == 3; }, 30s)) << "/checkpoints is created";
  for (const auto& a : Associations(fs_id)) {
    if (a["AssociationId"] == at_wanted || a["AssociationId"] == elsewhere) {
      EXPECT_EQ(a["Lifecycle"], "AVAILABLE") << "left alone: " << a.dump();
      EXPECT_TRUE(a.value("S3", Json::object()).empty()) << "never updated: " << a.dump();
    } else {
      EXPECT_EQ(a["FileSystemPath"], "/checkpoints");
      EXPECT_NE(a.dump().find(controllers::kOwnerTag), std::string::npos) << "ours carries the owner tag: " << a.dump();
    }
  }
  Json s = Get("adopter");
  s["spec"]["dataRepository"]["associations"].erase(0);  // drop /data from the spec
  ASSERT_TRUE(client_->Update(res::CheckpointStores(), s).ok());
  ASSERT_TRUE(Eventually([&] { return Ready("adopter"); }, 30s)) << Get("adopter")["status"].dump(2);
  EXPECT_EQ(Associations(fs_id).size(), 3u) << "someone else's /data is not deleted when it leaves the spec";
  Delete("adopter");
  ASSERT_TRUE(Eventually([&] { return Gone("adopter"); }, 30s));
  EXPECT_EQ(Associations(fs_id).size(), 3u) << "Retain: nothing deleted";
}

Json ExportEvents(const Json& association) {
  return association.value("/S3/AutoExportPolicy/Events"_json_pointer, Json::array());
}

// Someone adds an association of their own to a file system the store created: it is listed as
// not owned, never changed or deleted when the spec changes, paused for the final export like
// every exporting link (FSx runs no export task otherwise), given back exactly its own events
// when FSx refuses the delete, and left exporting when the policy becomes Retain mid-deletion.
TEST_F(CheckpointStoreControllerTest, AnAssociationSomeoneAddsIsNeverTakenOverAndGetsItsOwnExportBack) {
  ASSERT_TRUE(client_->Create(res::CheckpointStores(), kNs, Store(kNs, "shared-fs")).ok());
  ASSERT_TRUE(Eventually([&] { return Ready("shared-fs"); }, 60s));
  const std::string fs_id = Get("shared-fs")["status"]["fileSystemId"];
  auto made = fsx_->CreateDataRepositoryAssociation(
      {{"FileSystemId", fs_id}, {"FileSystemPath", "/scratch"}, {"DataRepositoryPath", "s3://someone-elses-bucket/scratch/"},
       {"S3", {{"AutoExportPolicy", {{"Events", {"NEW"}}}}}}});
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  const std::string theirs = (*made)["AssociationId"];
  auto listed_as_theirs = [&] {
    for (const auto& a : Get("shared-fs").value("/status/associations"_json_pointer, Json::array()))
      if (a.value("id", "") == theirs) return a.value("owned", true) == false && a.value("lifecycle", "") == "AVAILABLE";
    return false;
  };
  ASSERT_TRUE(Eventually(listed_as_theirs, 30s)) << Get("shared-fs")["status"].dump(2);
  Json s = Get("shared-fs");
  s["spec"]["dataRepository"]["associations"].erase(3);  // /results leaves the spec
  ASSERT_TRUE(client_->Update(res::CheckpointStores(), s).ok());
  auto at = [&](const std::string& path) -> std::optional<Json> {
    for (const auto& a : Associations(fs_id))
      if (a["FileSystemPath"] == path) return a;
    return std::nullopt;
  };
  ASSERT_TRUE(Eventually([&] { return !at("/results") && Ready("shared-fs"); }, 30s)) << Get("shared-fs")["status"].dump(2);
  ASSERT_TRUE(at("/scratch"));
  EXPECT_EQ(ExportEvents(*at("/scratch")), Json::array({"NEW"})) << "never updated";
  EXPECT_TRUE(listed_as_theirs()) << "a recorded id does not make it ours";

  s = Get("shared-fs");
  s["spec"]["deletionPolicy"] = "Delete";
  ASSERT_TRUE(client_->Update(res::CheckpointStores(), s).ok());
  emulator_->SetFaults({.denied_operations = {"DeleteFileSystem"}});
  Delete("shared-fs");
  ASSERT_TRUE(Eventually([&] { return Condition(Get("shared-fs"), "Ready").value("reason", "") == "AccessDeniedException"; }, 60s))
      << Get("shared-fs")["status"].dump(2);
  const Json status = Get("shared-fs")["status"];
  EXPECT_TRUE(status.contains("retryAfter")) << "the back-off is kept in status: " << status.dump(2);
  auto exporting_as_before = [&] {
    auto scratch = at("/scratch"), checkpoints = at("/checkpoints"), logs = at("/logs");
    return scratch && checkpoints && logs && ExportEvents(*scratch) == Json::array({"NEW"}) &&
           ExportEvents(*checkpoints) == Json::array({"NEW", "CHANGED", "DELETED"}) &&
           ExportEvents(*logs) == Json::array({"NEW", "CHANGED", "DELETED"}) && scratch->value("Lifecycle", "") == "AVAILABLE";
  };
  EXPECT_TRUE(Eventually(exporting_as_before, 10s, 20ms)) << "each link gets back its own events: "
                                                          << ::testing::PrintToString(Associations(fs_id));
  const auto reasons = EventReasons(*client_, "shared-fs");
  EXPECT_TRUE(reasons.count("PausedAutomaticExport") && reasons.count("RestoredAutomaticExport")) << ::testing::PrintToString(reasons);

  s = Get("shared-fs");
  s["spec"]["deletionPolicy"] = "Retain";  // the team keeps the file system after all
  ASSERT_TRUE(client_->Update(res::CheckpointStores(), s).ok());
  ASSERT_TRUE(Eventually([&] { return Gone("shared-fs"); }, 30s)) << Get("shared-fs")["status"].dump(2);
  emulator_->SetFaults({});
  EXPECT_TRUE(Eventually(exporting_as_before, 10s)) << "released exporting, whatever step the deletion was at: "
                                                    << ::testing::PrintToString(Associations(fs_id));
  EXPECT_EQ((*fsx_->DescribeFileSystems({fs_id}))[0]["Lifecycle"], "AVAILABLE");
}

// FSx refuses the pause (here an IAM deny on UpdateDataRepositoryAssociation): the deletion
// stops there, Stalled, with nothing switched off and so nothing recorded as paused, and a
// back-off in status; it goes on once the deny is lifted.
TEST_F(CheckpointStoreControllerTest, ARefusedPauseSwitchesNothingOffAndDeletesNothing) {
  ASSERT_TRUE(client_->Create(res::CheckpointStores(), kNs, Store(kNs, "pause-denied", "Delete")).ok());
  ASSERT_TRUE(Eventually([&] { return Ready("pause-denied"); }, 60s));
  const std::string fs_id = Get("pause-denied")["status"]["fileSystemId"];
  emulator_->SetFaults({.denied_operations = {"UpdateDataRepositoryAssociation"}});
  Delete("pause-denied");
  ASSERT_TRUE(Eventually([&] { return Condition(Get("pause-denied"), "Ready").value("reason", "") == "AccessDeniedException"; }, 60s))
      << Get("pause-denied")["status"].dump(2);
  EXPECT_TRUE(Eventually([&] { return Condition(Get("pause-denied"), "Stalled").value("status", "") == "True"; }, 10s));
  const Json status = Get("pause-denied")["status"];
  EXPECT_FALSE(status.contains("/finalExport/autoExportPaused"_json_pointer)) << "nothing left to switch back on: "
                                                                            << status.dump(2);
  EXPECT_TRUE(status.contains("retryAfter")) << status.dump(2);
  for (const auto& a : Associations(fs_id))
    if (a["FileSystemPath"] != "/data") {
      EXPECT_FALSE(ExportEvents(a).empty()) << "nothing switched off: " << a.dump();
    }
  emulator_->SetFaults({});
  EXPECT_TRUE(Eventually([&] { return Gone("pause-denied"); }, 60s)) << Get("pause-denied")["status"].dump(2);
  EXPECT_TRUE(fsx_->DescribeFileSystems({fs_id}).status().IsNotFound());
}

// Two stores never own one file system: the second adopter is refused and names the holder, and
// its deletion (policy Delete) leaves the holder's file system alone.
TEST_F(CheckpointStoreControllerTest, ASecondStoreAdoptingAHeldFileSystemIsRefused) {
  ASSERT_TRUE(client_->Create(res::CheckpointStores(), kNs, UnlinkedStore(kNs, "holder")).ok());
  ASSERT_TRUE(Eventually([&] { return Ready("holder"); }, 60s));
  const std::string fs_id = Get("holder")["status"]["fileSystemId"];
  Json second = UnlinkedStore(kNs, "second-adopter", "Delete");
  second["spec"]["fileSystem"] = {{"id", fs_id}};
  ASSERT_TRUE(client_->Create(res::CheckpointStores(), kNs, second).ok());
  ASSERT_TRUE(Eventually([&] { return Condition(Get("second-adopter"), "FileSystemReady").value("reason", "") == "FileSystemHeld"; }, 30s))
      << Get("second-adopter")["status"].dump(2);
  EXPECT_NE(Condition(Get("second-adopter"), "FileSystemReady")["message"].get<std::string>().find(
                "was created by CheckpointStore " + std::string(kNs) + "/holder"),
            std::string::npos) << Condition(Get("second-adopter"), "FileSystemReady").dump();
  EXPECT_FALSE(Get("second-adopter")["status"].contains("fileSystemId")) << "never recorded as its own";
  EXPECT_EQ(Condition(Get("second-adopter"), "Stalled").value("status", ""), "True");
  Delete("second-adopter");
  ASSERT_TRUE(Eventually([&] { return Gone("second-adopter"); }, 30s));
  auto fs = fsx_->DescribeFileSystems({fs_id});
  ASSERT_TRUE(fs.ok());
  EXPECT_EQ((*fs)[0]["Lifecycle"], "AVAILABLE") << "the holder's file system is untouched";
  EXPECT_TRUE(Ready("holder"));
  Delete("holder");  // Retain: the file system stays, still carrying the holder's owner tag
  ASSERT_TRUE(Eventually([&] { return Gone("holder"); }, 30s));
  Json successor = UnlinkedStore(kNs, "successor");
  successor["spec"]["fileSystem"] = {{"id", fs_id}};
  ASSERT_TRUE(client_->Create(res::CheckpointStores(), kNs, successor).ok());
  EXPECT_TRUE(Eventually([&] { return Ready("successor"); }, 30s)) << "a released file system can be adopted: "
                                                                   << Get("successor")["status"].dump(2);
  Delete("successor");
  EXPECT_TRUE(Eventually([&] { return Gone("successor"); }, 30s));

  // One made by a store this operator cannot see (another namespace, cluster or install) is held.
  Json unseen = UnlinkedStore(kNs, "unseen");
  unseen["metadata"]["uid"] = "uid-of-a-store-out-of-sight";
  Json req = controllers::CreateFileSystemRequest(unseen);
  req["ClientRequestToken"] = "made-out-of-sight";
  auto made = fsx_->CreateFileSystem(req);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  Json adopter = UnlinkedStore(kNs, "out-of-sight-adopter");
  adopter["spec"]["fileSystem"] = {{"id", (*made)["FileSystemId"]}};
  ASSERT_TRUE(client_->Create(res::CheckpointStores(), kNs, adopter).ok());
  EXPECT_TRUE(Eventually([&] {
    const Json c = Condition(Get("out-of-sight-adopter"), "FileSystemReady");
    return c.value("reason", "") == "FileSystemHeld" &&
           c.value("message", "").find("created by another CheckpointStore (uid uid-of-a-store-out-of-sight)") != std::string::npos;
  }, 30s)) << Get("out-of-sight-adopter")["status"].dump(2);
  Delete("out-of-sight-adopter");
  EXPECT_TRUE(Eventually([&] { return Gone("out-of-sight-adopter"); }, 30s));
}

// Keeping a file system the documented way: delete the store with Retain, apply it again with
// fileSystem.id. The associations still carry the gone store's UID: the new store takes over
// those it wants as they are (re-tagged, Event AdoptedDataRepositoryAssociation) instead of
// calling them someone else's, and creates none twice.
TEST_F(CheckpointStoreControllerTest, AFileSystemReleasedWithRetainIsTakenBackWithItsAssociations) {
  ASSERT_TRUE(client_->Create(res::CheckpointStores(), kNs, Store(kNs, "kept")).ok());
  ASSERT_TRUE(Eventually([&] { return Ready("kept"); }, 60s));
  const std::string fs_id = Get("kept")["status"]["fileSystemId"];
  Delete("kept");
  ASSERT_TRUE(Eventually([&] { return Gone("kept"); }, 30s));
  ASSERT_EQ(Associations(fs_id).size(), 4u);
  Json again = Store(kNs, "kept");
  again["spec"]["fileSystem"] = {{"id", fs_id}};
  ASSERT_TRUE(client_->Create(res::CheckpointStores(), kNs, again).ok());
  ASSERT_TRUE(Eventually([&] { return Ready("kept"); }, 30s)) << Get("kept")["status"].dump(2);
  const std::string uid = Get("kept")["metadata"]["uid"];
  const std::vector<Json> links = Associations(fs_id);
  EXPECT_EQ(links.size(), 4u) << "none created twice";
  for (const auto& a : links) EXPECT_NE(a.dump().find(uid), std::string::npos) << "re-tagged for the new store: " << a.dump();
  for (const auto& a : Get("kept")["status"]["associations"]) EXPECT_TRUE(a.value("owned", false)) << a.dump();
  EXPECT_TRUE(EventReasons(*client_, "kept").count("AdoptedDataRepositoryAssociation"));
  Delete("kept");
  EXPECT_TRUE(Eventually([&] { return Gone("kept"); }, 30s));
}

}  // namespace
}  // namespace ckpt

CKPT_ENVTEST_MAIN();
