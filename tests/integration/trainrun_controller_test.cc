// The TrainRun controller on a real API server with the upstream Trainer/JobSet CRDs (run once
// with v2.1.0 and once with v2.3.0). No Trainer or JobSet controller runs here: the test itself
// writes the CheckpointStore's Ready status, the JobSet's restart count and the TrainJob's
// Complete condition, standing in for those controllers. Covers: waiting for the store, the
// derived runtime and TrainJob, restart counting and the terminal phase, maxRestarts edits,
// refused trainer changes, and cleanup of owned objects only.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "ckpt/controllers/checkpoint_store.h"
#include "ckpt/controllers/trainrun.h"
#include "ckpt/kube/informer.h"
#include "ckpt/runtime/handlers.h"
#include "ckpt/runtime/manager.h"
#include "integration/envtest.h"
#include "integration/test_objects.h"

namespace ckpt {
namespace {

using kube::Json;
using testing::Eventually;
namespace res = kube::resources;
using namespace std::chrono_literals;

struct TrainRunOperator {
  explicit TrainRunOperator(kube::KubeClient& client)
      : events(client, SystemClock(), "ckpt-operator", "test"),
        trainruns(client, {res::TrainRuns(), "default"}, SystemClock(),
                  {{{controllers::kTrainRunsByStore, controllers::TrainRunStoreKey},
                    {controllers::kTrainRunsByRuntime, controllers::TrainRunRuntimeKey}}}),
        stores(client, {res::CheckpointStores(), "default"}, SystemClock()),
        jobs(client, {res::TrainJobs(), "default", controllers::kTrainRunLabel}, SystemClock()),
        jobsets(client, {res::JobSets(), "default"}, SystemClock(), {.transform = controllers::SlimJobSet}),
        runtimes(client, {res::ClusterTrainingRuntimes(), ""}, SystemClock()),
        derived(client, {res::TrainingRuntimes(), "default", controllers::kTrainRunLabel}, SystemClock()),
        reconciler(client,
                   {trainruns.store(), stores.store(), jobs.store(), jobsets.store(), runtimes.store(), derived.store()},
                   events, SystemClock(), 10min),  // nothing below may depend on polling: all by watch
        controller({"trainrun", 2}, reconciler, SystemClock(), &metrics),
        manager({.probe_address = "0"}, client, SystemClock(), metrics) {
    kube::Store runs = trainruns.store();
    trainruns.AddHandler(runtime::EnqueueSelf(controller.queue()));
    jobs.AddHandler(runtime::EnqueueOwner(controller.queue(), "trainops.io", "TrainRun"));
    derived.AddHandler(runtime::EnqueueOwner(controller.queue(), "trainops.io", "TrainRun"));
    jobsets.AddHandler(runtime::EnqueueMapped(controller.queue(), controllers::TrainRunOfJobSet));
    stores.AddHandler(runtime::EnqueueMapped(controller.queue(), [runs](const Json& store) {
      std::vector<std::string> keys;
      for (const auto& tr : runs.ByIndex(controllers::kTrainRunsByStore, kube::KeyOf(store))) keys.push_back(kube::KeyOf(*tr));
      return keys;
    }));
    runtimes.AddHandler(runtime::EnqueueMapped(controller.queue(), [runs](const Json& rt) {
      std::vector<std::string> keys;
      for (const auto& tr : runs.ByIndex(controllers::kTrainRunsByRuntime, "ClusterTrainingRuntime/" + rt["metadata"].value("name", "")))
        keys.push_back(kube::KeyOf(*tr));
      return keys;
    }));
    for (auto* i : {&trainruns, &stores, &jobs, &jobsets, &runtimes, &derived}) manager.AddInformer(i);
    manager.AddController(&controller);
    thread = std::jthread([this](std::stop_token stop) { manager.Run(stop); });
  }
  runtime::Metrics metrics;
  runtime::KubeEventRecorder events;
  kube::Informer trainruns, stores, jobs, jobsets, runtimes, derived;
  controllers::TrainRunReconciler reconciler;
  runtime::Controller controller;
  runtime::Manager manager;
  std::jthread thread;  // last member: stops (request_stop + join) before the rest is destroyed
};

Json TrainRun(const std::string& name, const std::string& store) {
  return Json::parse(R"({"apiVersion": "trainops.io/v1alpha1", "kind": "TrainRun",
    "metadata": {"name": ")" + name + R"(", "namespace": "default"},
    "spec": {"checkpointStore": ")" + store + R"(", "runtimeRef": {"name": "torch-distributed"},
             "resilience": {"maxRestarts": 10}, "sharedMemory": "64Gi",
             "placement": {"nodeSelector": {"node.kubernetes.io/instance-type": "p5.48xlarge"}},
             "trainer": {"image": "my/train:1", "command": ["torchrun", "train.py"], "numNodes": 2}}})");
}

class TrainRunControllerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    client_ = testing::Envtest().NewClient().release();
    auto as_operator = testing::Envtest().NewOperatorClient();  // the ServiceAccount deploy/rbac grants
    ASSERT_TRUE(as_operator.ok()) << as_operator.status().ToString();
    operator_client_ = std::move(as_operator).value().release();
    operator_ = new TrainRunOperator(*operator_client_);
  }
  static void TearDownTestSuite() { delete operator_; }
  static Json Run(const std::string& n) { return *client_->Get(res::TrainRuns(), "default", n); }
  static std::string Phase(const std::string& n) {
    auto r = client_->Get(res::TrainRuns(), "default", n);
    return r.ok() ? r->value("/status/phase"_json_pointer, std::string()) : "";
  }
  // Stands in for the CheckpointStore controller: a store whose status says Ready.
  static void ReadyStore(const std::string& name) {
    auto s = client_->Create(res::CheckpointStores(), "default", testing::CheckpointStoreObject("default", name));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    (*s)["status"] = {{"phase", "Ready"}};
    ASSERT_TRUE(client_->Update(res::CheckpointStores(), *s, "status").ok());
  }
  // Stands in for Trainer: marks TrainJob `name` finished with condition `type` (Complete/Failed).
  static void FinishTrainJob(const std::string& name, const std::string& type, const std::string& reason) {
    Json job = *client_->Get(res::TrainJobs(), "default", name);
    job["status"] = {{"conditions", {{{"type", type}, {"status", "True"}, {"reason", reason}, {"message", reason},
                                      {"lastTransitionTime", "2026-11-22T00:00:00Z"}}}}};
    ASSERT_TRUE(client_->Update(res::TrainJobs(), job, "status").ok());
  }
  static inline kube::KubeClient* client_ = nullptr;           // admin: the test's own actions
  static inline kube::KubeClient* operator_client_ = nullptr;  // the operator's ServiceAccount
  static inline TrainRunOperator* operator_ = nullptr;
};

