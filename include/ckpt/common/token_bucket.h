// TokenBucket: client-side rate limiting (client-go's QPS/burst). Acquire() blocks until a token
// is free; tokens refill at `qps` per second up to `burst`. qps <= 0 disables limiting.
// Thread-safe; waiting callers are served in arrival order of their reservations.
#pragma once

#include <chrono>
#include <mutex>

#include "ckpt/common/clock.h"

namespace ckpt {

class TokenBucket {
 public:
  TokenBucket(double qps, int burst, Clock& clock);
  // Reserves one token and returns how long the caller must wait before using it.
  std::chrono::nanoseconds Reserve();
  // Reserve() and sleep for the wait.
  void Acquire();

 private:
  const double qps_;
  const double burst_;
  Clock& clock_;
  std::mutex mu_;
  double tokens_;                 // may go negative: reservations ahead of the refill
  Clock::MonoTime last_;
};

}  // namespace ckpt
