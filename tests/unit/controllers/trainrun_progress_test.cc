// Tests of TrainRun progress: phases only from real state (Pending until every trainer pod of the
// current attempt runs, Restarting from a failure until the new attempt runs, Suspended, the
// TrainJob's outcome), the restart limit the JobSet enforces, pod failures recorded once with
// their cause, and the cache transforms keeping what the decisions read.
#include "controllers/trainrun_progress.h"

#include <gtest/gtest.h>

#include "ckpt/controllers/trainrun.h"
#include "controllers/trainrun_plan.h"

namespace ckpt::controllers {
namespace {

kube::ObjectPtr Ptr(Json j) { return std::make_shared<const Json>(std::move(j)); }

// A JobSet as the cache holds it: one trainer replicated job of `nodes` pods.
kube::ObjectPtr JobSet(int restarts, int nodes = 2, int max_restarts = 10) {
  Json js = {{"apiVersion", "jobset.x-k8s.io/v1alpha2"}, {"kind", "JobSet"},
             {"metadata", {{"name", "llama"}, {"namespace", "ml"}}},
             {"spec", {{"failurePolicy", {{"maxRestarts", max_restarts}}},
                       {"replicatedJobs", {{{"name", "node"}, {"replicas", 1},
                                            {"template", {{"metadata", {{"labels", {{kAncestorLabel, "trainer"}}}}},
                                                          {"spec", {{"parallelism", nodes}, {"completions", nodes}}}}}}}}}},
             {"status", {{"restarts", restarts}}}};
  SlimJobSet(js);
  return Ptr(js);
}

kube::ObjectPtr Pod(const std::string& name, int attempt, const std::string& phase, bool ready = true) {
  Json pod = {{"metadata", {{"name", name}, {"namespace", "ml"}, {"uid", name},
                            {"labels", {{kTrainRunLabel, "llama"}, {kRestartAttemptLabel, std::to_string(attempt)},
                                        {"batch.kubernetes.io/job-name", "llama-node-0"}, {"other", "dropped"}}}}},
              {"spec", {{"nodeName", "gpu-node-1"}, {"containers", Json::array()}}},
              {"status", {{"phase", phase}, {"conditions", {{{"type", "Ready"}, {"status", ready ? "True" : "False"}}}}}}};
  if (phase == "Failed")
    pod["status"]["containerStatuses"] = {{{"name", "node"}, {"state", {{"terminated", {
        {"exitCode", 137}, {"reason", "OOMKilled"}, {"message", "out of memory"}, {"finishedAt", "2026-11-24T10:00:0" + name.substr(name.size() - 1) + "Z"}}}}}}};
  SlimPod(pod);
  return Ptr(pod);
}

const Json kJob = {{"spec", Json::object()}};

TEST(TrainRunProgressTest, PendingUntilEveryTrainerPodOfTheAttemptRuns) {
  EXPECT_EQ(ObserveProgress(kJob, nullptr, {}, Json()).phase, "Pending") << "no JobSet yet";
  EXPECT_EQ(ObserveProgress(kJob, JobSet(0), {Pod("p0", 0, "Running")}, Json()).phase, "Pending");
  EXPECT_EQ(ObserveProgress(kJob, JobSet(0), {Pod("p0", 0, "Running"), Pod("p1", 0, "Running", false)}, Json()).phase,
            "Pending") << "running but not Ready";
  RunProgress p = ObserveProgress(kJob, JobSet(0), {Pod("p0", 0, "Running"), Pod("p1", 0, "Running")}, Json());
  EXPECT_EQ(p.phase, "Running");
  EXPECT_EQ(p.running_pods, 2);
  EXPECT_EQ(p.expected_pods, 2);
  EXPECT_EQ(p.effective_max_restarts, 10);
}

TEST(TrainRunProgressTest, RestartingFromAFailureUntilTheNewAttemptRuns) {
  EXPECT_EQ(ObserveProgress(kJob, JobSet(0), {Pod("p0", 0, "Failed"), Pod("p1", 0, "Running")}, Json()).phase,
            "Restarting") << "a failed pod in the current attempt";
  EXPECT_EQ(ObserveProgress(kJob, JobSet(1), {Pod("q0", 1, "Pending", false)}, Json()).phase, "Restarting");
  EXPECT_EQ(ObserveProgress(kJob, JobSet(1), {Pod("p1", 0, "Running"), Pod("q0", 1, "Running")}, Json()).phase,
            "Restarting") << "pods of the old attempt do not count";
  EXPECT_EQ(ObserveProgress(kJob, JobSet(1), {Pod("q0", 1, "Running"), Pod("q1", 1, "Running")}, Json()).phase, "Running");
}

TEST(TrainRunProgressTest, TheTrainJobDecidesOutcomeAndSuspension) {
  Json done = {{"status", {{"conditions", {{{"type", "Complete"}, {"status", "True"}}}}}}};
  Json failed = {{"status", {{"conditions", {{{"type", "Failed"}, {"status", "True"}}}}}}};
  Json suspended = {{"spec", {{"suspend", true}}}};
  EXPECT_EQ(ObserveProgress(done, JobSet(0), {}, Json()).phase, "Succeeded");
  EXPECT_EQ(ObserveProgress(failed, JobSet(3), {}, Json()).phase, "Failed");
  EXPECT_EQ(ObserveProgress(suspended, JobSet(0), {}, Json()).phase, "Suspended");
}

TEST(TrainRunProgressTest, FailuresAreRecordedOnceWithTheirCause) {
  RunProgress p = ObserveProgress(kJob, JobSet(0), {Pod("p2", 0, "Failed"), Pod("p1", 0, "Failed")}, Json());
  ASSERT_EQ(p.new_failures.size(), 2u);
  const Json& last = p.new_failures.back();
  EXPECT_EQ(last["pod"], "p2") << "oldest first";
  EXPECT_EQ(last["node"], "gpu-node-1");
  EXPECT_EQ(last["job"], "llama-node-0");
  EXPECT_EQ(last["exitCode"], 137);
  EXPECT_EQ(last["reason"], "OOMKilled");
  EXPECT_EQ(DescribeFailure(last), "pod p2 on node gpu-node-1 exited with code 137 (OOMKilled): out of memory");
  EXPECT_TRUE(ObserveProgress(kJob, JobSet(0), {Pod("p2", 0, "Failed"), Pod("p1", 0, "Failed")}, last).new_failures.empty())
      << "already recorded";
}

TEST(TrainRunProgressTest, CacheTransformsKeepWhatDecisionsRead) {
  Json js = *JobSet(2, 4, 7);
  EXPECT_EQ(js["spec"]["failurePolicy"]["maxRestarts"], 7);
  EXPECT_EQ(js["spec"]["replicatedJobs"][0], Json({{"name", "node"}, {"replicas", 1}, {"parallelism", 4}, {"completions", 4}}));
  Json pod = *Pod("p0", 0, "Failed");
  EXPECT_FALSE(pod["metadata"]["labels"].contains("other"));
  EXPECT_EQ(pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"], 137);
  EXPECT_EQ(TrainRunOfPod(pod), std::vector<std::string>{"ml/llama"});
}

}  // namespace
}  // namespace ckpt::controllers
