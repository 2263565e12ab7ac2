// Standard retry mode (see include/ckpt/aws/retry.h). Error code lists follow the SDKs' standard
// mode: throttling codes plus transient ones (5xx, timeouts, connection failures).
#include "ckpt/aws/retry.h"

#include <algorithm>
#include <array>
#include <string_view>

namespace ckpt::aws {
namespace {

constexpr std::array<std::string_view, 14> kThrottling = {
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
    "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown",
    "PriorRequestNotComplete", "EC2ThrottledException"};
constexpr std::array<std::string_view, 4> kTransient = {"RequestTimeout", "RequestTimeoutException",
                                                        "InternalServerError", "ServiceUnavailable"};

bool In(std::string_view code, auto const& list) { return std::find(list.begin(), list.end(), code) != list.end(); }

}  // namespace

bool IsThrottlingError(const AttemptError& e) { return e.http_status == 429 || In(e.code, kThrottling); }

bool IsTransientError(const AttemptError& e) {
  if (e.http_status == 0 || e.timeout) return true;  // connection failure or timeout
  if (e.http_status == 500 || e.http_status == 502 || e.http_status == 503 || e.http_status == 504) return true;
  return In(e.code, kTransient);
}

RetryStrategy::RetryStrategy(RetryOptions options)
    : options_(options), quota_(options.quota_capacity), rng_(options.seed) {}

std::optional<std::chrono::milliseconds> RetryStrategy::OnFailure(int attempt, const AttemptError& e) {
  if (attempt >= options_.max_attempts) return std::nullopt;
  if (!IsThrottlingError(e) && !IsTransientError(e)) return std::nullopt;
  std::lock_guard<std::mutex> l(mu_);
  int cost = CostOf(e);
  if (quota_ < cost) return std::nullopt;  // too many failures lately: fail fast, add no load
  quota_ -= cost;
  double cap = std::min<double>(static_cast<double>(options_.max_backoff.count()),
                                1000.0 * static_cast<double>(1ull << std::min(attempt - 1, 30)));
  double jitter = std::uniform_real_distribution<double>(0, 1)(rng_);  // full jitter
  return std::chrono::milliseconds(static_cast<int64_t>(jitter * cap));
}

void RetryStrategy::OnSuccess(int retries_cost) {
  std::lock_guard<std::mutex> l(mu_);
  quota_ = std::min(options_.quota_capacity, quota_ + (retries_cost > 0 ? retries_cost : 1));
}

int RetryStrategy::quota() const {
  std::lock_guard<std::mutex> l(mu_);
  return quota_;
}

}  // namespace ckpt::aws
