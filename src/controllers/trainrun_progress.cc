// TrainRun progress from the TrainJob, JobSet and pods (see trainrun_progress.h).
#include "controllers/trainrun_progress.h"

#include <algorithm>
#include <cstdlib>
#include <tuple>

#include "ckpt/controllers/trainrun.h"
#include "controllers/trainrun_plan.h"

namespace ckpt::controllers {
namespace {

// "Complete" or "Failed" when the TrainJob has that condition True, else "".
std::string Outcome(const Json& trainjob) {
  for (const auto& c : trainjob.value("/status/conditions"_json_pointer, Json::array())) {
    const std::string type = c.value("type", "");
    if (c.value("status", "") == "True" && (type == "Complete" || type == "Failed")) return type;
  }
  return "";
}

bool IsReady(const Json& pod) {
  for (const auto& c : pod.value("/status/conditions"_json_pointer, Json::array()))
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  return false;
}

std::string Label(const Json& obj, const std::string& key) {
  return obj.value("/metadata/labels"_json_pointer, Json::object()).value(key, "");
}

PodFailure FailureOf(const Json& pod) {
  const Json& st = pod["status"];
  Json terminated = Json::object();
  for (const auto& cs : st.value("containerStatuses", Json::array()))
    if (cs.contains("/state/terminated"_json_pointer)) terminated = cs["state"]["terminated"];
  std::string job = Label(pod, "batch.kubernetes.io/job-name");
  const std::string attempt = Label(pod, kRestartAttemptLabel);
  return {{"time", terminated.value("finishedAt", st.value("startTime", ""))},
          {"job", job.empty() ? Label(pod, "job-name") : job},
          {"pod", pod["metadata"].value("name", "")},
          {"node", pod.value("/spec/nodeName"_json_pointer, std::string())},
          {"exitCode", terminated.value("exitCode", -1)},
          {"reason", terminated.value("reason", st.value("reason", "Failed"))},
          {"message", terminated.value("message", st.value("message", ""))},
          {"attempt", attempt.empty() ? -1 : std::atoi(attempt.c_str())}};
}

// Failures are ordered by time, then pod name.
std::tuple<std::string, std::string> Key(const Json& failure) {
  return {failure.value("time", ""), failure.value("pod", "")};
}

bool Later(const PodFailure& a, const Json& last) {
  return last.is_null() || last.empty() || Key(a) > Key(last);
}

// Trainer pods in one attempt of a JobSet: replicas x pods per Job (JobSet's own count uses the
// smaller of parallelism and completions).
int ExpectedPods(const Json& jobset) {
  int n = 0;
  for (const auto& rj : jobset.value("/spec/replicatedJobs"_json_pointer, Json::array())) {
    int parallelism = rj.value("parallelism", 1);
    if (rj.contains("completions")) parallelism = std::min(parallelism, rj["completions"].get<int>());
    n += rj.value("replicas", 1) * parallelism;
  }
  return n;
}

std::string DecidePhase(const Json& trainjob, bool have_jobset, const RunProgress& p, int failed_now) {
  const std::string outcome = Outcome(trainjob);
  if (outcome == "Complete") return "Succeeded";
  if (outcome == "Failed") return "Failed";
  if (trainjob.value("/spec/suspend"_json_pointer, false)) return "Suspended";
  if (!have_jobset) return "Pending";
  if (failed_now > 0) return "Restarting";
  if (p.expected_pods > 0 && p.running_pods >= p.expected_pods) return "Running";
  return p.restarts > 0 ? "Restarting" : "Pending";
}

}  // namespace

RunProgress ObserveProgress(const Json& trainjob, const kube::ObjectPtr& jobset,
                            const std::vector<kube::ObjectPtr>& pods, const Json& last_failure) {
  RunProgress p;
  if (jobset) {
    p.restarts = jobset->value("/status/restarts"_json_pointer, 0);
    if (jobset->contains("/spec/failurePolicy/maxRestarts"_json_pointer))
      p.effective_max_restarts = (*jobset)["spec"]["failurePolicy"]["maxRestarts"].get<int>();
    p.expected_pods = ExpectedPods(*jobset);
  }
  const std::string attempt = std::to_string(p.restarts);
  int failed_now = 0;
  for (const auto& pod : pods) {
    const std::string phase = pod->value("/status/phase"_json_pointer, std::string());
    if (phase == "Failed") {
      PodFailure f = FailureOf(*pod);
      if (Later(f, last_failure)) p.new_failures.push_back(std::move(f));
    }
    if (!jobset || Label(*pod, kRestartAttemptLabel) != attempt || (*pod)["metadata"].contains("deletionTimestamp"))
      continue;
    if (phase == "Failed") ++failed_now;
    if (phase == "Running" && IsReady(*pod)) ++p.running_pods;
  }
  std::sort(p.new_failures.begin(), p.new_failures.end(), [](const Json& a, const Json& b) { return Key(a) < Key(b); });
  p.phase = DecidePhase(trainjob, jobset != nullptr, p, failed_now);
  return p;
}

std::string DescribeFailure(const PodFailure& f) {
  if (f.value("reason", "") == "NotObserved") return "a failure that was not observed (" + f.value("message", "") + ")";
  std::string s = "pod " + f.value("pod", "") + " on node " + f.value("node", "?") + " exited with code " +
                  std::to_string(f.value("exitCode", -1)) + " (" + f.value("reason", "") + ")";
  const std::string message = f.value("message", "");
  return message.empty() ? s : s + ": " + message;
}

void SlimJobSet(Json& jobset) {
  Json slim = {{"apiVersion", jobset.value("apiVersion", "")}, {"kind", jobset.value("kind", "")}};
  const Json md = jobset.value("metadata", Json::object());
  for (const char* k : {"name", "namespace", "uid", "resourceVersion", "ownerReferences"})
    if (md.contains(k)) slim["metadata"][k] = md[k];
  const Json spec = jobset.value("spec", Json::object());
  if (spec.contains("/failurePolicy/maxRestarts"_json_pointer))
    slim["spec"]["failurePolicy"]["maxRestarts"] = spec["failurePolicy"]["maxRestarts"];
  slim["spec"]["replicatedJobs"] = Json::array();
  for (const auto& rj : spec.value("replicatedJobs", Json::array())) {
    if (!IsTrainerJob(rj)) continue;  // only the trainer job's pods count for Running
    const Json job = rj.value("/template/spec"_json_pointer, Json::object());
    Json keep = {{"name", rj.value("name", "")}, {"replicas", rj.value("replicas", 1)},
                 {"parallelism", job.value("parallelism", 1)}};
    if (job.contains("completions")) keep["completions"] = job["completions"];
    slim["spec"]["replicatedJobs"].push_back(std::move(keep));
  }
  slim["status"]["restarts"] = jobset.value("/status/restarts"_json_pointer, 0);
  jobset = std::move(slim);
}

void SlimPod(Json& pod) {
  const Json md = pod.value("metadata", Json::object());
  Json slim = {{"metadata", Json::object()}, {"spec", Json::object()}, {"status", Json::object()}};
  for (const char* k : {"name", "namespace", "uid", "resourceVersion", "deletionTimestamp"})
    if (md.contains(k)) slim["metadata"][k] = md[k];
  const Json labels = md.value("labels", Json::object());
  for (const char* k : {kTrainRunLabel, kRestartAttemptLabel, "batch.kubernetes.io/job-name", "job-name"})
    if (labels.contains(k)) slim["metadata"]["labels"][k] = labels[k];
  if (pod.contains("/spec/nodeName"_json_pointer)) slim["spec"]["nodeName"] = pod["spec"]["nodeName"];
  const Json st = pod.value("status", Json::object());
  for (const char* k : {"phase", "reason", "message", "startTime"})
    if (st.contains(k)) slim["status"][k] = st[k];
  for (const auto& c : st.value("conditions", Json::array()))
    if (c.value("type", "") == "Ready") slim["status"]["conditions"] = Json::array({{{"type", "Ready"}, {"status", c.value("status", "")}}});
  for (const auto& cs : st.value("containerStatuses", Json::array()))
    if (cs.value("name", "") == kTrainerContainer && cs.contains("/state/terminated"_json_pointer))
      slim["status"]["containerStatuses"] = Json::array({{{"name", cs["name"]}, {"state", {{"terminated", cs["state"]["terminated"]}}}}});
  pod = std::move(slim);
}

}  // namespace ckpt::controllers
