// TrainRun reconcile loop (see include/ckpt/controllers/trainrun.h).
#include "ckpt/controllers/trainrun.h"

#include "ckpt/kube/merge_patch.h"
#include "controllers/applied_hash.h"
#include "controllers/store_plan.h"
#include "controllers/trainrun_plan.h"
#include "controllers/trainrun_progress.h"

namespace ckpt::controllers {

using kube::Json;
using runtime::Action;
namespace res = kube::resources;

struct TrainRunReconciler::Ctx {
  Json run, status, trainjob;
  const Json original;
  std::string ns, name, now;
  int64_t generation;
  Ctx(Json r, std::string t)
      : run(std::move(r)), status(run.value("status", Json::object())), original(status), now(std::move(t)) {
    ns = run["metadata"].value("namespace", "");
    name = run["metadata"].value("name", "");
    generation = run["metadata"].value("generation", 0);
  }
  void Condition(const std::string& type, bool ok, const std::string& reason, const std::string& message) {
    SetCondition(status["conditions"], type, ok, reason, message, generation, now);
  }
  // The reason condition `type` had when this reconcile started ("" if it had none).
  std::string PreviousReason(const std::string& type) const {
    for (const auto& c : original.value("conditions", Json::array()))
      if (c.value("type", "") == type) return c.value("reason", "");
    return "";
  }
};

// The API server or an admission webhook (Trainer's, JobSet's) refused the object itself: retrying
// the same object cannot help, only an edit of the TrainRun can. Webhook denials come back as 403
// "admission webhook ... denied the request", unlike a missing RBAC grant.
bool Refused(const Status& s) {
  return s.IsInvalid() || (s.IsForbidden() && s.message().find("denied the request") != std::string::npos);
}

std::vector<std::string> TrainRunRuntimeKey(const Json& tr) {
  return {tr.value("/spec/runtimeRef/kind"_json_pointer, std::string("ClusterTrainingRuntime")) + "/" +
          tr.value("/spec/runtimeRef/name"_json_pointer, std::string())};
}

std::vector<std::string> TrainRunOfPod(const Json& pod) {
  const Json& md = pod["metadata"];
  const std::string run = md.value("labels", Json::object()).value(kTrainRunLabel, "");
  if (run.empty()) return {};
  return {kube::KeyOf(md.value("namespace", ""), run)};
}

std::vector<std::string> TrainRunOfJobSet(const Json& jobset) {
  const Json& md = jobset["metadata"];
  for (const auto& ref : md.value("ownerReferences", Json::array()))
    if (ref.value("controller", false) && ref.value("kind", "") == "TrainJob")
      return {kube::KeyOf(md.value("namespace", ""), ref.value("name", ""))};
  return {};
}

TrainRunReconciler::TrainRunReconciler(kube::KubeClient& client, TrainRunCaches caches, runtime::EventRecorder& events,
                                       Clock& clock, std::chrono::milliseconds poll)
    : client_(client), caches_(std::move(caches)), events_(events), clock_(clock), poll_(poll) {}

StatusOr<Json> TrainRunReconciler::SourceRuntime(const Json& tr) {
  std::string kind = tr.value("/spec/runtimeRef/kind"_json_pointer, std::string("ClusterTrainingRuntime"));
  std::string name = tr.value("/spec/runtimeRef/name"_json_pointer, std::string());
  // Namespaced runtimes are rare and read on demand; cluster runtimes come from the cache.
  if (kind == "TrainingRuntime") return client_.Get(res::TrainingRuntimes(), tr["metadata"].value("namespace", ""), name);
  kube::ObjectPtr cached = caches_.cluster_runtimes.Get(name);
  if (!cached) return NotFound("ClusterTrainingRuntime " + name + " not found");
  return *cached;
}

StatusOr<Action> TrainRunReconciler::Reconcile(const std::string& key) {
  kube::ObjectPtr obj = caches_.trainruns.Get(key);
  if (!obj || (*obj)["metadata"].contains("deletionTimestamp")) return Action::AwaitChange();  // owner refs clean up
  Ctx c(*obj, FormatRfc3339(clock_.Now()));
  std::string store_name = c.run["spec"].value("checkpointStore", "");
  kube::ObjectPtr store = caches_.stores.Get(kube::KeyOf(c.ns, store_name));
  std::string store_phase = store ? store->value("/status/phase"_json_pointer, std::string()) : "";
  c.status["maxRestarts"] = c.run.value("/spec/resilience/maxRestarts"_json_pointer, 0);
  const CheckpointLayout layout = store ? PlanCheckpointLayout(c.run, *store) : CheckpointLayout{};
  if (store) ReportLayout(c, layout);
  if (store_phase != "Ready") {
    c.Condition("StoreReady", false, store ? "StoreNotReady" : "StoreNotFound",
                store ? "CheckpointStore " + store_name + " is " + (store_phase.empty() ? "not ready" : store_phase)
                      : "CheckpointStore " + store_name + " does not exist");
    if (!c.status.contains("trainJobName")) c.status["phase"] = "WaitingForStore";
    return WriteStatusAndAwaitChange(c);  // the store's changes wake us (index by store)
  }
  c.Condition("StoreReady", true, "StoreReady", "CheckpointStore " + store_name + " is ready");
  auto source = SourceRuntime(c.run);
  if (!source.ok()) {
    c.Condition("RuntimeReady", false, source.status().IsNotFound() ? "RuntimeNotFound" : "RuntimeError",
                source.status().message());
    RETURN_IF_ERROR(WriteStatus(c));
    if (source.status().IsNotFound()) return Action::AwaitChange();  // the runtime's creation wakes us
    return source.status();
  }
  const bool in_use = caches_.trainjobs.Get(key) != nullptr;
  const std::string claim = (*store)["spec"]["volume"].value("claimName", "");
  Status applied = ApplyRuntime(c, DeriveTrainingRuntime(*source, c.run, claim, layout), in_use);
  if (Refused(applied)) {
    RefuseRuntime(c, applied);
    return WriteStatusAndAwaitChange(c);  // only an edit of the TrainRun can help, and an edit wakes us
  }
  RETURN_IF_ERROR(applied);
  c.status["runtimeName"] = DerivedRuntimeName(c.run);
  ASSIGN_OR_RETURN(JobState job, EnsureTrainJob(c));
  if (job == JobState::kRejected) return WriteStatusAndAwaitChange(c);  // likewise
  Mirror(c);
  RETURN_IF_ERROR(WriteStatus(c));
  std::string phase = c.status.value("phase", "");
  if (phase == "Succeeded" || phase == "Failed") return Action::AwaitChange();
  return Action::RequeueAfter(poll_);
}

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

// The API server or Trainer's webhook refused the derived runtime (e.g. an affinity the
// TrainingRuntime schema does not take): a condition and one Event; only an edit helps.
void TrainRunReconciler::RefuseRuntime(Ctx& c, const Status& refusal) {
  if (c.PreviousReason("RuntimeReady") != "RuntimeRejected")
    events_.Event(c.run, "Warning", "RuntimeRejected", "Apply", refusal.message());
  c.Condition("RuntimeReady", false, "RuntimeRejected", refusal.message());
}

// Server-side-applies the derived runtime while no TrainJob uses it. Once one does, Trainer has
// built the running JobSet from it, and JobSet's failurePolicy cannot change while that JobSet
// exists (and Trainer v2.1 holds an in-use runtime's deletion with a finalizer), so a changed
// input is not applied: RuntimeReady says so, and MaxRestartsInEffect (Mirror) says which limit
// the running JobSet enforces. A runtime that is missing is always (re-)created.
Status TrainRunReconciler::ApplyRuntime(Ctx& c, Json derived, bool in_use) {
  const std::string name = DerivedRuntimeName(c.run);
  const std::string from = TrainRunRuntimeKey(c.run)[0];
  kube::ObjectPtr existing = caches_.derived_runtimes.Get(kube::KeyOf(c.ns, name));
  if (StampAndCheckApplied(derived, existing)) {
    c.Condition("RuntimeReady", true, "Derived", "TrainingRuntime " + name + " derived from " + from);
    return Status::Ok();
  }
  if (in_use && existing) {
    if (c.PreviousReason("RuntimeReady") != "ChangeNotApplied")
      events_.Event(c.run, "Warning", "RuntimeChangeNotApplied", "Update",
                    "TrainingRuntime " + name + " is in use by TrainJob " + c.name +
                        ": its changed inputs apply to a new TrainRun only");
    c.Condition("RuntimeReady", true, "ChangeNotApplied",
                "TrainingRuntime " + name + " is in use by TrainJob " + c.name + ", so changes made since the "
                "TrainJob started (maxRestarts, podRetries, placement, the trainer pod's settings, " + from +
                ") are not applied to it; they apply to a new TrainRun only");
    return Status::Ok();
  }
  kube::PatchOptions apply{kube::PatchType::kApply, "ckpt-operator", true, ""};
  Status s = client_.Patch(res::TrainingRuntimes(), c.ns, name, apply, derived.dump()).status();
  if (s.IsInvalid() && s.message().find("immutable") != std::string::npos && !in_use) {
    // Unused (its TrainJob was refused): replacing it under the same name is safe.
    Status del = client_.Delete(res::TrainingRuntimes(), c.ns, name);
    if (!del.ok() && !del.IsNotFound()) return del;
    s = client_.Create(res::TrainingRuntimes(), c.ns, derived).status();
  }
  RETURN_IF_ERROR(s);
  c.Condition("RuntimeReady", true, "Derived", "TrainingRuntime " + name + " derived from " + from);
  return Status::Ok();
}

// kReady: the TrainJob exists and c.trainjob holds it. kRejected: the API server refused it
// (SpecAccepted=False).
StatusOr<TrainRunReconciler::JobState> TrainRunReconciler::EnsureTrainJob(Ctx& c) {
  Json want = BuildTrainJob(c.run);
  kube::ObjectPtr cached = caches_.trainjobs.Get(kube::KeyOf(c.ns, c.name));
  Json have;
  if (cached) {
    have = *cached;
  } else {
    auto created = client_.Create(res::TrainJobs(), c.ns, want);
    // Created by an earlier reconcile and not cached yet: its watch event brings us back. Or a
    // TrainJob of that name that is not ours: the error backs off exponentially, never a hot loop.
    if (created.status().IsAlreadyExists())
      return Status(StatusCode::kAlreadyExists, "TrainJob " + c.ns + "/" + c.name + " exists but is not (yet) in the cache "
                    "of TrainJobs labelled " + std::string(kTrainRunLabel) + "=" + c.name +
                    "; if this TrainRun did not create it, rename one of them");
    if (!created.ok()) {
      if (RuntimeNotYetSeenByWebhook(created.status()))
        return Status(StatusCode::kUnavailable, "Trainer's webhook has not seen TrainingRuntime " + DerivedRuntimeName(c.run) +
                      " yet: " + created.status().message());
      if (!Refused(created.status())) return created.status();  // transient: the queue backs off
      if (c.PreviousReason("SpecAccepted") != "TrainJobRejected")
        events_.Event(c.run, "Warning", "TrainJobRejected", "Create", created.status().message());
      c.Condition("SpecAccepted", false, "TrainJobRejected", created.status().message());
      return JobState::kRejected;
    }
    events_.Event(c.run, "Normal", "CreatedTrainJob", "Create", "created TrainJob " + c.name);
    have = std::move(created).value();
  }
  c.status["trainJobName"] = c.name;
  // The TrainJob's trainer and runtimeRef cannot change in place (immutable upstream).
  if (have["spec"].value("trainer", Json::object()) != want["spec"]["trainer"]) {
    c.Condition("SpecAccepted", false, "TrainerImmutable",
                "spec.trainer changed after the TrainJob was created; the running job keeps its trainer. "
                "Create a new TrainRun to run a different trainer.");
  } else {
    c.Condition("SpecAccepted", true, "Accepted", "the TrainJob matches the TrainRun");
  }
  c.trainjob = std::move(have);
  return JobState::kReady;
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
  c.status["restarts"] = p.restarts;
  c.status["runningPods"] = p.running_pods;
  c.status["expectedPods"] = p.expected_pods;
  const std::string cause = c.status.contains("lastFailure") ? " after " + DescribeFailure(c.status["lastFailure"]) : "";
  if (p.restarts > before)
    events_.Event(c.run, "Warning", "Restarted", "Restart",
                  "gang restart " + std::to_string(p.restarts) + " of " + std::to_string(p.effective_max_restarts.value_or(0)) +
                      cause + "; training resumes from " + c.status.value("checkpointDir", ""));
  MirrorRestartLimit(c, p);
  const std::string previous = c.status.value("phase", "");
  c.status["phase"] = p.phase;
  if (p.phase == previous) return;
  if (p.phase == "Running")
    events_.Event(c.run, "Normal", "Running", "Observe", "all " + std::to_string(p.expected_pods) + " trainer pods are running");
  if (p.phase == "Succeeded")
    events_.Event(c.run, "Normal", "Succeeded", "Complete",
                  "TrainJob " + c.name + " succeeded after " + std::to_string(p.restarts) + " restarts");
  if (p.phase == "Failed")
    events_.Event(c.run, "Warning", "Failed", "Complete",
                  "TrainJob " + c.name + " failed after " + std::to_string(p.restarts) + " of " +
                      std::to_string(p.effective_max_restarts.value_or(0)) + " restarts" +
                      (cause.empty() ? "" : "; last failure: " + DescribeFailure(c.status["lastFailure"])));
}

// effectiveMaxRestarts is what the running JobSet enforces; MaxRestartsInEffect says whether that
// is the TrainRun's maxRestarts.
void TrainRunReconciler::MirrorRestartLimit(Ctx& c, const RunProgress& p) {
  if (!p.effective_max_restarts) return;
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
  RETURN_IF_ERROR(WriteStatus(c));
  return Action::AwaitChange();
}

Status TrainRunReconciler::WriteStatus(Ctx& c) {
  c.status["observedGeneration"] = c.generation;
  if (c.status == c.original) return Status::Ok();
  Json patch = {{"status", kube::CreateMergePatch(c.original, c.status)}};  // drops what status no longer has
  return client_.Patch(res::TrainRuns(), c.ns, c.name, {kube::PatchType::kMerge, "", false, "status"}, patch.dump())
      .status();
}

}  // namespace ckpt::controllers
