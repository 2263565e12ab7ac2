// TrainRun reconcile loop (see include/ckpt/controllers/trainrun.h).
#include "ckpt/controllers/trainrun.h"

#include "controllers/applied_hash.h"
#include "controllers/store_plan.h"
#include "controllers/trainrun_plan.h"

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
};

std::vector<std::string> TrainRunRuntimeKey(const Json& tr) {
  return {tr.value("/spec/runtimeRef/kind"_json_pointer, std::string("ClusterTrainingRuntime")) + "/" +
          tr.value("/spec/runtimeRef/name"_json_pointer, std::string())};
}

void SlimJobSet(Json& jobset) {
  Json slim = {{"apiVersion", jobset.value("apiVersion", "")}, {"kind", jobset.value("kind", "")}};
  const Json md = jobset.value("metadata", Json::object());
  for (const char* k : {"name", "namespace", "resourceVersion", "ownerReferences"})
    if (md.contains(k)) slim["metadata"][k] = md[k];
  slim["status"]["restarts"] = jobset.value("/status/restarts"_json_pointer, 0);
  jobset = std::move(slim);
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
  c.status["checkpointDir"] = CheckpointDir(c.run);
  if (store_phase != "Ready") {
    c.Condition("StoreReady", false, store ? "StoreNotReady" : "StoreNotFound",
                store ? "CheckpointStore " + store_name + " is " + (store_phase.empty() ? "not ready" : store_phase)
                      : "CheckpointStore " + store_name + " does not exist");
    if (!c.status.contains("trainJobName")) c.status["phase"] = "WaitingForStore";
    RETURN_IF_ERROR(WriteStatus(c));
    return Action::AwaitChange();  // the store's changes wake us (index by store)
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
  RETURN_IF_ERROR(ApplyRuntime(c, DeriveTrainingRuntime(*source, c.run, (*store)["spec"]["volume"].value("claimName", ""))));
  c.status["runtimeName"] = DerivedRuntimeName(c.run);
  c.Condition("RuntimeReady", true, "Derived", "TrainingRuntime " + DerivedRuntimeName(c.run) + " derived from " +
                                                   TrainRunRuntimeKey(c.run)[0]);
  ASSIGN_OR_RETURN(JobState job, EnsureTrainJob(c));
  if (job == JobState::kRejected) {
    RETURN_IF_ERROR(WriteStatus(c));
    return Action::AwaitChange();  // only an edit of the TrainRun can help, and an edit wakes us
  }
  Mirror(c);
  RETURN_IF_ERROR(WriteStatus(c));
  std::string phase = c.status.value("phase", "");
  if (phase == "Succeeded" || phase == "Failed") return Action::AwaitChange();
  return Action::RequeueAfter(poll_);
}

// Server-side-applies the derived runtime. JobSet's schema makes failurePolicy immutable, so a
// changed maxRestarts replaces the runtime under the same name (the TrainJob's reference holds;
// JobSets created from now on get the new policy).
Status TrainRunReconciler::ApplyRuntime(Ctx& c, Json derived) {
  const std::string name = DerivedRuntimeName(c.run);
  if (StampAndCheckApplied(derived, caches_.derived_runtimes.Get(kube::KeyOf(c.ns, name))))
    return Status::Ok();  // applied before from the same inputs
  kube::PatchOptions apply{kube::PatchType::kApply, "ckpt-operator", true, ""};
  Status s = client_.Patch(res::TrainingRuntimes(), c.ns, name, apply, derived.dump()).status();
  if (!s.IsInvalid() || s.message().find("immutable") == std::string::npos) return s;
  Status del = client_.Delete(res::TrainingRuntimes(), c.ns, name);
  if (!del.ok() && !del.IsNotFound()) return del;
  RETURN_IF_ERROR(client_.Create(res::TrainingRuntimes(), c.ns, derived).status());
  events_.Event(c.run, "Normal", "ReplacedRuntime", "Update",
                "replaced TrainingRuntime " + name + " (its JobSet failurePolicy is immutable): maxRestarts " +
                    std::to_string(c.run.value("/spec/resilience/maxRestarts"_json_pointer, 0)));
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
      c.Condition("SpecAccepted", false, "TrainJobRejected", created.status().message());
      events_.Event(c.run, "Warning", "TrainJobRejected", "Create", created.status().message());
      if (created.status().IsInvalid()) return JobState::kRejected;
      return created.status();
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

// Restarts from the JobSet (same name as the TrainJob, when a Trainer controller created it);
// the outcome from the TrainJob's Complete/Failed conditions.
void TrainRunReconciler::Mirror(Ctx& c) {
  const Json& job = c.trainjob;
  kube::ObjectPtr jobset = caches_.jobsets.Get(kube::KeyOf(c.ns, c.name));
  int restarts = jobset ? jobset->value("/status/restarts"_json_pointer, 0) : 0;
  int before = c.status.value("restarts", 0);
  c.status["restarts"] = restarts;
  std::string outcome;
  for (const auto& cond : job.value("/status/conditions"_json_pointer, Json::array()))
    if (cond.value("status", "") == "True" && (cond.value("type", "") == "Complete" || cond.value("type", "") == "Failed"))
      outcome = cond.value("type", "");
  std::string phase = outcome == "Complete" ? "Succeeded" : outcome == "Failed" ? "Failed"
                      : restarts > before   ? "Restarting"
                                            : "Running";
  if (restarts > before)
    events_.Event(c.run, "Warning", "Restarted", "Restart",
                  "restart " + std::to_string(restarts) + " of " + std::to_string(c.status.value("maxRestarts", 0)) +
                      "; training resumes from " + c.status.value("checkpointDir", ""));
  if (phase != c.status.value("phase", "") && (phase == "Succeeded" || phase == "Failed"))
    events_.Event(c.run, phase == "Succeeded" ? "Normal" : "Warning", phase, "Complete",
                  "TrainJob " + c.name + " " + (phase == "Succeeded" ? "succeeded" : "failed") + " after " +
                      std::to_string(restarts) + " restarts");
  c.status["phase"] = phase;
}

Status TrainRunReconciler::WriteStatus(Ctx& c) {
  c.status["observedGeneration"] = c.generation;
  if (c.status == c.original) return Status::Ok();
  return client_.Patch(res::TrainRuns(), c.ns, c.name, {kube::PatchType::kMerge, "", false, "status"},
                       Json{{"status", c.status}}.dump()).status();
}

}  // namespace ckpt::controllers
