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

class TrainRunReconciler final : public runtime::Reconciler {
 public:
  TrainRunReconciler(kube::KubeClient& client, kube::Store trainruns, kube::Store stores, runtime::EventRecorder& events,
                     Clock& clock, std::chrono::milliseconds poll = std::chrono::seconds(30));
  StatusOr<runtime::Action> Reconcile(const std::string& key) override;

 private:
  struct Ctx;
  StatusOr<kube::Json> SourceRuntime(const kube::Json& trainrun);
  Status ApplyRuntime(Ctx& c, const kube::Json& derived);
  Status EnsureTrainJob(Ctx& c);
  Status Mirror(Ctx& c);
  Status WriteStatus(Ctx& c);

  kube::KubeClient& client_;
  kube::Store trainruns_, stores_;
  runtime::EventRecorder& events_;
  Clock& clock_;
  const std::chrono::milliseconds poll_;
};

}  // namespace ckpt::controllers
