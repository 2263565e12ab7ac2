// TrainRun reconcile loop (see include/ckpt/controllers/trainrun.h): what to create and when.
// Status is built in trainrun_status.cc.
#include "ckpt/controllers/trainrun.h"

#include "controllers/applied_hash.h"
#include "controllers/checkpoint_layout.h"
#include "controllers/status_summary.h"
#include "controllers/trainrun_context.h"
#include "controllers/trainrun_plan.h"

namespace ckpt::controllers {

using runtime::Action;
namespace res = kube::resources;

// The API server or an admission webhook (Trainer's, JobSet's) refused the object itself: retrying
// the same object cannot help, only an edit of the TrainRun can. Webhook denials come back as 403
// "admission webhook ... denied the request", unlike a missing RBAC grant.
bool Refused(const Status& s) {
  return s.IsInvalid() || (s.IsForbidden() && s.message().find("denied the request") != std::string::npos);
}

namespace {

// The TrainRun that controls `job` ({kind, name, uid} of its controller reference), if any.
std::optional<Json> ControllerOf(const Json& job) {
  for (const auto& ref : job["metadata"].value("ownerReferences", Json::array()))
    if (ref.value("controller", false)) return ref;
  return std::nullopt;
}

// A TrainJob is this run's only when its controller reference names this TrainRun's UID: a name
// or a label is shared with an earlier TrainRun of the same name (or copied), a UID is not.
bool OwnedByRun(const Json& job, const std::string& uid) {
  std::optional<Json> ref = ControllerOf(job);
  return ref && ref->value("kind", "") == "TrainRun" && ref->value("uid", "") == uid;
}

// The store's phase as a run sees it: Deleting from the moment it has a deletionTimestamp (its
// status may still say Ready until its reconciler runs); "" when there is no store.
std::string StorePhase(const kube::ObjectPtr& store) {
  if (!store) return "";
  if ((*store)["metadata"].contains("deletionTimestamp")) return "Deleting";
  return store->value("/status/phase"_json_pointer, std::string());
}

}  // namespace

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
    : client_(client), caches_(std::move(caches)), events_(events), clock_(clock), poll_(poll),
      errors_(std::make_shared<ErrorStreaks>()) {}

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
  StatusOr<Action> result = Converge(c, key);
  if (!result.ok() && result.status().IsConflict()) return result;  // the next reconcile reads the newer object
  if (errors_->Record(key, result.ok()) >= 2) ReportPersistentError(c, result.status());
  return result;
}

// Once a TrainJob exists the run follows it, whatever the store is doing: the store's state
// gates only the creation of the TrainJob (StoreReady). A run that had a TrainJob never gets a
// second one (TrainJobMissing); a TrainJob of its name that another owner controls is never
// followed or replaced (NotOurTrainJob).
StatusOr<Action> TrainRunReconciler::Converge(Ctx& c, const std::string& key) {
  kube::ObjectPtr store = ObserveStore(c);
  kube::ObjectPtr job = caches_.trainjobs.Get(key);
  if (job && OwnedByRun(*job, c.uid)) return Follow(c, *job, store);
  if (c.status.contains("trainJobName")) return TrainJobMissing(c, store);
  if (job) return NotOurTrainJob(c, *job, store);
  if (c.status.contains("conditions"))  // none exists and none was ours: a conflict or predecessor went
    RemoveCondition(c.status["conditions"], "TrainJobFound");
  if (StorePhase(store) != "Ready") {
    c.status["phase"] = "WaitingForStore";
    return WriteStatusAndAwaitChange(c);  // the store's changes wake us (index by store)
  }
  return Launch(c, *store);
}