TEST_F(TrainRunControllerTest, WaitsForTheStoreThenRunsAndMirrorsRestartsAndSuccess) {
  ASSERT_TRUE(client_->Create(res::TrainRuns(), "default", TrainRun("llama", "late-store")).ok());
  ASSERT_TRUE(Eventually([] { return Phase("llama") == "WaitingForStore"; }));
  EXPECT_TRUE(client_->Get(res::TrainJobs(), "default", "llama").status().IsNotFound());
  ReadyStore("late-store");
  ASSERT_TRUE(Eventually([] { return Phase("llama") == "Running"; })) << Run("llama")["status"].dump(2);

  auto rt = client_->Get(res::TrainingRuntimes(), "default", "llama-runtime");
  ASSERT_TRUE(rt.ok());
  EXPECT_EQ((*rt)["spec"]["template"]["spec"]["failurePolicy"]["maxRestarts"], 10);
  const Json& pod = (*rt)["spec"]["template"]["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]["spec"];
  EXPECT_EQ(pod["volumes"][0]["persistentVolumeClaim"]["claimName"], "late-store");
  EXPECT_EQ(pod["containers"][0]["env"][0]["value"], "/checkpoints/runs/llama");
  auto job = client_->Get(res::TrainJobs(), "default", "llama");
  ASSERT_TRUE(job.ok());
  EXPECT_EQ((*job)["spec"]["runtimeRef"]["name"], "llama-runtime");

  // Stand in for JobSet: one restart.
  Json jobset = Json::parse(R"({"apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet",
    "metadata": {"name": "llama", "namespace": "default"},
    "spec": {"replicatedJobs": [{"name": "node", "replicas": 1, "template": {"spec": {"template": {"spec": {
      "restartPolicy": "Never", "containers": [{"name": "node", "image": "my/train:1"}]}}}}}]}})");
  jobset["metadata"]["ownerReferences"] = {{{"apiVersion", "trainer.kubeflow.org/v1alpha1"}, {"kind", "TrainJob"},
                                            {"name", "llama"}, {"uid", (*job)["metadata"]["uid"]}, {"controller", true}}};
  auto js = client_->Create(res::JobSets(), "default", jobset);
  ASSERT_TRUE(js.ok()) << js.status().ToString();
  (*js)["status"] = {{"restarts", 1}};
  ASSERT_TRUE(client_->Update(res::JobSets(), *js, "status").ok());
  ASSERT_TRUE(Eventually([] { return Run("llama").value("/status/restarts"_json_pointer, 0) == 1; }));

  FinishTrainJob("llama", "Complete", "JobSetCompleted");
  ASSERT_TRUE(Eventually([] { return Phase("llama") == "Succeeded"; }));
  kube::ListOptions o;
  o.field_selector = "regarding.name=llama";
  auto events = *client_->List(res::Events(), "default", o);
  std::set<std::string> reasons;
  for (const auto& e : events["items"]) reasons.insert(e["reason"]);
  EXPECT_TRUE(reasons.count("Restarted") && reasons.count("Succeeded") && reasons.count("CreatedTrainJob"));
}

