// Tests of TrainRun planning: the derived runtime keeps upstream failure-policy rules, sets
// maxRestarts, mounts the store and /dev/shm into the trainer container only, adds placement and
// CHECKPOINT_DIR and DATA_DIR, is idempotent, and never changes the source; the TrainJob points
// at it. The checkpoint layout: directory under the checkpoint association, its S3 URI, and why
// checkpoints would not reach S3.
#include "controllers/trainrun_plan.h"

#include <gtest/gtest.h>

namespace ckpt::controllers {
namespace {

Json Source() {
  return Json::parse(R"({"kind": "ClusterTrainingRuntime", "metadata": {"name": "torch-distributed",
      "labels": {"trainer.kubeflow.org/framework": "torch"}},
    "spec": {"mlPolicy": {"numNodes": 1, "torch": {}}, "template": {"spec": {
      "failurePolicy": {"maxRestarts": 1, "rules": [{"action": "FailJobSet", "onJobFailureReasons": ["PodFailurePolicy"]}]},
      "replicatedJobs": [
        {"name": "dataset-initializer", "template": {"spec": {"template": {"spec": {"containers": [{"name": "dataset-initializer", "image": "i"}]}}}}},
        {"name": "node", "template": {"metadata": {"labels": {"trainer.kubeflow.org/trainjob-ancestor-step": "trainer"}},
          "spec": {"template": {"spec": {"containers": [{"name": "node", "image": "pytorch", "env": [{"name": "A", "value": "1"}]}]}}}}}]}}}})");
}

Json Llama() {
  return Json::parse(R"({"metadata": {"name": "llama", "namespace": "ml", "uid": "tr-1"},
    "spec": {"checkpointStore": "llm-ckpt", "checkpoints": {"mountPath": "/mnt/fsx"},
             "runtimeRef": {"kind": "ClusterTrainingRuntime", "name": "torch-distributed"},
             "resilience": {"maxRestarts": 10}, "sharedMemory": "64Gi",
             "placement": {"nodeSelector": {"node.kubernetes.io/instance-type": "p5.48xlarge"}, "zone": "us-east-1a"},
             "trainer": {"image": "my/train:1", "command": ["torchrun", "train.py"], "numNodes": 4, "numProcPerNode": 8,
                         "resourcesPerNode": {"limits": {"nvidia.com/gpu": 8}}}}})");
}

// The workshop's store: data in, checkpoints both ways, logs out.
Json Workshop() {
  return Json::parse(R"({"metadata": {"name": "llm-ckpt"}, "spec": {"dataRepository": {"bucket": "s3://bkt/", "associations": [
      {"path": "/data", "prefix": "data/", "import": ["NEW"]},
      {"path": "/checkpoints", "prefix": "ckpt/", "import": ["NEW"], "export": ["NEW", "CHANGED", "DELETED"]},
      {"path": "/logs", "prefix": "logs/", "export": ["NEW"]}]}}})");
}

Json Derive(const Json& source, const Json& run) {
  return DeriveTrainingRuntime(source, run, "llm-ckpt", PlanCheckpointLayout(run, Workshop()));
}

TEST(TrainRunPlanTest, DerivedRuntimeCarriesEverythingRunSpecific) {
  Json source = Source();
  Json rt = Derive(source, Llama());
  EXPECT_EQ(rt["kind"], "TrainingRuntime");
  EXPECT_EQ(rt["metadata"]["name"], "llama-runtime");
  EXPECT_EQ(rt["metadata"]["namespace"], "ml");
  EXPECT_EQ(rt["metadata"]["ownerReferences"][0]["uid"], "tr-1");
  EXPECT_EQ(rt["metadata"]["labels"]["trainer.kubeflow.org/framework"], "torch");
  const Json& js = rt["spec"]["template"]["spec"];
  EXPECT_EQ(js["failurePolicy"]["maxRestarts"], 10);
  EXPECT_EQ(js["failurePolicy"]["rules"].size(), 1u) << "upstream rules are kept";
  const Json& pod = js["replicatedJobs"][1]["template"]["spec"]["template"]["spec"];
  EXPECT_EQ(pod["volumes"][0]["persistentVolumeClaim"]["claimName"], "llm-ckpt");
  EXPECT_EQ(pod["volumes"][1]["emptyDir"], Json({{"medium", "Memory"}, {"sizeLimit", "64Gi"}}));
  EXPECT_EQ(pod["nodeSelector"]["topology.kubernetes.io/zone"], "us-east-1a");
  EXPECT_EQ(pod["nodeSelector"]["node.kubernetes.io/instance-type"], "p5.48xlarge");
  const Json& c = pod["containers"][0];
  EXPECT_EQ(c["volumeMounts"][0], Json({{"name", "fsx"}, {"mountPath", "/mnt/fsx"}}));
  EXPECT_EQ(c["volumeMounts"][1]["mountPath"], "/dev/shm");
  EXPECT_EQ(c["env"][1], Json({{"name", "CHECKPOINT_DIR"}, {"value", "/mnt/fsx/checkpoints/runs/llama"}}));
  EXPECT_EQ(c["env"][2], Json({{"name", "DATA_DIR"}, {"value", "/mnt/fsx/data"}}));
  const Json& init = js["replicatedJobs"][0]["template"]["spec"]["template"]["spec"];
  EXPECT_FALSE(init.contains("volumes")) << "only the trainer job is changed";
  EXPECT_EQ(source, Source()) << "the shared runtime is never edited";
  EXPECT_EQ(Derive(rt, Llama())["spec"], rt["spec"]) << "idempotent";
}

