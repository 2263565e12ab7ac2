// TrainRun progress, decided purely from what the upstream controllers and the (simulated or real)
// kubelets report: the TrainJob's conditions and suspend flag, the JobSet's restart count and
// failure policy, and the trainer pods of the run. The phase is never claimed ahead of reality:
// Pending until every trainer pod of the current attempt runs and is Ready, Restarting from a pod
// failure or gang restart until the new attempt's pods run again, Suspended, Succeeded, Failed.
// Pod failures are read off the failed pods (node, exit code, reason, message) before JobSet
// deletes them on restart. It reads the JobSet and pods as the cache transforms SlimJobSet and
// SlimPod (ckpt/controllers/trainrun.h) leave them. No I/O.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ckpt/kube/store.h"

namespace ckpt::controllers {

using Json = nlohmann::json;

// JobSet's label with the restart attempt a Job or pod belongs to.
inline constexpr char kRestartAttemptLabel[] = "jobset.sigs.k8s.io/restart-attempt";

// One trainer pod that failed: time (its container's finishedAt), job, pod, node, exitCode,
// reason, message.
using PodFailure = Json;

struct RunProgress {
  std::string phase;                          // Pending|Running|Restarting|Suspended|Succeeded|Failed
  int restarts = 0;                           // gang restarts so far (JobSet status.restarts)
  std::optional<int> effective_max_restarts;  // what the running JobSet enforces, once it exists
  int running_pods = 0;                       // trainer pods of the current attempt running and Ready
  int expected_pods = 0;                      // trainer pods an attempt has (0 before the JobSet)
  std::vector<PodFailure> new_failures;       // failed pods not yet recorded, oldest first
};

// `trainjob` is the run's TrainJob, `jobset` its slimmed JobSet (null before Trainer creates it),
// `pods` the run's slimmed pods, `last_failure` status.lastFailure (null if none). A failure is
// new when it is later than `last_failure` (time, then pod name).
RunProgress ObserveProgress(const Json& trainjob, const kube::ObjectPtr& jobset,
                            const std::vector<kube::ObjectPtr>& pods, const Json& last_failure);

// One line for Events and messages: "pod P on node N exited with code 137 (OOMKilled): msg".
std::string DescribeFailure(const PodFailure& failure);

}  // namespace ckpt::controllers
