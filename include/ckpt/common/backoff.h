// Backoff policies shared by the work queue (per-key exponential, client-go/controller-runtime
// defaults 5 ms -> 1000 s) and the watcher (800 ms -> 30 s with jitter, reset after 120 s of
// health, as kube-rs' watcher does). Pure arithmetic plus an injected random source.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <random>

namespace ckpt {

using Millis = std::chrono::milliseconds;

struct ExponentialBackoff {
  Millis initial{5};
  Millis max{1'000'000};
  double factor = 2.0;
  double jitter = 0.0;  // 0..1: the delay is drawn uniformly from [d*(1-jitter), d]

  // Delay before retry number `failures` (0-based); never exceeds max.
  Millis Delay(uint32_t failures, std::mt19937_64* rng = nullptr) const;
};

// Defaults used by the reconcile queue and by watches.
ExponentialBackoff ReconcileBackoff();
ExponentialBackoff WatchBackoff();

// Backoff state for one long-running loop (a watch): counts failures, resets after a healthy spell.
class LoopBackoff {
 public:
  LoopBackoff(ExponentialBackoff policy, Millis reset_after, uint64_t seed)
      : policy_(policy), reset_after_(reset_after), rng_(seed) {}

  // Call when the loop failed; returns how long to wait before the next attempt.
  Millis NextDelay(std::chrono::steady_clock::time_point now);
  // Call when the loop made progress (e.g. received an event); the first call after a failure
  // starts the healthy spell that resets the failure count once it lasts `reset_after`.
  void MarkHealthy(std::chrono::steady_clock::time_point now) {
    if (healthy_since_ == std::chrono::steady_clock::time_point{}) healthy_since_ = now;
  }
  uint32_t failures() const { return failures_; }

 private:
  ExponentialBackoff policy_;
  Millis reset_after_;
  std::mt19937_64 rng_;
  uint32_t failures_ = 0;
  std::chrono::steady_clock::time_point healthy_since_{};
};

}  // namespace ckpt
