// WorkQueue: the reconcile queue, with all queue semantics in one place (client-go workqueue and
// kube-rs runner): a key is queued at most once; a key being processed is never handed to a
// second worker, and re-adding it meanwhile queues it again for after Done(); AddAfter keeps the
// earliest deadline; AddRateLimited applies per-key exponential backoff until Forget(). Keys are
// strings ("namespace/name"). All methods are thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "ckpt/common/clock.h"
#include "ckpt/common/backoff.h"

namespace ckpt::runtime {

// Observes queue activity (Prometheus workqueue_* metrics). Called with no queue lock held.
class QueueObserver {
 public:
  virtual ~QueueObserver() = default;
  virtual void OnAdd() {}
  virtual void OnDepth(size_t) {}
  virtual void OnRetry() {}
  virtual void OnLatency(std::chrono::nanoseconds queued_for) { (void)queued_for; }
};

class WorkQueue {
 public:
  explicit WorkQueue(Clock& clock, ExponentialBackoff backoff = ReconcileBackoff(),
                     QueueObserver* observer = nullptr);

  // Queues `key` now (no-op if already queued and not yet handed out).
  void Add(const std::string& key);
  // Queues `key` once `delay` has passed; if it is already waiting, the earlier deadline wins.
  void AddAfter(const std::string& key, std::chrono::nanoseconds delay);
  // Queues `key` after its per-key backoff; each call without Forget() doubles the delay.
  void AddRateLimited(const std::string& key);
  // Clears the key's failure count (after a success or a terminal error).
  void Forget(const std::string& key);
  uint32_t NumRequeues(const std::string& key) const;

  // Blocks until a key is ready, the queue shuts down, or `stop` is requested (then nullopt).
  // The caller owns the key until Done(key).
  std::optional<std::string> Get(std::stop_token stop);
  void Done(const std::string& key);
  // Like Get() but never blocks: a due key, or nullopt.
  std::optional<std::string> TryGet();

  // Wakes all Get() callers, which then return nullopt; later Adds are ignored.
  void ShutDown();
  bool shutting_down() const;
  size_t Len() const;  // ready keys

 private:
  void PromoteDueLocked(Clock::MonoTime now);
  std::string PopLocked(std::unique_lock<std::mutex>& l);
  void EnqueueLocked(const std::string& key);

  // Constant after construction.
  Clock& clock_;
  const ExponentialBackoff backoff_;
  QueueObserver* const observer_;

  // State below is protected by mu_.
  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  std::deque<std::string> ready_;
  std::unordered_set<std::string> queued_;       // in ready_
  std::unordered_set<std::string> processing_;   // handed out, not Done
  std::unordered_set<std::string> dirty_;        // re-added while processing
  std::unordered_map<std::string, Clock::MonoTime> enqueued_at_;
  std::map<std::string, Clock::MonoTime> waiting_;           // key -> deadline
  std::set<std::pair<Clock::MonoTime, std::string>> timers_;  // (deadline, key)
  std::unordered_map<std::string, uint32_t> failures_;
  uint64_t wake_gen_ = 0;  // bumped when a new, possibly earlier, deadline arrives
  bool shutdown_ = false;
};

}  // namespace ckpt::runtime
