// The TrainRun controller's derived TrainingRuntime and TrainJob, built from the upstream
// torch-distributed ClusterTrainingRuntime as installed, are accepted by the real API server
// under the upstream Trainer CRD schema (run once with v2.1.0 and once with v2.3.0), and the
// stored objects still carry the mount, /dev/shm, node selector, CHECKPOINT_DIR and maxRestarts.
#include <gtest/gtest.h>

#include <functional>

#include "controllers/trainrun_plan.h"
#include "integration/envtest.h"
#include "integration/test_objects.h"

namespace ckpt {
namespace {

using kube::Json;
namespace res = kube::resources;

TEST(TrainRunShapesTest, DerivedRuntimeAndTrainJobPassUpstreamValidation) {
  auto client = testing::Envtest().NewClient();
  auto source = client->Get(res::ClusterTrainingRuntimes(), "", "torch-distributed");
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  Json run = Json::parse(R"({"apiVersion": "trainops.io/v1alpha1", "kind": "TrainRun",
    "metadata": {"name": "llama", "namespace": "default"},
    "spec": {"checkpointStore": "llm-ckpt", "runtimeRef": {"name": "torch-distributed"},
             "resilience": {"maxRestarts": 10}, "sharedMemory": "64Gi",
             "placement": {"nodeSelector": {"node.kubernetes.io/instance-type": "p5.48xlarge"}, "zone": "us-east-1a"},
             "trainer": {"image": "my/train:1", "command": ["torchrun", "train.py"], "numNodes": 2, "numProcPerNode": 8,
                         "env": [{"name": "EPOCHS", "value": "3"}],
                         "resourcesPerNode": {"limits": {"nvidia.com/gpu": 8}}}}})");
  auto created = client->Create(res::TrainRuns(), "default", run);
  ASSERT_TRUE(created.ok()) << created.status().ToString();

  Json store = testing::CheckpointStoreObject("default", "llm-ckpt");
  store["spec"]["dataRepository"] = {{"bucket", "s3://bkt"}, {"associations", {{{"path", "/checkpoints"}, {"prefix", "ckpt/"},
                                                                               {"export", {"NEW"}}}}}};
  Json rt = controllers::DeriveTrainingRuntime(*source, *created, "llm-ckpt",
                                               controllers::PlanCheckpointLayout(*created, store));
  auto stored_rt = client->Create(res::TrainingRuntimes(), "default", rt);
  ASSERT_TRUE(stored_rt.ok()) << testing::Envtest().trainer_version() << ": " << stored_rt.status().ToString();
  const Json& js = (*stored_rt)["spec"]["template"]["spec"];
  EXPECT_EQ(js["failurePolicy"]["maxRestarts"], 10);
  const Json& pod = js["replicatedJobs"][0]["template"]["spec"]["template"]["spec"];
  EXPECT_EQ(pod["volumes"][0]["persistentVolumeClaim"]["claimName"], "llm-ckpt");
  EXPECT_EQ(pod["volumes"][1]["emptyDir"]["medium"], "Memory");
  EXPECT_EQ(pod["nodeSelector"]["topology.kubernetes.io/zone"], "us-east-1a");
  EXPECT_EQ(pod["containers"][0]["env"][0]["value"], "/fsx/checkpoints/runs/llama");

