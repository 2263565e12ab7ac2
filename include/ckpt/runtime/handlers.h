// Event handlers that map informer changes to reconcile keys (controller-runtime's
// EnqueueRequestForObject / EnqueueRequestForOwner / EnqueueRequestsFromMapFunc), and one that
// keeps the object gauges (per phase, and per object for alerts that name it).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "ckpt/kube/store.h"
#include "ckpt/runtime/metrics.h"
#include "ckpt/runtime/work_queue.h"

namespace ckpt::runtime {

// Enqueues the changed object's own key.
kube::EventHandler EnqueueSelf(WorkQueue& queue);

// Enqueues the changed object's own key unless only its status changed (resourceVersion and
// managedFields aside): a controller's own status writes do not wake it again. Like
// controller-runtime's GenerationChangedPredicate, except that metadata changes (finalizers,
// labels, deletion) still count.
kube::EventHandler EnqueueSelfUnlessStatusOnly(WorkQueue& queue);
// Enqueues the controlling owner (ownerReferences[].controller == true) of the changed object when
// that owner has `owner_kind` in `owner_group` ("" for core).
kube::EventHandler EnqueueOwner(WorkQueue& queue, std::string owner_group, std::string owner_kind);

// Enqueues whatever keys `map` returns for the changed object (e.g. the TrainRuns using a store).
kube::EventHandler EnqueueMapped(WorkQueue& queue, std::function<std::vector<std::string>(const kube::Json&)> map);

// Keeps ckpt_objects{kind,phase} equal to the cache's objects counted by status.phase.
kube::EventHandler CountPhases(Metrics& metrics, std::string kind);

// Keeps ckpt_checkpointstore_ready{namespace,name} equal to each cached store's Ready condition.
kube::EventHandler GaugeStoreReady(Metrics& metrics);

// Keeps ckpt_trainrun_restarts / ckpt_trainrun_max_restarts for each TrainRun that has not
// finished (the budget: status.effectiveMaxRestarts, else spec.resilience.maxRestarts).
kube::EventHandler GaugeRunRestarts(Metrics& metrics);

}  // namespace ckpt::runtime