// A TrainJob of the run's name that this TrainRun does not control. The usual case is one of an
// earlier TrainRun of the same name (deleted and applied again): Kubernetes' garbage collector
// deletes it, and its deletion wakes this run, which then creates its own; the derived runtime is
// applied meanwhile (Trainer's webhook checks an old TrainJob's runtime on every update, even
// the one that lets it go). Anything else is a conflict only a human can settle.
StatusOr<Action> TrainRunReconciler::NotOurTrainJob(Ctx& c, const Json& job, kube::ObjectPtr store) {
  std::optional<Json> ref = ControllerOf(job);
  const bool predecessor = job["metadata"].contains("deletionTimestamp") ||
                           (ref && ref->value("kind", "") == "TrainRun" && ref->value("name", "") == c.name);
  const std::string uid = job.value("/metadata/uid"_json_pointer, std::string());
  if (c.status.value("phase", "").empty() || c.status.value("phase", "") == "WaitingForStore") c.status["phase"] = "Pending";
  if (predecessor) {
    if (StorePhase(store) == "Ready") RETURN_IF_ERROR(DeriveRuntime(c, *store, /*in_use=*/false).status());
    c.Condition("TrainJobFound", false, "PreviousTrainJobPresent",
                "TrainJob " + c.name + " (uid " + uid + ") belongs to an earlier TrainRun of this name" +
                    (ref ? " (uid " + ref->value("uid", "") + ")" : std::string()) +
                    " and is being deleted by Kubernetes' garbage collector; this run creates its own once it is gone");
    return WriteStatusAndAwaitChange(c);  // its deletion wakes us (its owner reference names this run)
  }
  const std::string message = "TrainJob " + c.ns + "/" + c.name + " (uid " + uid + ") exists and is not controlled by "
                              "this TrainRun" + (ref ? " but by " + ref->value("kind", "") + " " + ref->value("name", "") : "") +
                              "; it is left alone. Delete or rename one of them";
  if (c.PreviousReason("TrainJobFound") != "TrainJobConflict")
    events_.Event(c.run, "Warning", "TrainJobConflict", "Create", message);
  c.Condition("TrainJobFound", false, "TrainJobConflict", message);
  SummarizeRun(c);
  RETURN_IF_ERROR(WriteStatus(c));
  return Action::RequeueAfter(poll_);  // its owner may not name this run: nothing else wakes us
}

// StoreReady, the checkpoint layout and the restart budget the spec asks for; the store, if any.
kube::ObjectPtr TrainRunReconciler::ObserveStore(Ctx& c) {
  const std::string store_name = c.run["spec"].value("checkpointStore", "");
  kube::ObjectPtr store = caches_.stores.Get(kube::KeyOf(c.ns, store_name));
  const std::string phase = StorePhase(store);
  c.status["maxRestarts"] = c.run.value("/spec/resilience/maxRestarts"_json_pointer, 0);
  if (store) ReportLayout(c, PlanCheckpointLayout(c.run, *store));
  if (phase == "Ready") c.Condition("StoreReady", true, "StoreReady", "CheckpointStore " + store_name + " is ready");
  else
    c.Condition("StoreReady", false, store ? "StoreNotReady" : "StoreNotFound",
                store ? "CheckpointStore " + store_name + " is " + (phase.empty() ? "not ready" : phase)
                      : "CheckpointStore " + store_name + " does not exist");
  return store;
}

// The derived runtime, then the TrainJob, then the first mirror of its progress.
StatusOr<Action> TrainRunReconciler::Launch(Ctx& c, const Json& store) {
  if (c.status.value("phase", "").empty() || c.status.value("phase", "") == "WaitingForStore") c.status["phase"] = "Pending";
  ASSIGN_OR_RETURN(bool derived, DeriveRuntime(c, store, /*in_use=*/false));
  if (!derived) {  // a cluster runtime's creation or an edit of the run wakes us; a namespaced one is polled
    ASSIGN_OR_RETURN(Action waiting, WriteStatusAndAwaitChange(c));
    const Json* runtime = FindCondition(c.status, "RuntimeReady");
    const bool namespaced = c.run.value("/spec/runtimeRef/kind"_json_pointer, std::string()) == "TrainingRuntime";
    if (namespaced && runtime && runtime->value("reason", "") == "RuntimeNotFound") return Action::RequeueAfter(poll_);
    return waiting;
  }
  ASSIGN_OR_RETURN(std::optional<Json> job, CreateTrainJob(c));
  if (!job) return WriteStatusAndAwaitChange(c);  // refused: only an edit of the TrainRun can help
  return Follow(c, *job, nullptr);
}

