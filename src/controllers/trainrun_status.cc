// TrainRun status (see include/ckpt/controllers/trainrun.h): the checkpoint layout, progress
// mirrored from the TrainJob, JobSet and pods with an Event per failure, restart and phase
// transition, the summary conditions kstatus reads (controllers/status_summary.h), the
// persistent-error report, and the one status write per reconcile.
#include <spdlog/spdlog.h>

#include "ckpt/kube/merge_patch.h"
#include "controllers/checkpoint_layout.h"
#include "controllers/status_summary.h"
#include "controllers/trainrun_context.h"
#include "controllers/trainrun_progress.h"

namespace ckpt::controllers {

using runtime::Action;
namespace res = kube::resources;

// Where the run checkpoints, where that is exported to, and CheckpointsExported (one Warning
// Event when it turns False: checkpoints that never reach S3 go with the file system).
void TrainRunReconciler::ReportLayout(Ctx& c, const CheckpointLayout& layout) {
  c.status["checkpointDir"] = layout.checkpoint_dir;
  if (layout.checkpoint_uri.empty()) c.status.erase("checkpointURI");
  else c.status["checkpointURI"] = layout.checkpoint_uri;
  if (layout.data_dir.empty()) c.status.erase("dataDir");
  else c.status["dataDir"] = layout.data_dir;
  if (!layout.exported && c.PreviousReason("CheckpointsExported") != layout.reason)
    events_.Event(c.run, "Warning", "CheckpointsNotExported", "Plan", layout.message);
  c.Condition("CheckpointsExported", layout.exported, layout.reason, layout.message);
}

// Progress from the TrainJob, its JobSet (same name) and the run's pods (controllers/
// trainrun_progress.h), with an Event for each pod failure, gang restart and phase transition.
void TrainRunReconciler::Mirror(Ctx& c) {
  kube::ObjectPtr jobset = caches_.jobsets.Get(kube::KeyOf(c.ns, c.name));
  RunProgress p = ObserveProgress(c.trainjob, jobset, caches_.pods.ByIndex(kPodsByRun, kube::KeyOf(c.ns, c.name)),
                                  c.status.value("lastFailure", Json()));
  const int before = c.status.value("restarts", 0);
  for (const auto& f : p.new_failures)
    events_.Event(c.run, "Warning", "PodFailed", "Observe", DescribeFailure(f));
  if (!p.new_failures.empty()) {
    c.status["lastFailure"] = p.new_failures.back();
    c.status["podFailures"] = c.status.value("podFailures", 0) + static_cast<int>(p.new_failures.size());
  }
  const int restarts = CountRestarts(c, jobset, p.restarts);
  c.status["restarts"] = restarts;
  c.status["runningPods"] = p.running_pods;
  c.status["expectedPods"] = p.expected_pods;
  if (restarts > before) ReportRestart(c, restarts, p.effective_max_restarts.value_or(0));
  MirrorRestartLimit(c, p);
  const std::string previous = c.status.value("phase", "");
  c.status["phase"] = RestartBudgetSpent(c, p, restarts) ? "Failed" : p.phase;
  if (c.status["phase"] == previous) return;
  const std::string cause = c.status.contains("lastFailure") ? "; last failure: " + DescribeFailure(c.status["lastFailure"]) : "";
  if (c.status["phase"] == "Running")
    events_.Event(c.run, "Normal", "Running", "Observe", "all " + std::to_string(p.expected_pods) + " trainer pods are running");
  if (c.status["phase"] == "Succeeded")
    events_.Event(c.run, "Normal", "Succeeded", "Complete",
                  "TrainJob " + c.name + " succeeded after " + std::to_string(restarts) + " restarts");
  if (c.status["phase"] == "Failed")
    events_.Event(c.run, "Warning", "Failed", "Complete",
                  "TrainJob " + c.name + " failed after " + std::to_string(restarts) + " of " +
                      std::to_string(p.effective_max_restarts.value_or(c.status.value("maxRestarts", 0))) + " restarts" + cause);
}

// Gang restarts of the run, not of the current JobSet: should the JobSet be recreated (someone
// deleted it and Trainer made a new one, whose count starts at 0), the restarts of the earlier
// ones are carried in status.restartsCarried.
int TrainRunReconciler::CountRestarts(Ctx& c, const kube::ObjectPtr& jobset, int jobset_restarts) {
  if (!jobset) return c.status.value("restarts", 0);
  const std::string uid = jobset->value("/metadata/uid"_json_pointer, std::string());
  const std::string seen = c.status.value("jobSetUID", "");
  if (!seen.empty() && !uid.empty() && uid != seen) {
    c.status["restartsCarried"] = c.status.value("restarts", 0);
    events_.Event(c.run, "Warning", "JobSetRecreated", "Observe",
                  "JobSet " + c.name + " was recreated (uid " + seen + " -> " + uid + "); its " +
                      std::to_string(c.status.value("restarts", 0)) + " earlier restarts still count for this run");
  }
  if (!uid.empty()) c.status["jobSetUID"] = uid;
  return c.status.value("restartsCarried", 0) + jobset_restarts;
}

// One Event per gang restart, naming its cause only when a failed pod of the attempt that ended
// was observed. JobSet deletes failed pods when it restarts the gang, so a reconcile can miss one
// (or the restart had another cause, such as a node that went away): then lastFailure says the
// cause was not observed rather than citing an earlier failure.
void TrainRunReconciler::ReportRestart(Ctx& c, int restarts, int max_restarts) {
  const int ended_attempt = restarts - 1 - c.status.value("restartsCarried", 0);
  const Json last = c.status.value("lastFailure", Json::object());
  const bool known = last.value("attempt", -1) == ended_attempt && last.value("reason", "") != "NotObserved";
  if (!known) {
    c.status["lastFailure"] = {{"time", last.value("time", "")}, {"attempt", ended_attempt},
                               {"reason", "NotObserved"},
                               {"message", "no failed trainer pod of attempt " + std::to_string(ended_attempt) +
                                               " was observed before JobSet restarted the gang (it deleted the pod "
                                               "first, or the restart had another cause); the cause is not known"}};
  }
  events_.Event(c.run, "Warning", "Restarted", "Restart",
                "gang restart " + std::to_string(restarts) + " of " + std::to_string(max_restarts) +
                    (known ? " after " + DescribeFailure(c.status["lastFailure"]) : ", cause not observed") +
                    "; training resumes from " + c.status.value("checkpointDir", ""));
}

// The restart budget is the run's: a recreated JobSet counts from 0 (restartsCarried holds the
// earlier ones), so once the run's restarts pass its limit it has failed, though that JobSet
// would go on; Follow then suspends the TrainJob so its pods stop. Sticky: the run stays Failed.
bool TrainRunReconciler::RestartBudgetSpent(Ctx& c, const RunProgress& p, int restarts) {
  const Json* cond = FindCondition(c.status, "MaxRestartsInEffect");
  if (cond && cond->value("reason", "") == "SpentAcrossJobSets") return true;
  const int carried = c.status.value("restartsCarried", 0);
  const int budget = p.effective_max_restarts.value_or(c.status.value("maxRestarts", 0));
  if (carried == 0 || restarts <= budget || p.phase == "Succeeded" || p.phase == "Failed") return false;
  c.Condition("MaxRestartsInEffect", true, "SpentAcrossJobSets",
              "the run has restarted " + std::to_string(restarts) + " times (" + std::to_string(carried) +
                  " in earlier JobSets) against a limit of " + std::to_string(budget) + ": its budget is spent, though "
                  "the recreated JobSet counts only its own; TrainJob " + c.name + " is suspended so its pods stop");
  return true;
}

// effectiveMaxRestarts is what the running JobSet enforces; MaxRestartsInEffect says whether that
// is the TrainRun's maxRestarts.
void TrainRunReconciler::MirrorRestartLimit(Ctx& c, const RunProgress& p) {
  const Json* spent = FindCondition(c.status, "MaxRestartsInEffect");
  if (!p.effective_max_restarts || (spent && spent->value("reason", "") == "SpentAcrossJobSets")) return;
  const int desired = c.status.value("maxRestarts", 0), effective = *p.effective_max_restarts;
  c.status["effectiveMaxRestarts"] = effective;
  if (desired == effective) {
    c.Condition("MaxRestartsInEffect", true, "Enforced",
                "the running JobSet restarts the gang up to " + std::to_string(effective) + " times");
    return;
  }
  c.Condition("MaxRestartsInEffect", false, "FixedForRunningJobSet",
              "maxRestarts is " + std::to_string(desired) + " but the running JobSet enforces " +
                  std::to_string(effective) + ": JobSet's failurePolicy cannot change while the JobSet exists. "
                  "The new value applies to the next JobSet only, i.e. to a new TrainRun.");
}

StatusOr<Action> TrainRunReconciler::WriteStatusAndAwaitChange(Ctx& c) {
  SummarizeRun(c);
  RETURN_IF_ERROR(WriteStatus(c));
  return Action::AwaitChange();
}

Status TrainRunReconciler::WriteStatus(Ctx& c) {
  c.status["observedGeneration"] = c.generation;
  return PatchStatus(client_, res::TrainRuns(), c.ns, c.name, c.written, c.status);
}

// Ready, Reconciling and Stalled from the phase and the conditions that need a human: Running
// and Succeeded are Current; Failed, a TrainJob or runtime the API server refused and a trainer
// change that cannot apply are Stalled; everything else is in progress.
void TrainRunReconciler::SummarizeRun(Ctx& c) {
  const std::string phase = c.status.value("phase", "");
  auto health = [&](Health h, const std::string& reason, const std::string& message) {
    Summarize(c.status["conditions"], h, reason, message, c.generation, c.now);
  };
  for (const char* type : {"TrainJobFound", "SpecAccepted", "RuntimeReady"}) {
    const Json* cond = FindCondition(c.status, type);
    // A refusal of an earlier generation's spec (e.g. RuntimeRejected, then fixed while the run
    // waits for its store) says nothing about this one.
    if (cond && cond->value("observedGeneration", c.generation) < c.generation && std::string(type) != "TrainJobFound")
      continue;
    if (cond && cond->value("status", "") == "False" && cond->value("reason", "") != "RuntimeNotFound" &&
        cond->value("reason", "") != "PreviousTrainJobPresent" &&
        (phase != "Succeeded" || std::string(type) == "TrainJobFound"))
      return health(phase == "Succeeded" ? Health::kCurrent : Health::kStalled, cond->value("reason", ""),
                    cond->value("message", ""));
  }
  if (phase == "Succeeded") return health(Health::kCurrent, "Succeeded", "TrainJob " + c.name + " succeeded");
  if (phase == "Failed")
    return health(Health::kStalled, "Failed",
                  "TrainJob " + c.name + " failed" +
                      (c.status.contains("lastFailure") ? ": " + DescribeFailure(c.status["lastFailure"]) : std::string()));
  if (phase == "Running")
    return health(Health::kCurrent, "Running", "all " + std::to_string(c.status.value("expectedPods", 0)) + " trainer pods are running");
  const Json* store = FindCondition(c.status, "StoreReady");
  if (phase == "WaitingForStore" && store) return health(Health::kInProgress, "WaitingForStore", store->value("message", ""));
  return health(Health::kInProgress, phase.empty() ? "Pending" : phase, "the run is " + (phase.empty() ? std::string("Pending") : phase));
}

// An error that outlived a retry (a write conflict does not count): Ready=False with the API
// server's reason and message (Stalled, or Reconciling while it is transient) and a Warning Event
// when the reason is new. The queue's backoff keeps retrying; the next successful reconcile sets
// the summary from the run's real state again.
void TrainRunReconciler::ReportPersistentError(Ctx& c, const Status& error) {
  const std::string reason = ErrorReason(error);
  if (c.PreviousReason("Ready") != reason) events_.Event(c.run, "Warning", reason, "Reconcile", error.message());
  Summarize(c.status["conditions"], IsTransient(error) ? Health::kInProgress : Health::kStalled, reason, error.message(),
            c.generation, c.now);
  if (Status written = WriteStatus(c); !written.ok()) spdlog::warn("could not record the error in status: {}", written.ToString());
}

}  // namespace ckpt::controllers
