// Unit tests for Status/StatusOr and the RETURN_IF_ERROR/ASSIGN_OR_RETURN macros.
#include "ckpt/common/status.h"

#include <gtest/gtest.h>

namespace ckpt {
namespace {

StatusOr<int> Half(int x) {
  if (x % 2) return InvalidArgument("odd");
  return x / 2;
}

StatusOr<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int h, Half(x));
  ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

Status CheckEven(int x) {
  RETURN_IF_ERROR(Half(x).status());
  return Status::Ok();
}

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(StatusTest, PredicatesMatchTheirCodeOnly) {
  Status gone(StatusCode::kGone, "too old resource version");
  EXPECT_TRUE(gone.IsGone());
  EXPECT_FALSE(gone.IsConflict());
  EXPECT_FALSE(gone.IsNotFound());
  EXPECT_EQ(gone.ToString(), "Gone: too old resource version");
}

TEST(StatusTest, TerminalAndRetryAfterAreCarried) {
  Status s = Status(StatusCode::kTooManyRequests, "slow down").SetRetryAfter(std::chrono::seconds(3));
  EXPECT_EQ(s.retry_after(), std::chrono::milliseconds(3000));
  Status t = InvalidArgument("bad spec").MarkTerminal();
  EXPECT_TRUE(t.terminal());
  EXPECT_EQ(t.ToString(), "Invalid: bad spec (terminal)");
  EXPECT_EQ(t.WithContext("reconcile").message(), "reconcile: bad spec");
}

TEST(StatusOrTest, ValueAndErrorPropagate) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().message(), "odd");
  EXPECT_TRUE(CheckEven(4).ok());
  EXPECT_TRUE(CheckEven(3).IsInvalid());
}

TEST(StatusOrTest, OkStatusWithoutValueBecomesInternal) {
  StatusOr<int> s = Status::Ok();
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace ckpt