// Applies (or, in use, checks) the derived runtime. False when it cannot exist as the spec asks:
// the source runtime is missing, or the API server or Trainer refused the derived one.
StatusOr<bool> TrainRunReconciler::DeriveRuntime(Ctx& c, const Json& store, bool in_use) {
  auto source = SourceRuntime(c.run);
  if (!source.ok()) {
    c.Condition("RuntimeReady", false, source.status().IsNotFound() ? "RuntimeNotFound" : "RuntimeError",
                source.status().message());
    if (source.status().IsNotFound()) return false;
    return source.status();
  }
  const std::string claim = store["spec"]["volume"].value("claimName", "");
  Status applied = ApplyRuntime(c, DeriveTrainingRuntime(*source, c.run, claim, PlanCheckpointLayout(c.run, store)), in_use);
  if (Refused(applied)) {
    RefuseRuntime(c, applied);
    return false;
  }
  RETURN_IF_ERROR(applied);
  c.status["runtimeName"] = DerivedRuntimeName(c.run);
  return true;
}

// Mirrors `job` (the run's TrainJob) and its JobSet and pods into status. The derived runtime is
// checked too while the store can say what it should be, without holding the mirror back.
StatusOr<Action> TrainRunReconciler::Follow(Ctx& c, const Json& job, kube::ObjectPtr store) {
  Status runtime_check = Status::Ok();
  if (store) runtime_check = DeriveRuntime(c, *store, /*in_use=*/true).status();
  c.status["trainJobName"] = c.name;
  c.status["trainJobUID"] = job.value("/metadata/uid"_json_pointer, std::string());
  // The TrainJob's trainer and runtimeRef cannot change in place (immutable upstream).
  if (job["spec"].value("trainer", Json::object()) != BuildTrainJob(c.run)["spec"]["trainer"]) {
    c.Condition("SpecAccepted", false, "TrainerImmutable",
                "spec.trainer changed after the TrainJob was created; the running job keeps its trainer. "
                "Create a new TrainRun to run a different trainer.");
  } else {
    c.Condition("SpecAccepted", true, "Accepted", "the TrainJob matches the TrainRun");
  }
  c.Condition("TrainJobFound", true, "Found", "TrainJob " + c.name + " exists");
  c.trainjob = job;
  Mirror(c);
  SummarizeRun(c);
  // The mirror is always written (restarts, failures and Events are recorded once). An error that
  // was reported already (Ready carries its reason) is kept in the same write, so a persistent
  // error does not flip Ready each reconcile; a new one is reported once it persists (Reconcile).
  Status stopped = StopSpentTrainJob(c);
  const Status failed = stopped.ok() ? runtime_check : stopped;  // the stop's failure matters more: pods run on
  if (!failed.ok() && c.PreviousReason("Ready") == ErrorReason(failed))
    Summarize(c.status["conditions"], IsTransient(failed) ? Health::kInProgress : Health::kStalled, ErrorReason(failed),
              failed.message(), c.generation, c.now);
  RETURN_IF_ERROR(WriteStatus(c));
  RETURN_IF_ERROR(failed);
  const std::string phase = c.status.value("phase", "");
  if (phase == "Succeeded" || phase == "Failed") return Action::AwaitChange();
  return Action::RequeueAfter(poll_);
}

