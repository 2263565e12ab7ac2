// Wiring of informers, handlers, reconcilers and controllers (see operator.h).
#include "operator.h"

#include <algorithm>

#include "ckpt/runtime/handlers.h"

namespace ckpt::operator_main {
namespace res = kube::resources;

Operator::Operator(const OperatorOptions& o, kube::KubeClient& client, aws::FsxClient& fsx, runtime::Metrics& metrics,
                   Clock& clock)
    : fsx_cache_(fsx, clock, {o.fsx_poll, o.fsx_resync}),
      events_(client, clock, "ckpt-operator", o.identity),
      stores_(client, {res::CheckpointStores(), ""}, clock, {.namespaces = o.namespaces}),
      trainruns_(client, {res::TrainRuns(), ""}, clock,
                 {.indexers = {{controllers::kTrainRunsByStore, controllers::TrainRunStoreKey},
                               {controllers::kTrainRunsByRuntime, controllers::TrainRunRuntimeKey}},
                  .namespaces = o.namespaces}),
      claims_(client, {res::PersistentVolumeClaims(), "", controllers::kStoreLabel}, clock, {.namespaces = o.namespaces}),
      volumes_(client, {res::PersistentVolumes(), "", controllers::kStoreLabel}, clock),
      trainjobs_(client, {res::TrainJobs(), "", controllers::kTrainRunLabel}, clock, {.namespaces = o.namespaces}),
      jobsets_(client, {res::JobSets(), ""}, clock, {.transform = controllers::SlimJobSet, .namespaces = o.namespaces}),
      cluster_runtimes_(client, {res::ClusterTrainingRuntimes(), ""}, clock),
      derived_runtimes_(client, {res::TrainingRuntimes(), "", controllers::kTrainRunLabel}, clock,
                        {.namespaces = o.namespaces}),
      pods_(client, {res::Pods(), "", controllers::kTrainRunLabel}, clock,
            {.indexers = {{controllers::kPodsByRun, controllers::TrainRunOfPod}},
             .transform = controllers::SlimPod,
             .namespaces = o.namespaces}),
      store_reconciler_(client, {stores_.store(), trainruns_.store(), claims_.store(), volumes_.store()}, fsx, fsx_cache_,
                        events_, clock,
                        {o.fsx_poll, o.fsx_resync, o.fsx_refusal_retry}),
      trainrun_reconciler_(client,
                           {trainruns_.store(), stores_.store(), trainjobs_.store(), jobsets_.store(),
                            cluster_runtimes_.store(), derived_runtimes_.store(), pods_.store()},
                           events_, clock, o.trainrun_poll),
      store_controller_({"checkpointstore", o.store_workers}, store_reconciler_, clock, &metrics),
      trainrun_controller_({"trainrun", o.trainrun_workers}, trainrun_reconciler_, clock, &metrics),
      run_stores_(Enabled(o, "checkpointstore")),
      run_trainruns_(Enabled(o, "trainrun")) {
  if (run_stores_) AddStoreHandlers();
  if (run_trainruns_) AddTrainRunHandlers();
  stores_.AddHandler(runtime::CountPhases(metrics, "CheckpointStore"));
  trainruns_.AddHandler(runtime::CountPhases(metrics, "TrainRun"));
  stores_.AddHandler(runtime::GaugeStoreReady(metrics));
  trainruns_.AddHandler(runtime::GaugeRunRestarts(metrics));
}

bool Operator::Enabled(const OperatorOptions& o, const std::string& controller) {
  return std::find(o.controllers.begin(), o.controllers.end(), controller) != o.controllers.end();
}

// CheckpointStore: its own changes, its claim's (binding), its PV's, and, while it is being
// deleted, its users' (deletion waits for them).
void Operator::AddStoreHandlers() {
  auto& store_queue = store_controller_.queue();
  stores_.AddHandler(runtime::EnqueueSelfUnlessStatusOnly(store_queue));
  fsx_cache_.SetWake([&store_queue](const std::string& key) { store_queue.Add(key); });
  claims_.AddHandler(runtime::EnqueueOwner(store_queue, "trainops.io", "CheckpointStore"));
  volumes_.AddHandler(runtime::EnqueueMapped(store_queue, controllers::StoreOfVolume));
  trainruns_.AddHandler(runtime::EnqueueMapped(store_queue, controllers::DeletingStoreOf(stores_.store())));
}

// TrainRun: its own changes, its TrainJob's, JobSet's, pods' and derived runtime's, its store's (Ready
// wakes waiting runs), and its source runtime's.
void Operator::AddTrainRunHandlers() {
  auto& run_queue = trainrun_controller_.queue();
  kube::Store runs = trainruns_.store();
  trainruns_.AddHandler(runtime::EnqueueSelfUnlessStatusOnly(run_queue));  // our own status writes wake no one
  trainjobs_.AddHandler(runtime::EnqueueOwner(run_queue, "trainops.io", "TrainRun"));
  derived_runtimes_.AddHandler(runtime::EnqueueOwner(run_queue, "trainops.io", "TrainRun"));
  jobsets_.AddHandler(runtime::EnqueueMapped(run_queue, controllers::TrainRunOfJobSet));
  pods_.AddHandler(runtime::EnqueueMapped(run_queue, controllers::TrainRunOfPod));
  stores_.AddHandler(runtime::EnqueueMapped(run_queue, [runs](const kube::Json& store) {
    std::vector<std::string> keys;
    for (const auto& tr : runs.ByIndex(controllers::kTrainRunsByStore, kube::KeyOf(store))) keys.push_back(kube::KeyOf(*tr));
    return keys;
  }));
  cluster_runtimes_.AddHandler(runtime::EnqueueMapped(run_queue, [runs](const kube::Json& rt) {
    std::vector<std::string> keys;
    const std::string index_value = "ClusterTrainingRuntime/" + rt["metadata"].value("name", "");
    for (const auto& tr : runs.ByIndex(controllers::kTrainRunsByRuntime, index_value)) keys.push_back(kube::KeyOf(*tr));
    return keys;
  }));
}

// Only the caches the enabled controllers read: without the TrainRun controller, the operator
// needs no Kubeflow Trainer or JobSet CRDs in the cluster.
void Operator::Register(runtime::Manager& manager) {
  manager.AddInformer(&stores_);
  manager.AddInformer(&trainruns_);
  if (run_stores_) {
    manager.AddInformer(&claims_);
    manager.AddInformer(&volumes_);
    manager.AddController(&store_controller_);
    manager.AddRunnable([this](std::stop_token stop) { fsx_cache_.Run(stop); });
  }
  if (run_trainruns_) {
    for (auto* i : {&trainjobs_, &jobsets_, &cluster_runtimes_, &derived_runtimes_, &pods_}) manager.AddInformer(i);
    manager.AddController(&trainrun_controller_);
  }
}

}  // namespace ckpt::operator_main
