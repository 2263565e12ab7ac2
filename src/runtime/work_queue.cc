// WorkQueue implementation (see include/ckpt/runtime/work_queue.h).
//
// Three places a key can be: `waiting_` (delayed, with one deadline, mirrored in `timers_` for
// ordering), `ready_` (FIFO, mirrored in `queued_`) and `processing_` (handed to a worker). A key
// added while processing is marked dirty and re-queued by Done(), which is what guarantees that
// no two workers ever hold the same key.
#include "ckpt/runtime/work_queue.h"

#include <algorithm>

namespace ckpt::runtime {

WorkQueue::WorkQueue(Clock& clock, ExponentialBackoff backoff, QueueObserver* observer)
    : clock_(clock), backoff_(backoff), observer_(observer) {}

void WorkQueue::EnqueueLocked(const std::string& key) {
  if (processing_.count(key)) {
    dirty_.insert(key);
    return;
  }
  if (!queued_.insert(key).second) return;
  ready_.push_back(key);
  enqueued_at_[key] = clock_.Monotonic();
  cv_.notify_one();
}

void WorkQueue::Add(const std::string& key) {
  size_t depth;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (shutdown_) return;
    auto w = waiting_.find(key);  // an immediate add supersedes a delayed one
    if (w != waiting_.end()) {
      timers_.erase({w->second, key});
      waiting_.erase(w);
    }
    EnqueueLocked(key);
    depth = ready_.size();
  }
  if (observer_) {
    observer_->OnAdd();
    observer_->OnDepth(depth);
  }
}

void WorkQueue::AddAfter(const std::string& key, std::chrono::nanoseconds delay) {
  if (delay <= std::chrono::nanoseconds::zero()) return Add(key);
  std::lock_guard<std::mutex> l(mu_);
  if (shutdown_ || queued_.count(key)) return;  // already due sooner
  auto deadline = clock_.Monotonic() + delay;
  auto [it, inserted] = waiting_.emplace(key, deadline);
  if (!inserted) {
    if (it->second <= deadline) return;  // the earlier deadline wins
    timers_.erase({it->second, key});
    it->second = deadline;
  }
  timers_.insert({deadline, key});
  ++wake_gen_;
  cv_.notify_all();  // a sleeping Get() may need an earlier wake-up
}

void WorkQueue::AddRateLimited(const std::string& key) {
  uint32_t n;
  {
    std::lock_guard<std::mutex> l(mu_);
    n = failures_[key]++;
  }
  if (observer_) observer_->OnRetry();
  AddAfter(key, backoff_.Delay(n));
}

void WorkQueue::Forget(const std::string& key) {
  std::lock_guard<std::mutex> l(mu_);
  failures_.erase(key);
}

uint32_t WorkQueue::NumRequeues(const std::string& key) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

void WorkQueue::PromoteDueLocked(Clock::MonoTime now) {
  while (!timers_.empty() && timers_.begin()->first <= now) {
    std::string key = timers_.begin()->second;
    timers_.erase(timers_.begin());
    waiting_.erase(key);
    EnqueueLocked(key);
  }
}

std::optional<std::string> WorkQueue::Get(std::stop_token stop) {
  std::unique_lock<std::mutex> l(mu_);
  while (true) {
    if (shutdown_ || stop.stop_requested()) return std::nullopt;
    auto now = clock_.Monotonic();
    PromoteDueLocked(now);
    if (!ready_.empty()) break;
    auto slice = std::chrono::duration_cast<std::chrono::nanoseconds>(clock_.MaxWaitSlice());
    auto wait = timers_.empty() ? slice : std::min<std::chrono::nanoseconds>(timers_.begin()->first - now, slice);
    uint64_t gen = wake_gen_;
    cv_.wait_for(l, stop, wait, [&] { return shutdown_ || !ready_.empty() || wake_gen_ != gen; });
  }
  return PopLocked(l);
}

std::optional<std::string> WorkQueue::TryGet() {
  std::unique_lock<std::mutex> l(mu_);
  if (shutdown_) return std::nullopt;
  PromoteDueLocked(clock_.Monotonic());
  if (ready_.empty()) return std::nullopt;
  return PopLocked(l);
}

// Hands out the front key; unlocks `l` before reporting to the observer.
std::string WorkQueue::PopLocked(std::unique_lock<std::mutex>& l) {
  std::string key = std::move(ready_.front());
  ready_.pop_front();
  queued_.erase(key);
  processing_.insert(key);
  auto latency = clock_.Monotonic() - enqueued_at_[key];
  enqueued_at_.erase(key);
  size_t depth = ready_.size();
  l.unlock();
  if (observer_) {
    observer_->OnDepth(depth);
    observer_->OnLatency(latency);
  }
  return key;
}

void WorkQueue::Done(const std::string& key) {
  std::lock_guard<std::mutex> l(mu_);
  processing_.erase(key);
  if (dirty_.erase(key) && !shutdown_) EnqueueLocked(key);
}

void WorkQueue::ShutDown() {
  std::lock_guard<std::mutex> l(mu_);
  shutdown_ = true;
  cv_.notify_all();
}

bool WorkQueue::shutting_down() const {
  std::lock_guard<std::mutex> l(mu_);
  return shutdown_;
}

size_t WorkQueue::Len() const {
  std::lock_guard<std::mutex> l(mu_);
  return ready_.size();
}

}  // namespace ckpt::runtime