// The run had a TrainJob and the cache has none. The cache may lag our own create (or miss a
// TrainJob whose label was removed), so the API server is asked first. A TrainJob that is gone
// is not replaced: a new one would run the training again against the same checkpoint directory
// and start a JobSet whose restart count begins at 0. A terminal phase stays; a run that had not
// finished ends Failed. TrainJobFound=False and one Warning Event say what happened and what to do.
StatusOr<Action> TrainRunReconciler::TrainJobMissing(Ctx& c, kube::ObjectPtr store) {
  const std::string recorded = c.status.value("trainJobUID", "");
  const std::string phase_then = c.status.value("phase", "");
  if (c.PreviousReason("TrainJobFound") == "TrainJobDeleted" && (phase_then == "Succeeded" || phase_then == "Failed"))
    return WriteStatusAndAwaitChange(c);  // said already: no request per wake (a TTL-cleaned run is the usual case)
  auto live = client_.Get(res::TrainJobs(), c.ns, c.name);
  if (!live.ok() && !live.status().IsNotFound()) return live.status();
  const std::string live_uid = live.ok() ? live->value("/metadata/uid"_json_pointer, std::string()) : "";
  if (live.ok() && OwnedByRun(*live, c.uid) && (recorded.empty() || live_uid == recorded)) return Follow(c, *live, store);
  const std::string previous = c.status.value("phase", "");
  const bool terminal = previous == "Succeeded" || previous == "Failed";
  std::string message = "TrainJob " + c.name + (recorded.empty() ? "" : " (uid " + recorded + ")") + " was deleted " +
                        (terminal ? "after the run " + previous : "while the run was " + previous) + "; ";
  if (live.ok()) message += "the TrainJob of that name now (uid " + live_uid + ") is not this run's and is left alone; ";
  message += "the run is not launched again, since a new TrainJob would rerun the training against the same checkpoint "
             "directory. To run again, create a new TrainRun (or delete this one and apply it again).";
  if (c.PreviousReason("TrainJobFound") != "TrainJobDeleted")
    events_.Event(c.run, "Warning", "TrainJobDeleted", "Observe", message);
  c.Condition("TrainJobFound", false, "TrainJobDeleted", message);
  if (!terminal) c.status["phase"] = "Failed";
  c.status["runningPods"] = 0;
  return WriteStatusAndAwaitChange(c);
}

// A run whose restart budget is spent across recreated JobSets (RestartBudgetSpent): its TrainJob
// is suspended, which Trainer passes to the JobSet, which deletes the pods.
Status TrainRunReconciler::StopSpentTrainJob(Ctx& c) {
  const Json* spent = FindCondition(c.status, "MaxRestartsInEffect");
  if (!spent || spent->value("reason", "") != "SpentAcrossJobSets" || c.trainjob.value("/spec/suspend"_json_pointer, false))
    return Status::Ok();
  Json patch = {{"spec", {{"suspend", true}}}};
  RETURN_IF_ERROR(client_.Patch(res::TrainJobs(), c.ns, c.name, {kube::PatchType::kMerge}, patch.dump()).status());
  events_.Event(c.run, "Warning", "RestartBudgetSpent", "Stop", spent->value("message", ""));
  return Status::Ok();
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

// Creates the run's TrainJob. nullopt when the API server or a webhook refused it
// (SpecAccepted=False TrainJobRejected and one Event); transient errors go to the queue's backoff.
StatusOr<std::optional<Json>> TrainRunReconciler::CreateTrainJob(Ctx& c) {
  auto created = client_.Create(res::TrainJobs(), c.ns, BuildTrainJob(c.run));
  if (created.ok()) {
    events_.Event(c.run, "Normal", "CreatedTrainJob", "Create", "created TrainJob " + c.name);
    return std::optional<Json>(std::move(created).value());
  }
  // A TrainJob of that name the cache does not hold: one that is not labelled for this run (the
  // error is reported once it persists, and backs off, never a hot loop), or ours (its controller
  // reference names this run's UID), created by an earlier reconcile whose status write was lost
  // and not cached yet.
  if (created.status().IsAlreadyExists()) {
    auto existing = client_.Get(res::TrainJobs(), c.ns, c.name);
    if (existing.ok() && OwnedByRun(*existing, c.uid)) return std::optional<Json>(std::move(existing).value());
    return Status(StatusCode::kAlreadyExists, "TrainJob " + c.ns + "/" + c.name + " exists and is not controlled by this "
                  "TrainRun (uid " + c.uid + "); delete or rename one of them").SetReason("TrainJobConflict");
  }
  if (RuntimeNotYetSeenByWebhook(created.status()))
    return Status(StatusCode::kUnavailable, "Trainer's webhook has not seen TrainingRuntime " + DerivedRuntimeName(c.run) +
                  " yet: " + created.status().message()).SetReason("RuntimeNotYetSeenByWebhook");
  if (!Refused(created.status())) return created.status();  // transient: the queue backs off
  if (c.PreviousReason("SpecAccepted") != "TrainJobRejected")
    events_.Event(c.run, "Warning", "TrainJobRejected", "Create", created.status().message());
  c.Condition("SpecAccepted", false, "TrainJobRejected", created.status().message());
  return std::optional<Json>();
}

}  // namespace ckpt::controllers
