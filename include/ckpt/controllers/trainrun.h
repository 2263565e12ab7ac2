// TrainRunReconciler: runs one TrainRun as a Kubeflow Trainer v2 TrainJob on its CheckpointStore.
//   - Waits (phase WaitingForStore, StoreReady=False) until the store is Ready.
//   - Server-side-applies the derived per-run TrainingRuntime (controllers/trainrun_plan.h), so
//     edits to maxRestarts or to the source runtime reach it (replacing it when JobSet's immutable
//     failurePolicy changes); the cluster runtime is never edited.
//   - Creates the TrainJob once. Trainer changes it cannot take in place are refused with the
//     SpecAccepted=False condition, never silently ignored.
//   - Mirrors progress: restarts from the JobSet's status, Succeeded/Failed from the TrainJob's
//     conditions, with an Event per restart and for the final outcome.
// Owned objects carry owner references, so deleting the TrainRun removes them (never the store).
// Every read comes from an informer cache (TrainRunCaches), so a run in steady state costs the API
// server nothing: the JobSet's restarts arrive by watch, and the derived runtime is re-applied
// only when what it is derived from changes (controllers/applied_hash.h).
#pragma once

#include <chrono>

#include "ckpt/kube/store.h"
#include "ckpt/runtime/events.h"
#include "ckpt/runtime/reconciler.h"

namespace ckpt::controllers {

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
};

// Cache transform for JobSets: only what Mirror reads (identity, owners, status.restarts), so
// caching every JobSet in the cluster costs a few hundred bytes each.
void SlimJobSet(kube::Json& jobset);
// Handler mapping: a JobSet created for one of our TrainJobs -> the TrainRun's key (same name).
std::vector<std::string> TrainRunOfJobSet(const kube::Json& jobset);

class TrainRunReconciler final : public runtime::Reconciler {
 public:
  TrainRunReconciler(kube::KubeClient& client, TrainRunCaches caches, runtime::EventRecorder& events, Clock& clock,
                     std::chrono::milliseconds poll = std::chrono::seconds(30));
  StatusOr<runtime::Action> Reconcile(const std::string& key) override;

 private:
  struct Ctx;
  StatusOr<kube::Json> SourceRuntime(const kube::Json& trainrun);
  Status ApplyRuntime(Ctx& c, kube::Json derived);
  enum class JobState { kReady, kRejected };
  StatusOr<JobState> EnsureTrainJob(Ctx& c);
  void Mirror(Ctx& c);
  Status WriteStatus(Ctx& c);

  kube::KubeClient& client_;
  const TrainRunCaches caches_;
  runtime::EventRecorder& events_;
  Clock& clock_;
  const std::chrono::milliseconds poll_;
};

}  // namespace ckpt::controllers
