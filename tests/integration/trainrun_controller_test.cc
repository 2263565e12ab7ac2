// TrainRun on the real training stack (run once with Trainer v2.1.0 + JobSet v0.10.1 and once with
// v2.3.0 + v0.12.0): the real Kubeflow Trainer and JobSet controllers with their webhooks,
// kube-scheduler, kube-controller-manager's job controller, and kwok's simulated GPU nodes. The
// operator is the daemon's own wiring (controller/operator.h) with both controllers, as its
// ServiceAccount, against the FSx emulator, so the store's claim the pods mount is real too. The
// test never writes upstream status: it only ends pods the way a kubelet would report it (the
// kwok stages in tests/envtest/kwok-stages.yaml), and watches what the upstream controllers do.
// The checkpoint layout is checked on real pods: the file system at /fsx, CHECKPOINT_DIR under the
// exporting association with its S3 URI in status, and CheckpointsExported=False when nothing exports.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <set>
#include <thread>

#include "ckpt/common/subprocess.h"
#include "ckpt/emulator/fsx_emulator.h"
#include "controllers/trainrun_plan.h"
#include "fakes/static_credentials.h"
#include "integration/envtest.h"
#include "integration/test_objects.h"
#include "operator.h"

namespace ckpt {
namespace {

using kube::Json;
using testing::Eventually;
namespace res = kube::resources;
using namespace std::chrono_literals;

constexpr char kNs[] = "default";

// The sample TrainRun's shape: 2 nodes of 8 GPUs and 32 EFA devices, tolerating the GPU taint.
Json TrainRun(const std::string& name, const std::string& store, int max_restarts = 10) {
  return Json::parse(R"({"apiVersion": "trainops.io/v1alpha1", "kind": "TrainRun",
    "metadata": {"name": ")" + name + R"(", "namespace": "default"},
    "spec": {"checkpointStore": ")" + store + R"(", "runtimeRef": {"name": "torch-distributed"},
             "resilience": {"maxRestarts": )" + std::to_string(max_restarts) + R"(}, "sharedMemory": "64Gi",
             "placement": {"nodeSelector": {"node.kubernetes.io/instance-type": "p5.48xlarge"}, "zone": "us-east-1a",
                           "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]},
             "trainer": {"image": "my/train:1", "command": ["torchrun", "train.py"], "numNodes": 2,
                         "numProcPerNode": "auto", "podLabels": {"kueue.x-k8s.io/queue-name": "gpu"},
                         "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                         "resourcesPerNode": {"limits": {"nvidia.com/gpu": 8, "vpc.amazonaws.com/efa": 32}}}}})");
}

// The workshop's store: data imported, checkpoints both ways, logs exported.
Json Store(const std::string& name, bool export_checkpoints = true) {
  Json s = testing::CheckpointStoreObject(kNs, name);
  s["spec"]["volume"]["claimName"] = name + "-claim";
  Json checkpoints = {{"path", "/checkpoints"}, {"prefix", "checkpoints/"}, {"import", {"NEW", "CHANGED", "DELETED"}}};
  if (export_checkpoints) checkpoints["export"] = {"NEW", "CHANGED", "DELETED"};
  s["spec"]["dataRepository"] = {{"bucket", "s3://training-ckpt-123456789012"},
                                 {"associations", {{{"path", "/data"}, {"prefix", "data/"}, {"import", {"NEW"}}},
                                                   checkpoints}}};
  return s;
}

// The daemon's wiring, running in this process as the operator's ServiceAccount.
struct RunningOperator {
  RunningOperator(kube::KubeClient& client, aws::FsxClient& fsx)
      : op(Options(), client, fsx, metrics, SystemClock()),
        manager({.probe_address = "0"}, client, SystemClock(), metrics) {
    op.Register(manager);
    thread = std::jthread([this](std::stop_token stop) { manager.Run(stop); });
  }
  static operator_main::OperatorOptions Options() {
    operator_main::OperatorOptions o;
    o.namespaces = {kNs};
    o.fsx_poll = 200ms;
    o.fsx_refusal_retry = 1s;  // a refusal lifted is seen within a second
    o.trainrun_poll = 10min;  // nothing below may depend on polling: all by watch
    o.identity = "test";
    return o;
  }
  runtime::Metrics metrics;
  operator_main::Operator op;
  runtime::Manager manager;
  std::jthread thread;  // last member: stops (request_stop + join) before the rest is destroyed
};

class TrainRunControllerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    emulator::FsxEmulatorOptions e;
    e.create_time = e.update_time = e.delete_time = e.association_time = 300ms;
    emulator_ = std::move(emulator::StartFsxEmulator(e)).value().release();
    fsx_ = aws::NewFsxClient({.endpoint = emulator_->url(), .region = "us-east-1", .credentials = &creds_}).release();
    client_ = testing::Envtest().NewClient().release();
    auto as_operator = testing::Envtest().NewOperatorClient();  // the ServiceAccount deploy/rbac grants
    ASSERT_TRUE(as_operator.ok()) << as_operator.status().ToString();
    operator_client_ = std::move(as_operator).value().release();
    operator_ = new RunningOperator(*operator_client_, *fsx_);
  }
  static void TearDownTestSuite() { delete operator_; }

  static Json Run(const std::string& n) { return *client_->Get(res::TrainRuns(), kNs, n); }
  static std::string Phase(const std::string& n) {
    auto r = client_->Get(res::TrainRuns(), kNs, n);
    return r.ok() ? r->value("/status/phase"_json_pointer, std::string()) : "";
  }
  static Json Condition(const std::string& run, const std::string& type) {
    for (const auto& c : Run(run).value("/status/conditions"_json_pointer, Json::array()))
      if (c["type"] == type) return c;
    return Json::object();
  }
  // The run's trainer pods that are not being deleted ("" = every run's).
  static std::vector<Json> Pods(const std::string& run) {
    kube::ListOptions o;
    o.label_selector = std::string(controllers::kTrainRunLabel) + (run.empty() ? "" : "=" + run);
    std::vector<Json> pods;
    const Json list = *client_->List(res::Pods(), kNs, o);  // a range-for over ->at() of a temporary dangles
    for (const auto& p : list["items"])
      if (!p["metadata"].contains("deletionTimestamp")) pods.push_back(p);
    return pods;
  }
  static std::set<std::string> EventReasons(const std::string& run) {
    kube::ListOptions o;
    o.field_selector = "regarding.name=" + run;
    std::set<std::string> reasons;
    const Json list = *client_->List(res::Events(), kNs, o);
    for (const auto& e : list["items"]) reasons.insert(e["reason"]);
    return reasons;
  }
  // Ends a running pod as its kubelet would report it (see tests/envtest/kwok-stages.yaml).
  static void EndPod(const Json& pod, int exit_code, const std::string& reason = "Error") {
    Json patch = {{"metadata", {{"annotations", {{"trainops.io/simulate-exit-code", std::to_string(exit_code)},
                                                 {"trainops.io/simulate-reason", reason}}}}}};
    ASSERT_TRUE(client_->Patch(res::Pods(), kNs, pod["metadata"]["name"].get<std::string>(), {kube::PatchType::kMerge}, patch.dump()).ok());
  }
  // Creates a store and a run on it and waits until every trainer pod runs.
  static void StartRun(const std::string& run, int max_restarts = 10) {
    ASSERT_TRUE(client_->Create(res::CheckpointStores(), kNs, Store(run + "-store")).ok());
    ASSERT_TRUE(client_->Create(res::TrainRuns(), kNs, TrainRun(run, run + "-store", max_restarts)).ok());
    ASSERT_TRUE(Eventually([&] { return Phase(run) == "Running"; }, 60s)) << Run(run)["status"].dump(2);
  }
  // Phases seen while `until` is false, sampled every 20 ms (Restarting lasts at least kwok's
  // 1.5 s pod start-up).
  template <typename Fn>
  static std::vector<std::string> PhasesUntil(const std::string& run, Fn until) {
    std::vector<std::string> seen;
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (!until() && std::chrono::steady_clock::now() < deadline) {
      std::string p = Phase(run);
      if (seen.empty() || seen.back() != p) seen.push_back(p);
      std::this_thread::sleep_for(20ms);
    }
    seen.push_back(Phase(run));
    return seen;
  }
  // The real kstatus library's verdict on each object (tests/kstatus's kstatus-judge).
  static Json JudgeKstatus(const Json& objects) {
    const std::string input = testing::Envtest().dir() + "/kstatus-input.json";
    std::ofstream(input) << objects.dump();
    auto judged = RunCommand({CKPT_KSTATUS_JUDGE, input}, {});
    EXPECT_TRUE(judged.ok()) << judged.status().ToString() << " (hack/build-tools.sh builds " CKPT_KSTATUS_JUDGE ")";
    return judged.ok() ? Json::parse(*judged) : Json::array();
  }
  static std::string Kstatus(const std::string& run) {
    Json v = JudgeKstatus(Json::array({Run(run)}));
    return v.empty() ? "" : v[0].value("status", "");
  }
  static void ExpectMirroredWhileTheStoreIs(const std::string& run, const std::string& store_phase,
                                            const std::function<void(const std::string&)>& disturb, bool succeed);
  static void ExpectNotReplacedAfterDeletingItsTrainJob(const std::string& run, const std::string& phase_then,
                                                        const std::string& phase_after);
  void TearDown() override {  // free the simulated GPUs for the next case
    const Json runs = *client_->List(res::TrainRuns(), kNs, {});
    for (const auto& tr : runs["items"])
      (void)client_->Delete(res::TrainRuns(), kNs, tr["metadata"]["name"].get<std::string>());
    EXPECT_TRUE(Eventually([] { return Pods("").empty(); }, 60s));
  }

  static inline testing::StaticCredentials creds_;
  static inline emulator::FsxEmulator* emulator_ = nullptr;
  static inline aws::FsxClient* fsx_ = nullptr;
  static inline kube::KubeClient* client_ = nullptr;           // admin: the test's own actions
  static inline kube::KubeClient* operator_client_ = nullptr;  // the operator's ServiceAccount
  static inline RunningOperator* operator_ = nullptr;
};

TEST_F(TrainRunControllerTest, RunsOnlyOnceItsPodsRunWithTheMountShmEnvAndPlacement) {
  ASSERT_TRUE(client_->Create(res::TrainRuns(), kNs, TrainRun("llama", "late-store")).ok());
  ASSERT_TRUE(Eventually([] { return Phase("llama") == "WaitingForStore"; }));
  EXPECT_TRUE(client_->Get(res::TrainJobs(), kNs, "llama").status().IsNotFound());
  ASSERT_TRUE(client_->Create(res::CheckpointStores(), kNs, Store("late-store")).ok());
  auto phases = PhasesUntil("llama", [] { return Phase("llama") == "Running"; });
  ASSERT_EQ(phases.back(), "Running") << Run("llama")["status"].dump(2);
  EXPECT_NE(std::find(phases.begin(), phases.end(), "Pending"), phases.end()) << "Pending until the pods run";

  Json status = Run("llama")["status"];
  EXPECT_EQ(status["runningPods"], 2);
  EXPECT_EQ(status["checkpointDir"], "/fsx/checkpoints/runs/llama");
  EXPECT_EQ(status["checkpointURI"], "s3://training-ckpt-123456789012/checkpoints/runs/llama/");
  EXPECT_EQ(Condition("llama", "CheckpointsExported")["status"], "True");
  EXPECT_EQ(status["effectiveMaxRestarts"], 10);
  auto pods = Pods("llama");
  ASSERT_EQ(pods.size(), 2u);
  std::set<std::string> nodes;
  for (const auto& pod : pods) {
    const Json& spec = pod["spec"];
    nodes.insert(spec.value("nodeName", ""));
    EXPECT_EQ(spec["nodeSelector"]["node.kubernetes.io/instance-type"], "p5.48xlarge");
    EXPECT_EQ(spec["nodeSelector"]["topology.kubernetes.io/zone"], "us-east-1a");
    Json volumes = Json::object();
    for (const auto& v : spec["volumes"]) volumes[v["name"].get<std::string>()] = v;
    EXPECT_EQ(volumes["fsx"]["persistentVolumeClaim"]["claimName"], "late-store-claim");
    EXPECT_EQ(volumes["dshm"]["emptyDir"]["medium"], "Memory");
    const Json& c = spec["containers"][0];
    Json mounts = Json::object(), env = Json::object();
    for (const auto& m : c["volumeMounts"]) mounts[m["name"].get<std::string>()] = m["mountPath"];
    for (const auto& e : c["env"]) env[e["name"].get<std::string>()] = e;
    EXPECT_EQ(mounts["fsx"], "/fsx") << "the whole file system, associations at their own paths";
    EXPECT_EQ(mounts["dshm"], "/dev/shm");
    EXPECT_EQ(env["CHECKPOINT_DIR"]["value"], "/fsx/checkpoints/runs/llama") << "under the exporting association";
    EXPECT_EQ(env["DATA_DIR"]["value"], "/fsx/data");
    EXPECT_EQ(env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"], "metadata.name");
    EXPECT_EQ(c["resources"]["limits"]["nvidia.com/gpu"], "8");
    EXPECT_EQ(pod["metadata"]["labels"]["kueue.x-k8s.io/queue-name"], "gpu");
  }
  EXPECT_EQ(nodes.size(), 2u) << "one 8-GPU pod per simulated node";
  auto pvc = client_->Get(res::PersistentVolumeClaims(), kNs, "late-store-claim");
  EXPECT_EQ((*pvc)["status"]["phase"], "Bound");
  EXPECT_TRUE(EventReasons("llama").count("Running"));
}

TEST_F(TrainRunControllerTest, AStoreThatExportsNothingSaysCheckpointsStayOnTheFileSystem) {
  ASSERT_TRUE(client_->Create(res::CheckpointStores(), kNs, Store("import-only", false)).ok());
  ASSERT_TRUE(client_->Create(res::TrainRuns(), kNs, TrainRun("unsaved", "import-only")).ok());
  ASSERT_TRUE(Eventually([] { return Condition("unsaved", "CheckpointsExported").value("reason", "") == "ExportDisabled"; }, 60s))
      << Run("unsaved")["status"].dump(2);
  Json c = Condition("unsaved", "CheckpointsExported");
  EXPECT_EQ(c["status"], "False");
  EXPECT_NE(c["message"].get<std::string>().find("do not reach S3"), std::string::npos) << c["message"];
  EXPECT_FALSE(Run("unsaved")["status"].contains("checkpointURI"));
  EXPECT_TRUE(EventReasons("unsaved").count("CheckpointsNotExported"));
  EXPECT_TRUE(Eventually([] { return Phase("unsaved") == "Running"; }, 60s)) << "a warning, not a refusal: the run starts";
}

TEST_F(TrainRunControllerTest, APodFailureRestartsTheGangAndIsReportedWithItsCause) {
  StartRun("oom");
  auto pods = Pods("oom");
  ASSERT_FALSE(pods.empty());
  const std::string victim = pods[0]["metadata"]["name"], node = pods[0]["spec"]["nodeName"];
  EndPod(pods[0], 137, "OOMKilled");
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(Eventually([] { return Run("oom").value("/status/restarts"_json_pointer, 0) == 1; }, 10s))
      << Run("oom")["status"].dump(2);
  auto counted_after = std::chrono::steady_clock::now() - t0;
  auto phases = PhasesUntil("oom", [] { return Phase("oom") == "Running"; });
  EXPECT_EQ(phases.front(), "Restarting") << "then " << phases.back();
  EXPECT_EQ(phases.back(), "Running");
  Json status = Run("oom")["status"];
  EXPECT_EQ(status["lastFailure"]["pod"], victim);
  EXPECT_EQ(status["lastFailure"]["node"], node);
  EXPECT_EQ(status["lastFailure"]["exitCode"], 137);
  EXPECT_EQ(status["lastFailure"]["reason"], "OOMKilled");
  EXPECT_EQ(status["podFailures"], 1);
  auto reasons = EventReasons("oom");
  EXPECT_TRUE(reasons.count("PodFailed") && reasons.count("Restarted"));
  std::cerr << "[trainrun] pod failure counted as a gang restart after "
            << std::chrono::duration<double>(counted_after).count() << " s\n";
}

TEST_F(TrainRunControllerTest, ExhaustingMaxRestartsEndsFailedNamingThePodAndExitCode) {
  StartRun("doomed", /*max_restarts=*/1);
  EndPod(Pods("doomed")[0], 1);
  ASSERT_TRUE(Eventually([] { return Run("doomed").value("/status/restarts"_json_pointer, 0) == 1 && Phase("doomed") == "Running"; }, 30s));
  const Json last = Pods("doomed")[1];
  EndPod(last, 3, "Error");
  ASSERT_TRUE(Eventually([] { return Phase("doomed") == "Failed"; }, 30s)) << Run("doomed")["status"].dump(2);
  Json status = Run("doomed")["status"];
  EXPECT_EQ(status["lastFailure"]["pod"], last["metadata"]["name"]);
  EXPECT_EQ(status["lastFailure"]["exitCode"], 3);
  kube::ListOptions o;
  o.field_selector = "regarding.name=doomed,reason=Failed";
  auto events = client_->List(res::Events(), kNs, o)->at("items");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_NE(events[0]["note"].get<std::string>().find("exited with code 3"), std::string::npos) << events[0]["note"];
}

// The restart budget is the run's, not the JobSet's: a JobSet someone deletes is recreated by
// Trainer with a count of 0, so its restarts are carried (restartsCarried), and once the run's
// restarts pass maxRestarts the run is Failed and its TrainJob suspended, though the new JobSet
// would have restarted the gang again.
TEST_F(TrainRunControllerTest, TheRestartBudgetIsTheRunsAcrossARecreatedJobSet) {
  ASSERT_NO_FATAL_FAILURE(StartRun("budget", /*max_restarts=*/1));
  EndPod(Pods("budget")[0], 1);
  ASSERT_TRUE(Eventually([] { return Run("budget").value("/status/restarts"_json_pointer, 0) == 1 && Phase("budget") == "Running"; }, 30s))
      << Run("budget")["status"].dump(2);
  const std::string first = (*client_->Get(res::JobSets(), kNs, "budget"))["metadata"]["uid"];
  ASSERT_TRUE(client_->Delete(res::JobSets(), kNs, "budget").ok());
  ASSERT_TRUE(Eventually([&] {
    auto js = client_->Get(res::JobSets(), kNs, "budget");
    return js.ok() && (*js)["metadata"]["uid"] != first && Run("budget").value("/status/restartsCarried"_json_pointer, 0) == 1 &&
           Phase("budget") == "Running";
  }, 90s)) << "Trainer recreates the JobSet: " << Run("budget")["status"].dump(2);
  EXPECT_TRUE(EventReasons("budget").count("JobSetRecreated"));
  EndPod(Pods("budget")[0], 2);
  ASSERT_TRUE(Eventually([] { return Phase("budget") == "Failed"; }, 30s)) << Run("budget")["status"].dump(2);
  EXPECT_EQ(Condition("budget", "MaxRestartsInEffect").value("reason", ""), "SpentAcrossJobSets");
  EXPECT_EQ(Condition("budget", "Stalled").value("status", ""), "True");
  EXPECT_EQ(Kstatus("budget"), "Failed");
  EXPECT_TRUE(Eventually([] { return client_->Get(res::TrainJobs(), kNs, "budget")->value("/spec/suspend"_json_pointer, false); }, 10s));
  EXPECT_TRUE(Eventually([] { return Pods("budget").empty(); }, 60s)) << "the suspended TrainJob's pods stop";
  EXPECT_TRUE(EventReasons("budget").count("RestartBudgetSpent"));
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(Phase("budget"), "Failed") << "terminal stays terminal";
}

TEST_F(TrainRunControllerTest, EveryPodSucceedingEndsSucceeded) {
  StartRun("done");
  for (const auto& pod : Pods("done")) EndPod(pod, 0);
  ASSERT_TRUE(Eventually([] { return Phase("done") == "Succeeded"; }, 30s)) << Run("done")["status"].dump(2);
  EXPECT_TRUE(EventReasons("done").count("Succeeded"));
}

TEST_F(TrainRunControllerTest, MaxRestartsEditMidRunStatesTheEffectiveLimitAndKeepsTheRuntime) {
  StartRun("edit");
  Json tr = Run("edit");
  tr["spec"]["resilience"]["maxRestarts"] = 3;
  ASSERT_TRUE(client_->Update(res::TrainRuns(), tr).ok());
  ASSERT_TRUE(Eventually([] { return Condition("edit", "MaxRestartsInEffect").value("status", "") == "False"; }))
      << Run("edit")["status"].dump(2);
  Json status = Run("edit")["status"];
  EXPECT_EQ(status["maxRestarts"], 3);
  EXPECT_EQ(status["effectiveMaxRestarts"], 10);
  EXPECT_EQ(Condition("edit", "RuntimeReady")["reason"], "ChangeNotApplied");
  std::this_thread::sleep_for(3s);  // nothing may loop meanwhile
  auto rt = client_->Get(res::TrainingRuntimes(), kNs, "edit-runtime");
  ASSERT_TRUE(rt.ok());
  EXPECT_FALSE((*rt)["metadata"].contains("deletionTimestamp")) << "an in-use runtime is never deleted";
  EXPECT_EQ((*rt)["spec"]["template"]["spec"]["failurePolicy"]["maxRestarts"], 10);
  EXPECT_EQ(Phase("edit"), "Running");

  tr = Run("edit");
  tr["spec"]["trainer"]["image"] = "my/train:2";
  ASSERT_TRUE(client_->Update(res::TrainRuns(), tr).ok());
  EXPECT_TRUE(Eventually([] { return Condition("edit", "SpecAccepted").value("reason", "") == "TrainerImmutable"; }));
  EXPECT_EQ((*client_->Get(res::TrainJobs(), kNs, "edit"))["spec"]["trainer"]["image"], "my/train:1");
}

TEST_F(TrainRunControllerTest, ATrainJobTrainerRefusesIsAConditionAndAnEditRecovers) {
  ASSERT_TRUE(client_->Create(res::CheckpointStores(), kNs, Store("fix-store")).ok());
  Json tr = TrainRun("fix", "fix-store");
  tr["spec"]["trainer"]["env"] = {{{"name", "PET_NNODES"}, {"value", "4"}}};  // torchrun's, reserved by Trainer
  tr["spec"]["trainer"]["numProcPerNode"] = 8;  // Trainer v2.1 checks reserved names only with an explicit count
  ASSERT_TRUE(client_->Create(res::TrainRuns(), kNs, tr).ok());
  ASSERT_TRUE(Eventually([] { return Condition("fix", "SpecAccepted").value("reason", "") == "TrainJobRejected"; }))
      << Run("fix")["status"].dump(2);
  EXPECT_NE(Condition("fix", "SpecAccepted")["message"].get<std::string>().find("PET_NNODES"), std::string::npos)
      << "Trainer's own admission message reaches the TrainRun";
  EXPECT_TRUE(EventReasons("fix").count("TrainJobRejected"));
  tr = Run("fix");
  tr["spec"]["trainer"].erase("env");
  tr["spec"]["resilience"]["maxRestarts"] = 3;  // the unused runtime is replaced where JobSet's schema needs it
  ASSERT_TRUE(client_->Update(res::TrainRuns(), tr).ok());
  ASSERT_TRUE(Eventually([] { return Phase("fix") == "Running"; }, 60s)) << Run("fix")["status"].dump(2);
  EXPECT_EQ(Run("fix")["status"]["effectiveMaxRestarts"], 3);
  EXPECT_EQ(Condition("fix", "MaxRestartsInEffect")["status"], "True");
}

TEST_F(TrainRunControllerTest, ANamespacedTrainingRuntimeCanBeTheSource) {
  Json team = *client_->Get(res::ClusterTrainingRuntimes(), "", "torch-distributed");
  team = {{"apiVersion", team["apiVersion"]}, {"kind", "TrainingRuntime"},
          {"metadata", {{"name", "team-torch"}, {"namespace", kNs}, {"labels", team["metadata"]["labels"]}}},
          {"spec", team["spec"]}};
  ASSERT_TRUE(client_->Create(res::TrainingRuntimes(), kNs, team).ok());
  ASSERT_TRUE(client_->Create(res::CheckpointStores(), kNs, Store("ns-store")).ok());
  Json tr = TrainRun("team-run", "ns-store");
  tr["spec"]["runtimeRef"] = {{"kind", "TrainingRuntime"}, {"name", "team-torch"}};
  ASSERT_TRUE(client_->Create(res::TrainRuns(), kNs, tr).ok());
  ASSERT_TRUE(Eventually([] { return Phase("team-run") == "Running"; }, 60s)) << Run("team-run")["status"].dump(2);
}

TEST_F(TrainRunControllerTest, DeletingTheRunRemovesEverythingItMadeAndNotTheStore) {
  StartRun("gone");
  ASSERT_TRUE(client_->Delete(res::TrainRuns(), kNs, "gone").ok());
  EXPECT_TRUE(Eventually([] {
    return client_->Get(res::TrainJobs(), kNs, "gone").status().IsNotFound() &&
           client_->Get(res::JobSets(), kNs, "gone").status().IsNotFound() &&
           client_->Get(res::TrainingRuntimes(), kNs, "gone-runtime").status().IsNotFound() && Pods("gone").empty();
  }, 60s)) << "the garbage collector follows the owner references down to the pods";
  EXPECT_TRUE(client_->Get(res::CheckpointStores(), kNs, "gone-store").ok()) << "the store is untouched";
  EXPECT_TRUE(client_->Get(res::ClusterTrainingRuntimes(), "", "torch-distributed").ok());
}

TEST_F(TrainRunControllerTest, DeletingAStoreARunUsesWaitsForTheRunThenExportsAndDeletes) {
  Json store = Store("held-store");
  store["spec"]["deletionPolicy"] = "Delete";
  ASSERT_TRUE(client_->Create(res::CheckpointStores(), kNs, store).ok());
  ASSERT_TRUE(client_->Create(res::TrainRuns(), kNs, TrainRun("holder", "held-store")).ok());
  ASSERT_TRUE(Eventually([] { return Phase("holder") == "Running"; }, 60s)) << Run("holder")["status"].dump(2);
  const std::string fs_id = (*client_->Get(res::CheckpointStores(), kNs, "held-store"))["status"]["fileSystemId"];
  ASSERT_TRUE(client_->Delete(res::CheckpointStores(), kNs, "held-store").ok());
  auto held = [] { return *client_->Get(res::CheckpointStores(), kNs, "held-store"); };
  ASSERT_TRUE(Eventually([&] { return held().value("/status/phase"_json_pointer, std::string()) == "Deleting"; }, 30s));
  std::this_thread::sleep_for(1s);
  Json status = held()["status"];
  EXPECT_NE(status.dump().find("use this store: holder"), std::string::npos) << "names the run: " << status.dump(2);
  EXPECT_TRUE(fsx_->DescribeFileSystems({fs_id}).ok()) << "nothing deleted while the run runs";
  EXPECT_EQ(Phase("holder"), "Running");
  ASSERT_TRUE(client_->Delete(res::TrainRuns(), kNs, "holder").ok());
  EXPECT_TRUE(Eventually([] { return client_->Get(res::CheckpointStores(), kNs, "held-store").status().IsNotFound(); }, 60s))
      << held()["status"].dump(2);
  auto tasks = fsx_->DescribeDataRepositoryTasks({{"Filters", {{{"Name", "file-system-id"}, {"Values", {fs_id}}}}}});
  ASSERT_TRUE(tasks.ok());
  EXPECT_EQ(tasks->size(), 1u) << "the final export ran once the run was gone";
}

// Restores the emulator's faults however a case ends.
struct FaultsFor {
  FaultsFor(emulator::FsxEmulator& e, const emulator::Faults& f) : emulator(e) { emulator.SetFaults(f); }
  ~FaultsFor() { emulator.SetFaults({}); }
  emulator::FsxEmulator& emulator;
};

std::string StorePhase(kube::KubeClient& client, const std::string& store) {
  auto s = client.Get(res::CheckpointStores(), kNs, store);
  return s.ok() ? s->value("/status/phase"_json_pointer, std::string()) : "";
}

// A grown file system: FSx takes the change through UPDATING (held here by the emulator's stuck
// lifecycle for as long as the case runs, as a real grow of a large file system takes hours).
void GrowStore(kube::KubeClient& client, const std::string& store) {
  Json patch = {{"spec", {{"fileSystem", {{"storageCapacityGiB", 4800}}}}}};
  ASSERT_TRUE(client.Patch(res::CheckpointStores(), kNs, store, {kube::PatchType::kMerge}, patch.dump()).ok());
}

// The run's restarts, failure and end reach its status whatever its store is doing: started on a
// Ready store, the store is then moved to `store_phase` by `disturb`; a pod failure must still be
// counted as a gang restart and the run's end (`succeed` or a failure past maxRestarts 1) mirrored.
void TrainRunControllerTest::ExpectMirroredWhileTheStoreIs(const std::string& run, const std::string& store_phase,
                                                           const std::function<void(const std::string&)>& disturb,
                                                           bool succeed) {
  ASSERT_NO_FATAL_FAILURE(StartRun(run, /*max_restarts=*/1));
  const std::string store = run + "-store";
  disturb(store);
  ASSERT_TRUE(Eventually([&] { return StorePhase(*client_, store) == store_phase; }, 30s))
      << (*client_->Get(res::CheckpointStores(), kNs, store))["status"].dump(2);
  ASSERT_FALSE(Pods(run).empty());
  EndPod(Pods(run)[0], 1);
  ASSERT_TRUE(Eventually([&] { return Run(run).value("/status/restarts"_json_pointer, 0) == 1 && Phase(run) == "Running"; }, 60s))
      << "a restart while the store is " << store_phase << ": " << Run(run)["status"].dump(2);
  EXPECT_EQ(StorePhase(*client_, store), store_phase) << "the store really was " << store_phase << " meanwhile";
  if (succeed) {
    for (const auto& pod : Pods(run)) EndPod(pod, 0);
  } else {
    ASSERT_FALSE(Pods(run).empty());
    EndPod(Pods(run)[0], 2);
  }
  const std::string end = succeed ? "Succeeded" : "Failed";
  ASSERT_TRUE(Eventually([&] { return Phase(run) == end; }, 60s)) << Run(run)["status"].dump(2);
  auto reasons = EventReasons(run);
  EXPECT_TRUE(reasons.count("PodFailed") && reasons.count("Restarted") && reasons.count(end)) << ::testing::PrintToString(reasons);
  EXPECT_EQ(Condition(run, "StoreReady").value("status", ""), "False") << "the store's state is reported, not hidden";
}

// The faults start once the store is Ready (a stuck lifecycle from the start would hold the
// store in CREATING and the run would never start).
TEST_F(TrainRunControllerTest, ARunIsMirroredWhileItsStoreGrows) {
  FaultsFor restore(*emulator_, {});
  ExpectMirroredWhileTheStoreIs("during-grow", "Provisioning", [](const std::string& s) {
    emulator_->SetFaults({.stuck_lifecycle = true});
    GrowStore(*client_, s);
  }, true);
}

TEST_F(TrainRunControllerTest, ARunIsMirroredWhileFsxRefusesItsStore) {
  FaultsFor restore(*emulator_, {});
  ExpectMirroredWhileTheStoreIs("during-error", "Error", [](const std::string& s) {
    emulator_->SetFaults({.denied_operations = {"UpdateFileSystem"}});
    GrowStore(*client_, s);
  }, false);
}

TEST_F(TrainRunControllerTest, DeletingAStoreWhoseRunThenFinishesCompletes) {
  ExpectMirroredWhileTheStoreIs("during-delete", "Deleting", [](const std::string& s) {
    Json patch = {{"spec", {{"deletionPolicy", "Delete"}}}};
    ASSERT_TRUE(client_->Patch(res::CheckpointStores(), kNs, s, {kube::PatchType::kMerge}, patch.dump()).ok());
    ASSERT_TRUE(client_->Delete(res::CheckpointStores(), kNs, s).ok());
  }, true);
  EXPECT_TRUE(Eventually([] { return client_->Get(res::CheckpointStores(), kNs, "during-delete-store").status().IsNotFound(); }, 60s))
      << "the run finished, so the deletion completes";
}

// A TrainJob someone deletes (a user tidying up, a cleanup job, Trainer's TTL) is never replaced:
// a new one would train again against the same checkpoint directory. The run keeps a terminal
// phase, or ends Failed if it was running, and says so.
void TrainRunControllerTest::ExpectNotReplacedAfterDeletingItsTrainJob(const std::string& run, const std::string& phase_then,
                                                                       const std::string& phase_after) {
  const std::string uid = (*client_->Get(res::TrainJobs(), kNs, run))["metadata"]["uid"];
  ASSERT_TRUE(client_->Delete(res::TrainJobs(), kNs, run, {.propagation_policy = "Background"}).ok());
  ASSERT_TRUE(Eventually([&] { return Condition(run, "TrainJobFound").value("reason", "") == "TrainJobDeleted"; }, 30s))
      << "deleted when " << phase_then << ": " << Run(run)["status"].dump(2);
  std::this_thread::sleep_for(3s);  // time enough for a replacement to appear, were one made
  auto job = client_->Get(res::TrainJobs(), kNs, run);
  EXPECT_TRUE(job.status().IsNotFound() || (*job)["metadata"]["uid"] == uid) << "no new TrainJob of that name";
  EXPECT_EQ(Phase(run), phase_after);
  EXPECT_TRUE(EventReasons(run).count("TrainJobDeleted"));
  const std::string message = Condition(run, "TrainJobFound")["message"];
  EXPECT_NE(message.find("not launched again"), std::string::npos) << message;
}

TEST_F(TrainRunControllerTest, ATrainJobDeletedAfterSuccessIsNotReplaced) {
  ASSERT_NO_FATAL_FAILURE(StartRun("tidied"));
  for (const auto& pod : Pods("tidied")) EndPod(pod, 0);
  ASSERT_TRUE(Eventually([] { return Phase("tidied") == "Succeeded"; }, 30s));
  ExpectNotReplacedAfterDeletingItsTrainJob("tidied", "Succeeded", "Succeeded");
  EXPECT_EQ(Condition("tidied", "Ready").value("status", ""), "True") << "it did succeed";
}

TEST_F(TrainRunControllerTest, ATrainJobDeletedAfterFailureIsNotReplaced) {
  ASSERT_NO_FATAL_FAILURE(StartRun("failed-tidied", /*max_restarts=*/0));
  EndPod(Pods("failed-tidied")[0], 1);
  ASSERT_TRUE(Eventually([] { return Phase("failed-tidied") == "Failed"; }, 30s)) << Run("failed-tidied")["status"].dump(2);
  ExpectNotReplacedAfterDeletingItsTrainJob("failed-tidied", "Failed", "Failed");
}

TEST_F(TrainRunControllerTest, ATrainJobDeletedWhileRunningEndsTheRunFailedAndIsNotReplaced) {
  ASSERT_NO_FATAL_FAILURE(StartRun("pulled"));
  ExpectNotReplacedAfterDeletingItsTrainJob("pulled", "Running", "Failed");
  EXPECT_EQ(Condition("pulled", "Stalled").value("status", ""), "True") << Run("pulled")["status"].dump(2);
  EXPECT_TRUE(Eventually([] { return Pods("pulled").empty(); }, 60s)) << "its pods went with it";
}

// "Delete this one and apply it again" while the garbage collector still holds the old TrainJob
// (a finalizer here keeps it, as a slow collector or a foreground deletion would): the new run
// neither follows nor replaces a TrainJob another TrainRun's UID controls; it waits, says why,
// and starts its own once the old one is gone.
TEST_F(TrainRunControllerTest, ARunAppliedAgainWaitsForItsPredecessorsTrainJobToGo) {
  ASSERT_NO_FATAL_FAILURE(StartRun("again"));
  const std::string old_uid = (*client_->Get(res::TrainJobs(), kNs, "again"))["metadata"]["uid"];
  Json hold = {{"metadata", {{"finalizers", {"test.trainops.io/hold"}}}}};
  ASSERT_TRUE(client_->Patch(res::TrainJobs(), kNs, "again", {kube::PatchType::kMerge}, hold.dump()).ok());
  ASSERT_TRUE(client_->Delete(res::TrainRuns(), kNs, "again").ok());
  ASSERT_TRUE(Eventually([] { return client_->Get(res::TrainRuns(), kNs, "again").status().IsNotFound(); }, 30s));
  ASSERT_TRUE(client_->Create(res::TrainRuns(), kNs, TrainRun("again", "again-store")).ok());
  ASSERT_TRUE(Eventually([] { return Condition("again", "TrainJobFound").value("reason", "") == "PreviousTrainJobPresent"; }, 30s))
      << Run("again")["status"].dump(2);
  EXPECT_EQ(Phase("again"), "Pending");
  EXPECT_EQ(Condition("again", "Reconciling").value("status", ""), "True") << "in progress, not stalled";
  EXPECT_EQ(Kstatus("again"), "InProgress");
  EXPECT_FALSE(Run("again")["status"].contains("trainJobName")) << "the old TrainJob is not followed";
  EXPECT_EQ((*client_->Get(res::TrainJobs(), kNs, "again"))["metadata"]["uid"], old_uid);
  Json release = {{"metadata", {{"finalizers", nullptr}}}};
  auto released = client_->Patch(res::TrainJobs(), kNs, "again", {kube::PatchType::kMerge}, release.dump());
  ASSERT_TRUE(released.ok()) << released.status().ToString();
  ASSERT_TRUE(Eventually([] { return Phase("again") == "Running"; }, 90s)) << Run("again")["status"].dump(2);
  const Json job = *client_->Get(res::TrainJobs(), kNs, "again");
  EXPECT_NE(job["metadata"]["uid"], old_uid);
  EXPECT_EQ(job["metadata"]["ownerReferences"][0]["uid"], Run("again")["metadata"]["uid"]);
  EXPECT_EQ(Run("again")["status"]["trainJobUID"], job["metadata"]["uid"]);
}

// A TrainJob of the run's name that something else controls (here: carrying the run's label,
// copied from one of ours, but no owner reference) is a conflict: Stalled with one Event, never
// followed, never deleted.
TEST_F(TrainRunControllerTest, ATrainJobOfItsNameThatIsNotItsOwnIsAConflict) {
  ASSERT_TRUE(client_->Create(res::CheckpointStores(), kNs, Store("squatted-store")).ok());
  Json foreign = controllers::BuildTrainJob(TrainRun("squatted", "squatted-store"));
  foreign["metadata"].erase("ownerReferences");
  foreign["spec"]["runtimeRef"] = {{"apiGroup", "trainer.kubeflow.org"}, {"kind", "ClusterTrainingRuntime"},
                                   {"name", "torch-distributed"}};
  foreign["spec"]["suspend"] = true;  // nothing of it runs
  ASSERT_TRUE(client_->Create(res::TrainJobs(), kNs, foreign).ok());
  ASSERT_TRUE(client_->Create(res::TrainRuns(), kNs, TrainRun("squatted", "squatted-store")).ok());
  ASSERT_TRUE(Eventually([] { return Condition("squatted", "TrainJobFound").value("reason", "") == "TrainJobConflict"; }, 60s))
      << Run("squatted")["status"].dump(2);
  EXPECT_EQ(Condition("squatted", "Stalled").value("status", ""), "True");
  EXPECT_EQ(Kstatus("squatted"), "Failed");
  EXPECT_TRUE(EventReasons("squatted").count("TrainJobConflict"));
  EXPECT_FALSE(Run("squatted")["status"].contains("trainJobName"));
  ASSERT_TRUE(client_->Delete(res::TrainJobs(), kNs, "squatted").ok());
  EXPECT_TRUE(Eventually([] { return Phase("squatted") == "Running"; }, 90s)) << "once it is gone the run starts: "
                                                                              << Run("squatted")["status"].dump(2);
}

// What GitOps tools make of our status: objects captured in each phase of both kinds, judged by
// the real kstatus library (sigs.k8s.io/cli-utils, built by hack/build-tools.sh into
// tests/kstatus's kstatus-judge). Converged objects must be Current, work in progress
// InProgress, what needs a human Failed, and a store being deleted Terminating. The table is
// printed for docs/status.md.
TEST_F(TrainRunControllerTest, KstatusJudgesEveryPhaseOfBothKinds) {
  struct Seen { std::string want; Json object; };
  std::vector<Seen> seen;
  auto capture = [&](const kube::Resource& r, const std::string& name, const std::string& phase, const std::string& want) {
    bool reached = Eventually([&] {
      auto o = client_->Get(r, kNs, name);
      if (!o.ok() || o->value("/status/phase"_json_pointer, std::string()) != phase) return false;
      seen.push_back({want, *o});
      return true;
    }, 60s, 20ms);
    EXPECT_TRUE(reached) << name << " never reached " << phase;
  };
  {
    FaultsFor stuck(*emulator_, {.stuck_lifecycle = true});
    ASSERT_TRUE(client_->Create(res::CheckpointStores(), kNs, Store("judged-store")).ok());
    ASSERT_TRUE(client_->Create(res::TrainRuns(), kNs, TrainRun("judged", "judged-store", 1)).ok());
    capture(res::CheckpointStores(), "judged-store", "Provisioning", "InProgress");
    capture(res::TrainRuns(), "judged", "WaitingForStore", "InProgress");
  }
  capture(res::CheckpointStores(), "judged-store", "Ready", "Current");
  capture(res::TrainRuns(), "judged", "Pending", "InProgress");
  capture(res::TrainRuns(), "judged", "Running", "Current");
  EndPod(Pods("judged")[0], 1);
  capture(res::TrainRuns(), "judged", "Restarting", "InProgress");
  capture(res::TrainRuns(), "judged", "Running", "Current");
  {
    FaultsFor denied(*emulator_, {.denied_operations = {"UpdateFileSystem"}});
    GrowStore(*client_, "judged-store");
    capture(res::CheckpointStores(), "judged-store", "Error", "Failed");
  }
  EndPod(Pods("judged")[0], 1);
  capture(res::TrainRuns(), "judged", "Failed", "Failed");
  ASSERT_TRUE(client_->Create(res::TrainRuns(), kNs, TrainRun("judged-ok", "judged-store")).ok());
  capture(res::TrainRuns(), "judged-ok", "Running", "Current");
  for (const auto& pod : Pods("judged-ok")) EndPod(pod, 0);
  capture(res::TrainRuns(), "judged-ok", "Succeeded", "Current");
  {
    FaultsFor protect(*emulator_, {.denied_operations = {"DeleteFileSystem"}});
    Json patch = {{"spec", {{"deletionPolicy", "Delete"}}}};
    ASSERT_TRUE(client_->Patch(res::CheckpointStores(), kNs, "judged-store", {kube::PatchType::kMerge}, patch.dump()).ok());
    ASSERT_TRUE(client_->Delete(res::CheckpointStores(), kNs, "judged-store").ok());
    ASSERT_TRUE(Eventually([] {
      auto s = client_->Get(res::CheckpointStores(), kNs, "judged-store");
      return s.ok() && s->dump().find("AccessDeniedException") != std::string::npos;
    }, 60s));
    capture(res::CheckpointStores(), "judged-store", "Deleting", "Terminating");
  }
  Json objects = Json::array();
  for (const auto& s : seen) objects.push_back(s.object);
  Json verdicts = JudgeKstatus(objects);
  ASSERT_EQ(verdicts.size(), seen.size());
  std::cerr << "[kstatus] | kind | phase | kstatus | message |\n[kstatus] |---|---|---|---|\n";
  for (size_t i = 0; i < seen.size(); ++i) {
    const Json& v = verdicts[i];
    std::cerr << "[kstatus] | " << v["kind"].get<std::string>() << " | " << v["phase"].get<std::string>() << " | "
              << v["status"].get<std::string>() << " | " << v["message"].get<std::string>() << " |\n";
    EXPECT_EQ(v["status"], seen[i].want) << v["kind"] << " " << v["phase"] << ": " << seen[i].object["status"].dump(2);
  }
}

}  // namespace
}  // namespace ckpt

CKPT_ENVTEST_MAIN();
