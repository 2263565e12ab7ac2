// Token-bucket rate limiter (see include/ckpt/common/token_bucket.h).
#include "ckpt/common/token_bucket.h"

#include <algorithm>
#include <thread>

namespace ckpt {

TokenBucket::TokenBucket(double qps, int burst, Clock& clock)
    : qps_(qps), burst_(std::max(1, burst)), clock_(clock), tokens_(burst_), last_(clock.Monotonic()) {}

std::chrono::nanoseconds TokenBucket::Reserve() {
  if (qps_ <= 0) return std::chrono::nanoseconds::zero();
  std::lock_guard<std::mutex> l(mu_);
  auto now = clock_.Monotonic();
  tokens_ = std::min(burst_, tokens_ + std::chrono::duration<double>(now - last_).count() * qps_);
  last_ = now;
  tokens_ -= 1;
  if (tokens_ >= 0) return std::chrono::nanoseconds::zero();
  return std::chrono::nanoseconds(static_cast<int64_t>(-tokens_ / qps_ * 1e9));
}

void TokenBucket::Acquire() {
  auto wait = Reserve();
  if (wait > std::chrono::nanoseconds::zero()) std::this_thread::sleep_for(wait);
}

}  // namespace ckpt
