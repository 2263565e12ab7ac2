// Pure planning for the TrainRun controller: derive the per-run TrainingRuntime from the
// referenced (Cluster)TrainingRuntime and build the TrainJob that uses it. The derived runtime
// carries everything run-specific (JobSet failurePolicy.maxRestarts, the store's claim mounted at
// the file system root, /dev/shm as a memory emptyDir, placement, CHECKPOINT_DIR and DATA_DIR from
// checkpoint_layout.h),
// because its JobSet template has one shape across Trainer v2.1-v2.3 while the TrainJob's
// override field was renamed. The shared cluster runtime is never edited. No I/O.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "ckpt/common/status.h"
#include "controllers/checkpoint_layout.h"

namespace ckpt::controllers {

using Json = nlohmann::json;

// The trainer container's name in the upstream runtimes and its ancestor label.
inline constexpr char kTrainerContainer[] = "node";
inline constexpr char kAncestorLabel[] = "trainer.kubeflow.org/trainjob-ancestor-step";
// The pod volume that mounts the store's claim.
inline constexpr char kStoreVolume[] = "fsx";

// Whether a replicated job of a runtime's JobSet template runs the trainer (by Trainer's ancestor
// label, or the upstream runtimes' job name).
bool IsTrainerJob(const Json& replicated_job);

// The derived runtime's name: "<trainrun>-runtime" (shortened with a hash past 63 characters).
std::string DerivedRuntimeName(const Json& trainrun);

// The namespaced TrainingRuntime for `trainrun`, derived from `source` (a ClusterTrainingRuntime or
// TrainingRuntime), mounting `claim_name` as `layout` says. Owned by the TrainRun.
Json DeriveTrainingRuntime(const Json& source, const Json& trainrun, const std::string& claim_name,
                           const CheckpointLayout& layout);

// The TrainJob that runs `trainrun` on its derived runtime. Owned by the TrainRun.
Json BuildTrainJob(const Json& trainrun);

// Whether Trainer's TrainJob webhook refused a TrainJob because its runtime was not found. The
// webhook looks the runtime up in its informer cache (ValidateObjects in Trainer's
// pkg/runtime/core/trainingruntime.go), which can lag the derived runtime this operator has just
// created: under load the create is denied with "... must be created before the TrainJob is
// created" although the runtime exists. Retried with backoff, never reported as a refusal.
bool RuntimeNotYetSeenByWebhook(const Status& create_error);

}  // namespace ckpt::controllers
