// The reconciler contract (kube-rs / controller-runtime): a reconcile takes only the object key
// ("namespace/name") and returns what to do next; it must be safe to run any number of times.
// Errors go to ErrorPolicy, which picks the retry delay; terminal errors (Status::terminal())
// are counted and logged but never retried until the object changes again.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "ckpt/common/status.h"

namespace ckpt::runtime {

class Action {
 public:
  // Reconcile again after `d` even if nothing changes (e.g. to poll an FSx lifecycle).
  static Action RequeueAfter(std::chrono::nanoseconds d) { return Action(d); }
  // Nothing to do until a watched object changes.
  static Action AwaitChange() { return Action(std::nullopt); }

  const std::optional<std::chrono::nanoseconds>& requeue_after() const { return requeue_after_; }
  bool operator==(const Action&) const = default;

 private:
  explicit Action(std::optional<std::chrono::nanoseconds> d) : requeue_after_(d) {}
  std::optional<std::chrono::nanoseconds> requeue_after_;
};

class Reconciler {
 public:
  virtual ~Reconciler() = default;
  // REQUIRES: never called concurrently for the same key (the controller guarantees it).
  virtual StatusOr<Action> Reconcile(const std::string& key) = 0;
  // The delay before retrying after `error`; nullopt = the queue's per-key exponential backoff.
  // The default honours a server-given Retry-After.
  virtual std::optional<std::chrono::nanoseconds> ErrorPolicy(const Status& error) {
    if (error.retry_after()) return *error.retry_after();
    return std::nullopt;
  }
};

}  // namespace ckpt::runtime
