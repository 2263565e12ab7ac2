// Tests of TrainRun planning: the derived runtime keeps upstream failure-policy rules, sets
// maxRestarts, mounts the store and /dev/shm into the trainer container only, adds placement and
// CHECKPOINT_DIR, is idempotent, and never changes the source; the TrainJob points at it.
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
    "spec": {"checkpointStore": "llm-ckpt", "checkpoints": {"mountPath": "/checkpoints/"},
             "runtimeRef": {"kind": "ClusterTrainingRuntime", "name": "torch-distributed"},
             "resilience": {"maxRestarts": 10}, "sharedMemory": "64Gi",
             "placement": {"nodeSelector": {"node.kubernetes.io/instance-type": "p5.48xlarge"}, "zone": "us-east-1a"},
             "trainer": {"image": "my/train:1", "command": ["torchrun", "train.py"], "numNodes": 4, "numProcPerNode": 8,
                         "resourcesPerNode": {"limits": {"nvidia.com/gpu": 8}}}}})");
}

TEST(TrainRunPlanTest, DerivedRuntimeCarriesEverythingRunSpecific) {
  Json source = Source();
  Json rt = DeriveTrainingRuntime(source, Llama(), "llm-ckpt");
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
  EXPECT_EQ(c["volumeMounts"][0], Json({{"name", "checkpoints"}, {"mountPath", "/checkpoints/"}}));
  EXPECT_EQ(c["volumeMounts"][1]["mountPath"], "/dev/shm");
  EXPECT_EQ(c["env"][1], Json({{"name", "CHECKPOINT_DIR"}, {"value", "/checkpoints/runs/llama"}}));
  const Json& init = js["replicatedJobs"][0]["template"]["spec"]["template"]["spec"];
  EXPECT_FALSE(init.contains("volumes")) << "only the trainer job is changed";
  EXPECT_EQ(source, Source()) << "the shared runtime is never edited";
  EXPECT_EQ(DeriveTrainingRuntime(rt, Llama(), "llm-ckpt")["spec"], rt["spec"]) << "idempotent";
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
  Json rt = DeriveTrainingRuntime(Source(), run, "llm-ckpt");
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
  EXPECT_EQ(DeriveTrainingRuntime(rt, run, "llm-ckpt")["spec"], rt["spec"]) << "idempotent (tolerations not repeated)";
  const Json& init = rt["spec"]["template"]["spec"]["replicatedJobs"][0]["template"]["spec"];
  EXPECT_FALSE(init.contains("backoffLimit")) << "initializer jobs keep their own policy";
  run["spec"]["resilience"].erase("podRetries");
  EXPECT_EQ(DeriveTrainingRuntime(Source(), run, "llm-ckpt")["spec"]["template"]["spec"]["replicatedJobs"][1]["template"]
                                                              ["spec"]["backoffLimit"], 0) << "default: gang restart at once";
}

TEST(TrainRunPlanTest, AutoProcessesPerNodeIsLeftOut) {
  Json run = Llama();
  run["spec"]["trainer"]["numProcPerNode"] = "auto";
  EXPECT_FALSE(BuildTrainJob(run)["spec"]["trainer"].contains("numProcPerNode"));
  run["spec"]["trainer"]["numProcPerNode"] = 4;
  EXPECT_EQ(BuildTrainJob(run)["spec"]["trainer"]["numProcPerNode"], 4);
}

TEST(TrainRunPlanTest, NamesAndDirectories) {
  Json run = Llama();
  run["spec"]["checkpoints"] = {{"mountPath", "/ckpt"}, {"subPath", "exp/42"}};
  EXPECT_EQ(CheckpointDir(run), "/ckpt/exp/42");
  run["spec"].erase("checkpoints");
  EXPECT_EQ(CheckpointDir(run), "/checkpoints/runs/llama");
  run["metadata"]["name"] = std::string(60, 'a');
  std::string name = DerivedRuntimeName(run);
  EXPECT_LE(name.size(), 63u);
  EXPECT_EQ(name.substr(0, 50), std::string(50, 'a'));
}

}  // namespace
}  // namespace ckpt::controllers
