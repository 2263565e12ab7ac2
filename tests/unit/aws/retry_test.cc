// Unit tests for the standard retry mode: which errors retry, attempt limit, full-jitter
// bounds, and the retry quota draining under a failure storm and refilling on success.
#include "ckpt/aws/retry.h"

#include <gtest/gtest.h>

namespace ckpt::aws {
namespace {

using namespace std::chrono_literals;

TEST(RetryTest, OnlyThrottlingAndTransientErrorsRetry) {
  RetryStrategy r({.seed = 1});
  EXPECT_TRUE(r.OnFailure(1, {400, "ThrottlingException"}));
  EXPECT_TRUE(r.OnFailure(1, {429, ""}));
  EXPECT_TRUE(r.OnFailure(1, {503, "ServiceUnavailable"}));
  EXPECT_TRUE(r.OnFailure(1, {0, "", true}));
  EXPECT_FALSE(r.OnFailure(1, {400, "BadRequest"}));
  EXPECT_FALSE(r.OnFailure(1, {400, "IncompatibleParameterError"}));
  EXPECT_FALSE(r.OnFailure(1, {400, "ServiceLimitExceeded"})) << "a hard limit, not throttling";
}

TEST(RetryTest, GivesUpAtMaxAttempts) {
  RetryStrategy r({.max_attempts = 3, .seed = 1});
  EXPECT_TRUE(r.OnFailure(1, {500, "InternalServerError"}));
  EXPECT_TRUE(r.OnFailure(2, {500, "InternalServerError"}));
  EXPECT_FALSE(r.OnFailure(3, {500, "InternalServerError"}));
}

TEST(RetryTest, FullJitterStaysUnderTheExponentialCap) {
  RetryStrategy r({.max_attempts = 100, .quota_capacity = 1'000'000, .seed = 9});
  std::chrono::milliseconds lo = 1h, hi = 0ms;
  for (int i = 0; i < 2000; ++i) {
    auto d1 = *r.OnFailure(1, {503, ""});
    EXPECT_LT(d1, 1000ms);
    lo = std::min(lo, d1);
    hi = std::max(hi, d1);
    EXPECT_LT(*r.OnFailure(3, {503, ""}), 4000ms);
    EXPECT_LE(*r.OnFailure(30, {503, ""}), 20000ms) << "capped at 20 s";
  }
  EXPECT_LT(lo, 50ms) << "jitter spans the whole range";
  EXPECT_GT(hi, 950ms);
}

TEST(RetryTest, QuotaStopsRetryStormsAndRefills) {
  RetryStrategy r({.quota_capacity = 20, .seed = 1});
  EXPECT_TRUE(r.OnFailure(1, {503, ""}));        // 15 left
  EXPECT_TRUE(r.OnFailure(1, {0, "", true}));    // timeout costs 10: 5 left
  EXPECT_TRUE(r.OnFailure(1, {503, ""}));        // 0 left
  EXPECT_FALSE(r.OnFailure(1, {503, ""})) << "quota empty: fail fast";
  r.OnSuccess(5);
  EXPECT_EQ(r.quota(), 5);
  r.OnSuccess(0);
  EXPECT_EQ(r.quota(), 6);
  for (int i = 0; i < 100; ++i) r.OnSuccess(0);
  EXPECT_EQ(r.quota(), 20) << "never above capacity";
}

}  // namespace
}  // namespace ckpt::aws