TEST(TrainRunPlanTest, TrainJobUsesTheDerivedRuntime) {
  Json job = BuildTrainJob(Llama());
  EXPECT_EQ(job["spec"]["runtimeRef"], Json({{"apiGroup", "trainer.kubeflow.org"}, {"kind", "TrainingRuntime"},
                                             {"name", "llama-runtime"}}));
  EXPECT_EQ(job["spec"]["trainer"]["numNodes"], 4);
  EXPECT_EQ(job["spec"]["trainer"]["resourcesPerNode"]["limits"]["nvidia.com/gpu"], 8);
  EXPECT_FALSE(job["spec"]["trainer"].contains("args"));
  EXPECT_EQ(job["metadata"]["ownerReferences"][0]["kind"], "TrainRun");
}

TEST(TrainRunPlanTest, PodRetriesPlacementAndPodIdentityReachTheTrainerJobOnly) {
  Json run = Llama();
  run["spec"]["resilience"]["podRetries"] = 2;
  run["spec"]["placement"]["tolerations"] = {{{"key", "nvidia.com/gpu"}, {"operator", "Exists"}, {"effect", "NoSchedule"}}};
  run["spec"]["placement"]["affinity"] = {{"nodeAffinity", Json::object()}};
  run["spec"]["placement"]["priorityClassName"] = "training";
  run["spec"]["trainer"]["serviceAccountName"] = "trainer";
  run["spec"]["trainer"]["podLabels"] = {{"kueue.x-k8s.io/queue-name", "gpu"}, {"trainops.io/trainrun", "spoofed"}};
  run["spec"]["trainer"]["podAnnotations"] = {{"note", "x"}};
  Json rt = Derive(Source(), run);
  const Json& job = rt["spec"]["template"]["spec"]["replicatedJobs"][1]["template"]["spec"];
  EXPECT_EQ(job["backoffLimit"], 2);
  const Json& pod = job["template"]["spec"];
  EXPECT_EQ(pod["tolerations"].size(), 1u);
  EXPECT_EQ(pod["affinity"], Json({{"nodeAffinity", Json::object()}}));
  EXPECT_EQ(pod["priorityClassName"], "training");
  EXPECT_EQ(pod["serviceAccountName"], "trainer");
  const Json& md = job["template"]["metadata"];
  EXPECT_EQ(md["labels"]["kueue.x-k8s.io/queue-name"], "gpu");
  EXPECT_EQ(md["labels"]["trainops.io/trainrun"], "llama") << "the run label the pod cache selects on wins";
  EXPECT_EQ(md["annotations"]["note"], "x");
  EXPECT_EQ(Derive(rt, run)["spec"], rt["spec"]) << "idempotent (tolerations not repeated)";
  const Json& init = rt["spec"]["template"]["spec"]["replicatedJobs"][0]["template"]["spec"];
  EXPECT_FALSE(init.contains("backoffLimit")) << "initializer jobs keep their own policy";
  run["spec"]["resilience"].erase("podRetries");
  EXPECT_EQ(Derive(Source(), run)["spec"]["template"]["spec"]["replicatedJobs"][1]["template"]["spec"]["backoffLimit"], 0)
      << "default: gang restart at once";
}

TEST(TrainRunPlanTest, AutoProcessesPerNodeIsLeftOut) {
  Json run = Llama();
  run["spec"]["trainer"]["numProcPerNode"] = "auto";
  EXPECT_FALSE(BuildTrainJob(run)["spec"]["trainer"].contains("numProcPerNode"));
  run["spec"]["trainer"]["numProcPerNode"] = 4;
  EXPECT_EQ(BuildTrainJob(run)["spec"]["trainer"]["numProcPerNode"], 4);
}

TEST(TrainRunPlanTest, DerivedRuntimeNameFits) {
  Json run = Llama();
  run["metadata"]["name"] = std::string(60, 'a');
  std::string name = DerivedRuntimeName(run);
  EXPECT_LE(name.size(), 63u);
  EXPECT_EQ(name.substr(0, 50), std::string(50, 'a'));
}

