// The summary conditions both kinds carry for people (`kubectl get`, `kubectl wait
// --for=condition=Ready`) and for machines that judge health with kstatus (Flux, kpt, Argo's
// kstatus-based checks; sigs.k8s.io/cli-utils/pkg/kstatus/status): Ready always, and the
// abnormal-true conditions Reconciling (work in progress) and Stalled (needs a human) only while
// they are True, as kstatus' README recommends. With status.observedGeneration this makes kstatus
// report Current, InProgress or Failed (the table in docs/status.md is computed by the real
// library). Also the persistent-error report both reconcilers share: an error that outlived a
// retry reaches Ready with the API server's or FSx's reason and message, and one Warning Event
// per new reason; the next successful reconcile sets the summary from real state again.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "ckpt/common/status.h"
#include "ckpt/kube/client.h"

namespace ckpt::controllers {

using Json = nlohmann::json;

enum class Health {
  kCurrent,     // converged: Ready=True
  kInProgress,  // working toward the spec: Ready=False, Reconciling=True
  kStalled,     // cannot progress without a human (a refusal, a rejected spec, a failed run): Ready=False, Stalled=True
};

// Writes `status` to the status subresource of `resource` ns/name as a merge patch from
// `written` (what the API server holds), then moves `written` on, so that a second write in one
// reconcile patches only what changed since the first. Nothing is sent when nothing changed.
Status PatchStatus(kube::KubeClient& client, const kube::Resource& resource, const std::string& ns,
                   const std::string& name, Json& written, const Json& status);

// Sets Ready, Reconciling and Stalled in `conditions` for `health`, with `reason` and `message`.
void Summarize(Json& conditions, Health health, const std::string& reason, const std::string& message,
               int64_t generation, const std::string& now);

// The condition `type` in status.conditions, or null.
const Json* FindCondition(const Json& status, const std::string& type);

// Removes the condition `type`, if present.
void RemoveCondition(Json& conditions, const std::string& type);

// Throttling, 5xx, timeouts: retrying the same request can succeed without anyone acting.
bool IsTransient(const Status& s);

// The reason an error is reported with: FSx's or the API server's own (e.g. AccessDeniedException,
// Forbidden), else the status code's name.
std::string ErrorReason(const Status& s);

// Consecutive failed reconciles per object key. Thread-safe.
class ErrorStreaks {
 public:
  // Records one reconcile's outcome for `key`; returns how many failed in a row (0 on success).
  int Record(const std::string& key, bool ok);

 private:
  std::mutex mu_;
  std::map<std::string, int> streaks_;  // guarded by mu_
};

}  // namespace ckpt::controllers
