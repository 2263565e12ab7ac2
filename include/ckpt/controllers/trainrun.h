// TrainRunReconciler: runs one TrainRun as a Kubeflow Trainer v2 TrainJob on its CheckpointStore.
//   - Waits (phase WaitingForStore, StoreReady=False) until the store is Ready.
//   - Server-side-applies the derived per-run TrainingRuntime (controllers/trainrun_plan.h) until
//     a TrainJob uses it; after that, changed inputs are reported (RuntimeReady reason
//     ChangeNotApplied), never forced: the running JobSet's failurePolicy cannot change, and an
//     in-use runtime is never deleted. The cluster runtime is never edited.
//   - Creates the TrainJob once. Trainer changes it cannot take in place are refused with the
//     SpecAccepted=False condition, never silently ignored.
//   - Mirrors progress from real state (controllers/trainrun_progress.h): Pending until every
//     trainer pod runs, Restarting from a pod failure until the new attempt runs, Suspended,
//     Succeeded, Failed; restarts and the limit the running JobSet enforces; pod failures with
//     node, exit code and reason. Events for each pod failure, restart and phase transition.
// Owned objects carry owner references, so deleting the TrainRun removes them (never the store).
// Every read comes from an informer cache (TrainRunCaches), so a run in steady state costs the API
// server nothing: JobSet and pod changes arrive by watch, and the derived runtime is re-applied
// only when what it is derived from changes (controllers/applied_hash.h).
#pragma once

#include <chrono>
#include <memory>
#include <optional>

#include "ckpt/kube/store.h"
#include "ckpt/runtime/events.h"
#include "ckpt/runtime/reconciler.h"

namespace ckpt::controllers {

struct CheckpointLayout;
class ErrorStreaks;

// Index function: TrainRun -> "<kind>/<runtime name>" of its runtimeRef.
std::vector<std::string> TrainRunRuntimeKey(const kube::Json& trainrun);
inline constexpr char kTrainRunsByRuntime[] = "by-runtime";
// On the TrainJob and runtime a TrainRun owns (value: the run's name).
inline constexpr char kTrainRunLabel[] = "trainops.io/trainrun";

// The informer caches a TrainRunReconciler reads.
struct TrainRunCaches {
  kube::Store trainruns;         // indexed kTrainRunsByStore and kTrainRunsByRuntime
  kube::Store stores;            // CheckpointStores
  kube::Store trainjobs;         // TrainJobs labelled kTrainRunLabel
  kube::Store jobsets;           // JobSets, slimmed by SlimJobSet
  kube::Store cluster_runtimes;  // ClusterTrainingRuntimes
  kube::Store derived_runtimes;  // TrainingRuntimes labelled kTrainRunLabel
  kube::Store pods;              // trainer pods labelled kTrainRunLabel, slimmed by SlimPod, indexed kPodsByRun
};

// Cache transforms: only what the reconciler reads, so caching a JobSet or pod costs a few
// hundred bytes. JobSets keep identity, owners, failurePolicy.maxRestarts, the trainer replicated
// jobs' sizes and status.restarts; pods keep identity, the run/attempt/job labels, node, phase,
// Ready and the trainer container's termination.
void SlimJobSet(kube::Json& jobset);
void SlimPod(kube::Json& pod);
// Handler mapping and index function: a pod labelled kTrainRunLabel -> its TrainRun's key.
std::vector<std::string> TrainRunOfPod(const kube::Json& pod);
inline constexpr char kPodsByRun[] = "by-run";

struct RunProgress;
// Handler mapping: a JobSet created for one of our TrainJobs -> the TrainRun's key (same name).
std::vector<std::string> TrainRunOfJobSet(const kube::Json& jobset);

class TrainRunReconciler final : public runtime::Reconciler {
 public:
  TrainRunReconciler(kube::KubeClient& client, TrainRunCaches caches, runtime::EventRecorder& events, Clock& clock,
                     std::chrono::milliseconds poll = std::chrono::seconds(30));
  StatusOr<runtime::Action> Reconcile(const std::string& key) override;

 private:
  struct Ctx;
  StatusOr<runtime::Action> Converge(Ctx& c, const std::string& key);
  kube::ObjectPtr ObserveStore(Ctx& c);
  StatusOr<runtime::Action> Launch(Ctx& c, const kube::Json& store);
  StatusOr<runtime::Action> Follow(Ctx& c, const kube::Json& trainjob, kube::ObjectPtr store);
  StatusOr<runtime::Action> TrainJobMissing(Ctx& c, kube::ObjectPtr store);
  StatusOr<runtime::Action> NotOurTrainJob(Ctx& c, const kube::Json& trainjob, kube::ObjectPtr store);
  StatusOr<bool> DeriveRuntime(Ctx& c, const kube::Json& store, bool in_use);
  StatusOr<kube::Json> SourceRuntime(const kube::Json& trainrun);
  Status ApplyRuntime(Ctx& c, kube::Json derived, bool in_use);
  void RefuseRuntime(Ctx& c, const Status& refusal);
  StatusOr<std::optional<kube::Json>> CreateTrainJob(Ctx& c);
  void ReportLayout(Ctx& c, const CheckpointLayout& layout);
  void Mirror(Ctx& c);
  int CountRestarts(Ctx& c, const kube::ObjectPtr& jobset, int jobset_restarts);
  void ReportRestart(Ctx& c, int restarts, int max_restarts);
  void MirrorRestartLimit(Ctx& c, const RunProgress& progress);
  bool RestartBudgetSpent(Ctx& c, const RunProgress& progress, int restarts);
  Status StopSpentTrainJob(Ctx& c);
  void SummarizeRun(Ctx& c);
  void ReportPersistentError(Ctx& c, const Status& error);
  Status WriteStatus(Ctx& c);
  StatusOr<runtime::Action> WriteStatusAndAwaitChange(Ctx& c);

  // Constant after construction.
  kube::KubeClient& client_;
  const TrainRunCaches caches_;
  runtime::EventRecorder& events_;
  Clock& clock_;
  const std::chrono::milliseconds poll_;

  const std::shared_ptr<ErrorStreaks> errors_;  // consecutive failed reconciles; thread-safe
};

}  // namespace ckpt::controllers