TEST(CheckpointLayoutTest, DefaultsUnderTheCheckpointAssociationWithItsS3Uri) {
  Json run = Llama();
  run["spec"].erase("checkpoints");
  CheckpointLayout l = PlanCheckpointLayout(run, Workshop());
  EXPECT_EQ(l.mount_path, "/fsx");
  EXPECT_EQ(l.checkpoint_dir, "/fsx/checkpoints/runs/llama");
  EXPECT_EQ(l.data_dir, "/fsx/data");
  EXPECT_EQ(l.checkpoint_uri, "s3://bkt/ckpt/runs/llama/");
  EXPECT_TRUE(l.exported);
  Json marked = Workshop();
  marked["spec"]["dataRepository"]["associations"][2]["checkpoints"] = true;
  l = PlanCheckpointLayout(run, marked);
  EXPECT_EQ(l.checkpoint_dir, "/fsx/logs/runs/llama") << "the association marked checkpoints: true wins";
  EXPECT_EQ(l.checkpoint_uri, "s3://bkt/logs/runs/llama/");
  run["spec"]["checkpoints"] = {{"subPath", "checkpoints"}};
  EXPECT_EQ(PlanCheckpointLayout(run, Workshop()).checkpoint_uri, "s3://bkt/ckpt/") << "the association's own root";
}

TEST(CheckpointLayoutTest, SaysWhyCheckpointsWouldNotReachS3) {
  Json run = Llama();
  run["spec"]["checkpoints"]["subPath"] = "scratch/exp";
  CheckpointLayout l = PlanCheckpointLayout(run, Workshop());
  EXPECT_EQ(l.checkpoint_dir, "/mnt/fsx/scratch/exp") << "mountPath is the user's when set";
  EXPECT_FALSE(l.exported);
  EXPECT_EQ(l.reason, "OutsideEveryAssociation");
  EXPECT_TRUE(l.checkpoint_uri.empty());
  run["spec"]["checkpoints"]["subPath"] = "data/ckpt";
  EXPECT_EQ(PlanCheckpointLayout(run, Workshop()).reason, "ExportDisabled") << "/data only imports";
  Json unlinked = {{"metadata", {{"name", "plain"}}}, {"spec", Json::object()}};
  run["spec"].erase("checkpoints");
  l = PlanCheckpointLayout(run, unlinked);
  EXPECT_EQ(l.reason, "StoreNotLinked");
  EXPECT_EQ(l.checkpoint_dir, "/fsx/runs/llama");
  EXPECT_TRUE(l.data_dir.empty());
}

// The store reports the association at /checkpoints as someone else's (or linked elsewhere):
// the run does not claim the spec's S3 URI for its checkpoints.
TEST(CheckpointLayoutTest, AConflictingCheckpointAssociationClaimsNoUri) {
  Json store = Workshop();
  store["status"]["associations"] = Json::array({
      {{"path", "/data"}, {"id", "dra-1"}, {"owned", false}, {"conflict", true}, {"dataRepositoryPath", "s3://x/data/"}},
      {{"path", "/checkpoints"}, {"id", "dra-2"}, {"owned", true}, {"conflict", true},
       {"dataRepositoryPath", "s3://other/ckpt/"}}});
  CheckpointLayout l = PlanCheckpointLayout(Llama(), store);
  EXPECT_FALSE(l.exported);
  EXPECT_EQ(l.reason, "AssociationConflict");
  EXPECT_TRUE(l.checkpoint_uri.empty());
  EXPECT_NE(l.message.find("dra-2 links /checkpoints to s3://other/ckpt/"), std::string::npos) << l.message;
  store["status"]["associations"][1]["conflict"] = false;
  EXPECT_TRUE(PlanCheckpointLayout(Llama(), store).exported) << "a conflict elsewhere is no concern of the checkpoints'";
}

TEST(TrainRunPlanTest, AWebhookThatHasNotSeenTheDerivedRuntimeYetIsNotARefusal) {
  // Trainer v2.3.0's denial, as a 1,000-TrainRun scale run met it (bench/scale).
  Status lagging(StatusCode::kForbidden,
                 "admission webhook \"validator.trainjob.trainer.kubeflow.org\" denied the request: spec.runtimeRef: "
                 "Invalid value: {\"name\":\"r0-runtime\",\"apiGroup\":\"trainer.kubeflow.org\",\"kind\":"
                 "\"TrainingRuntime\"}: TrainingRuntime.trainer.kubeflow.org \"r0-runtime\" not found: specified "
                 "trainingRuntime must be created before the TrainJob is created");
  EXPECT_TRUE(RuntimeNotYetSeenByWebhook(lagging));
  EXPECT_FALSE(RuntimeNotYetSeenByWebhook(Status(StatusCode::kForbidden,
      "admission webhook \"validator.trainjob.trainer.kubeflow.org\" denied the request: spec.trainer.numNodes: Invalid value")));
  EXPECT_FALSE(RuntimeNotYetSeenByWebhook(Status(StatusCode::kUnavailable, "connection refused")));
}

}  // namespace
}  // namespace ckpt::controllers