  auto job = client->Create(res::TrainJobs(), "default", controllers::BuildTrainJob(*created));
  ASSERT_TRUE(job.ok()) << testing::Envtest().trainer_version() << ": " << job.status().ToString();
  EXPECT_EQ((*job)["spec"]["runtimeRef"]["name"], "llama-runtime");
  EXPECT_EQ((*job)["spec"]["trainer"]["numNodes"], 2);
}

TEST(TrainRunShapesTest, CrdRejectsBadInputWithClearMessages) {
  auto client = testing::Envtest().NewClient();
  auto attempt = [&](const std::function<void(Json&)>& mutate) {
    Json run = Json::parse(R"({"apiVersion": "trainops.io/v1alpha1", "kind": "TrainRun",
      "metadata": {"name": "bad", "namespace": "default"},
      "spec": {"checkpointStore": "s", "runtimeRef": {"name": "torch-distributed"}, "trainer": {"image": "i"}}})");
    mutate(run["spec"]);
    return client->Create(res::TrainRuns(), "default", run).status();
  };
  Status s = attempt([](Json& spec) { spec["resilience"] = {{"maxRestarts", -1}}; });
  EXPECT_NE(s.message().find("spec.resilience.maxRestarts in body should be greater than or equal to 0"), std::string::npos) << s.ToString();
  s = attempt([](Json& spec) { spec["trainer"].erase("image"); });
  EXPECT_NE(s.message().find("spec.trainer.image: Required value"), std::string::npos) << s.ToString();
  s = attempt([](Json& spec) { spec["runtimeRef"]["kind"] = "JobSetRuntime"; });
  EXPECT_NE(s.message().find("supported values: \"ClusterTrainingRuntime\", \"TrainingRuntime\""), std::string::npos)
      << s.ToString();
  s = attempt([](Json& spec) { spec.erase("checkpointStore"); });
  EXPECT_NE(s.message().find("spec.checkpointStore: Required value"), std::string::npos) << s.ToString();
  s = attempt([](Json& spec) { spec["trainer"]["numProcPerNode"] = "gpus"; });
  EXPECT_NE(s.message().find("numProcPerNode must be a positive integer or \"auto\""), std::string::npos) << s.ToString();
  s = attempt([](Json& spec) { spec["trainer"]["numProcPerNode"] = 0; });
  EXPECT_NE(s.message().find("numProcPerNode must be a positive integer"), std::string::npos) << s.ToString();
  s = attempt([](Json& spec) {
    spec["trainer"]["env"] = {{{"name", "X"}, {"value", "1"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.name"}}}}}}};
  });
  EXPECT_NE(s.message().find("set value or valueFrom, not both"), std::string::npos) << s.ToString();
  s = attempt([](Json& spec) { spec["placement"] = {{"tolerations", {{{"key", "k"}, {"operator", "Maybe"}}}}}; });
  EXPECT_NE(s.message().find("supported values: \"Exists\", \"Equal\""), std::string::npos) << s.ToString();
}

TEST(TrainRunShapesTest, NamesThatCannotFitEveryDerivedNameAreRejectedAtApply) {
  auto client = testing::Envtest().NewClient();
  auto create = [&](const std::string& name) {
    Json run = {{"apiVersion", "trainops.io/v1alpha1"}, {"kind", "TrainRun"},
                {"metadata", {{"name", name}, {"namespace", "default"}}},
                {"spec", {{"checkpointStore", "s"}, {"runtimeRef", {{"name", "torch-distributed"}}},
                          {"trainer", {{"image", "i"}, {"numNodes", 10000}}}}}};
    return client->Create(res::TrainRuns(), "default", run).status();
  };
  Status s = create(std::string(46, 'a'));
  EXPECT_NE(s.message().find("metadata.name must be at most 45 characters"), std::string::npos) << s.ToString();
  s = create("1st-run");
  EXPECT_NE(s.message().find("must be an RFC 1035 label"), std::string::npos) << s.ToString();
  EXPECT_TRUE(create(std::string(45, 'a')).ok()) << "45 characters leave room for <name>-node-0-9999-abcde";
}

TEST(TrainRunShapesTest, AutoProcessesPerNodeIsTheFormEachTrainerVersionTakes) {
  auto client = testing::Envtest().NewClient();
  Json run = {{"apiVersion", "trainops.io/v1alpha1"}, {"kind", "TrainRun"},
              {"metadata", {{"name", "auto-procs"}, {"namespace", "default"}}},
              {"spec", {{"checkpointStore", "s"}, {"runtimeRef", {{"name", "torch-distributed"}}},
                        {"trainer", {{"image", "i"}, {"numProcPerNode", "auto"}}}}}};
  auto created = client->Create(res::TrainRuns(), "default", run);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  Json job = controllers::BuildTrainJob(*created);
  EXPECT_FALSE(job["spec"]["trainer"].contains("numProcPerNode")) << "absent means auto in v2.1 and v2.3";
  job["spec"]["runtimeRef"] = {{"apiGroup", "trainer.kubeflow.org"}, {"kind", "ClusterTrainingRuntime"},
                               {"name", "torch-distributed"}};
  auto stored = client->Create(res::TrainJobs(), "default", job);
  EXPECT_TRUE(stored.ok()) << testing::Envtest().trainer_version() << ": " << stored.status().ToString();
}

}  // namespace
}  // namespace ckpt

CKPT_ENVTEST_MAIN();