TEST_F(TrainRunControllerTest, MaxRestartsEditsReachTheRuntimeAndTrainerChangesAreRefused) {
  ReadyStore("edit-store");
  ASSERT_TRUE(client_->Create(res::TrainRuns(), "default", TrainRun("edit", "edit-store")).ok());
  ASSERT_TRUE(Eventually([] { return Phase("edit") == "Running"; }));
  Json tr = Run("edit");
  tr["spec"]["resilience"]["maxRestarts"] = 3;
  ASSERT_TRUE(client_->Update(res::TrainRuns(), tr).ok());
  EXPECT_TRUE(Eventually([] {
    auto rt = client_->Get(res::TrainingRuntimes(), "default", "edit-runtime");
    return rt.ok() && (*rt)["spec"]["template"]["spec"]["failurePolicy"]["maxRestarts"] == 3;
  }));
  tr = Run("edit");
  tr["spec"]["trainer"]["image"] = "my/train:2";
  ASSERT_TRUE(client_->Update(res::TrainRuns(), tr).ok());
  EXPECT_TRUE(Eventually([] {
    for (const auto& c : Run("edit").value("/status/conditions"_json_pointer, Json::array()))
      if (c["type"] == "SpecAccepted") return c["status"] == "False" && c["reason"] == "TrainerImmutable";
    return false;
  }));
  EXPECT_EQ((*client_->Get(res::TrainJobs(), "default", "edit"))["spec"]["trainer"]["image"], "my/train:1");
}

