// The AWS SDKs' "standard" retry mode: up to max_attempts tries (default 3); only throttling and
// transient errors are retried; the delay before retry i is full jitter, rand[0,1) * min(2^i s,
// 20 s); and a shared retry quota (500 tokens, a retry costs 5 or 10 after a timeout, a success
// refunds what its retries cost, or 1) stops a storm of failures from multiplying load.
// Thread-safe: one RetryStrategy is shared by all calls of a client.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <string>

namespace ckpt::aws {

// What one failed attempt looked like.
struct AttemptError {
  int http_status = 0;     // 0: no response (transport error or timeout)
  std::string code;        // the service's error code, e.g. "ThrottlingException"
  bool timeout = false;    // the attempt timed out
};

bool IsThrottlingError(const AttemptError& e);
bool IsTransientError(const AttemptError& e);

struct RetryOptions {
  int max_attempts = 3;
  std::chrono::milliseconds max_backoff{20'000};
  int quota_capacity = 500;
  uint64_t seed = std::random_device{}();
};

class RetryStrategy {
 public:
  explicit RetryStrategy(RetryOptions options = {});

  // After attempt number `attempt` (1-based) failed with `e`: the delay before the next attempt,
  // or nullopt to give up (not retryable, attempts exhausted, or the quota is empty). Takes the
  // retry's cost from the quota.
  std::optional<std::chrono::milliseconds> OnFailure(int attempt, const AttemptError& e);
  // After a successful attempt; `retries_cost` is what OnFailure took for this call (0 if none).
  void OnSuccess(int retries_cost);
  // The quota cost of retrying after `e`.
  static int CostOf(const AttemptError& e) { return e.timeout ? 10 : 5; }
  int quota() const;

 private:
  const RetryOptions options_;
  mutable std::mutex mu_;
  int quota_;              // guarded by mu_
  std::mt19937_64 rng_;    // guarded by mu_
};

}  // namespace ckpt::aws
