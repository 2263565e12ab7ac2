// Exponential backoff arithmetic (see include/ckpt/common/backoff.h).
#include "ckpt/common/backoff.h"

#include <algorithm>
#include <cmath>

namespace ckpt {

Millis ExponentialBackoff::Delay(uint32_t failures, std::mt19937_64* rng) const {
  double d = static_cast<double>(initial.count()) * std::pow(factor, std::min<uint32_t>(failures, 64));
  d = std::min(d, static_cast<double>(max.count()));
  if (jitter > 0 && rng) d *= 1.0 - jitter * std::uniform_real_distribution<double>(0, 1)(*rng);
  return Millis(static_cast<int64_t>(d));
}

ExponentialBackoff ReconcileBackoff() { return {Millis(5), Millis(1'000'000), 2.0, 0.0}; }
ExponentialBackoff WatchBackoff() { return {Millis(800), Millis(30'000), 2.0, 0.5}; }

Millis LoopBackoff::NextDelay(std::chrono::steady_clock::time_point now) {
  if (failures_ > 0 && healthy_since_ != std::chrono::steady_clock::time_point{} && now - healthy_since_ >= reset_after_)
    failures_ = 0;
  healthy_since_ = {};
  return policy_.Delay(failures_++, &rng_);
}

}  // namespace ckpt