TEST_F(TrainRunControllerTest, FailedTrainJobEndsTheRunAsFailed) {
  ReadyStore("fail-store");
  ASSERT_TRUE(client_->Create(res::TrainRuns(), "default", TrainRun("doomed", "fail-store")).ok());
  ASSERT_TRUE(Eventually([] { return Phase("doomed") == "Running"; }));
  FinishTrainJob("doomed", "Failed", "JobSetFailed");
  ASSERT_TRUE(Eventually([] { return Phase("doomed") == "Failed"; }));
  kube::ListOptions o;
  o.field_selector = "regarding.name=doomed,reason=Failed";
  EXPECT_TRUE(Eventually([&] { return client_->List(res::Events(), "default", o)->at("items").size() == 1; }));
}

TEST_F(TrainRunControllerTest, SourceRuntimeChangesReachTheDerivedRuntime) {
  ReadyStore("src-store");
  ASSERT_TRUE(client_->Create(res::TrainRuns(), "default", TrainRun("follow", "src-store")).ok());
  ASSERT_TRUE(Eventually([] { return Phase("follow") == "Running"; }));
  Json src = *client_->Get(res::ClusterTrainingRuntimes(), "", "torch-distributed");
  src["spec"]["template"]["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]["spec"]["containers"][0]["image"] =
      "pytorch/pytorch:patched";
  ASSERT_TRUE(client_->Update(res::ClusterTrainingRuntimes(), src).ok());
  EXPECT_TRUE(Eventually([] {
    auto rt = client_->Get(res::TrainingRuntimes(), "default", "follow-runtime");
    return rt.ok() && (*rt)["spec"]["template"]["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]["spec"]
                          ["containers"][0]["image"] == "pytorch/pytorch:patched";
  }, 20s)) << "the derived runtime follows the source runtime";
}

TEST_F(TrainRunControllerTest, ANamespacedTrainingRuntimeCanBeTheSource) {
  ReadyStore("ns-store");
  Json team = *client_->Get(res::ClusterTrainingRuntimes(), "", "torch-distributed");
  team = {{"apiVersion", team["apiVersion"]}, {"kind", "TrainingRuntime"},
          {"metadata", {{"name", "team-torch"}, {"namespace", "default"}, {"labels", team["metadata"]["labels"]}}},
          {"spec", team["spec"]}};
  ASSERT_TRUE(client_->Create(res::TrainingRuntimes(), "default", team).ok());
  Json tr = TrainRun("team-run", "ns-store");
  tr["spec"]["runtimeRef"] = {{"kind", "TrainingRuntime"}, {"name", "team-torch"}};
  ASSERT_TRUE(client_->Create(res::TrainRuns(), "default", tr).ok());
  ASSERT_TRUE(Eventually([] { return Phase("team-run") == "Running"; })) << Run("team-run")["status"].dump(2);
  auto rt = client_->Get(res::TrainingRuntimes(), "default", "team-run-runtime");
  ASSERT_TRUE(rt.ok());
  EXPECT_EQ((*rt)["spec"]["template"]["spec"]["failurePolicy"]["maxRestarts"], 10);
}

TEST_F(TrainRunControllerTest, DeletingTheRunRemovesOwnedObjectsOnly) {
  ReadyStore("keep-store");
  ASSERT_TRUE(client_->Create(res::TrainRuns(), "default", TrainRun("gone", "keep-store")).ok());
  ASSERT_TRUE(Eventually([] { return Phase("gone") == "Running"; }));
  ASSERT_TRUE(client_->Delete(res::TrainRuns(), "default", "gone").ok());
  EXPECT_TRUE(Eventually([] {
    return client_->Get(res::TrainJobs(), "default", "gone").status().IsNotFound() &&
           client_->Get(res::TrainingRuntimes(), "default", "gone-runtime").status().IsNotFound();
  }, 60s)) << "the garbage collector follows our owner references";
  EXPECT_TRUE(client_->Get(res::CheckpointStores(), "default", "keep-store").ok()) << "the store is untouched";
  EXPECT_TRUE(client_->Get(res::ClusterTrainingRuntimes(), "", "torch-distributed").ok());
}

}  // namespace
}  // namespace ckpt

CKPT_ENVTEST_MAIN();
