// Operator: the CheckpointStore and TrainRun controllers wired to shared informers, registered on
// a Manager. One cache per resource serves both controllers (TrainRuns carry both the by-store
// and the by-runtime index), so each object is held once however many controllers read it.
// Watches: CheckpointStores, TrainRuns, owned PVCs, TrainJobs, derived TrainingRuntimes and trainer
// pods (label-selected; pods and JobSets slimmed) in the watched namespaces, and, cluster-wide,
// the stores' PVs (label-selected) and ClusterTrainingRuntimes (edits reach the runs using them).
#pragma once

#include <string>
#include <vector>

#include "ckpt/aws/fsx_client.h"
#include "ckpt/controllers/checkpoint_store.h"
#include "ckpt/controllers/trainrun.h"
#include "ckpt/kube/informer.h"
#include "ckpt/runtime/controller.h"
#include "ckpt/runtime/events.h"
#include "ckpt/runtime/manager.h"
#include "controllers/fsx_cache.h"
#include "options.h"

namespace ckpt::operator_main {

class Operator {
 public:
  Operator(const OperatorOptions& options, kube::KubeClient& client, aws::FsxClient& fsx, runtime::Metrics& metrics,
           Clock& clock);
  // Adds the informers and controllers to `manager`. REQUIRES: before manager.Run().
  void Register(runtime::Manager& manager);

 private:
  static bool Enabled(const OperatorOptions& o, const std::string& controller);
  void AddStoreHandlers();
  void AddTrainRunHandlers();

  controllers::FsxCache fsx_cache_;
  runtime::KubeEventRecorder events_;
  kube::Informer stores_, trainruns_, claims_, volumes_, trainjobs_, jobsets_, cluster_runtimes_, derived_runtimes_,
      pods_;
  controllers::CheckpointStoreReconciler store_reconciler_;
  controllers::TrainRunReconciler trainrun_reconciler_;
  runtime::Controller store_controller_, trainrun_controller_;
  const bool run_stores_, run_trainruns_;
};

}  // namespace ckpt::operator_main
