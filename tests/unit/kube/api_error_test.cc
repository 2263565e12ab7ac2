// Unit tests: API server replies map to the right Status predicates with the server's message.
#include "ckpt/kube/api_error.h"

#include <gtest/gtest.h>

namespace ckpt::kube {
namespace {

http::HttpResponse Reply(int code, std::string body, http::Headers headers = {}) {
  return http::HttpResponse{code, std::move(headers), std::move(body)};
}

TEST(ApiErrorTest, AlreadyExistsAndConflictAreTwoCodes) {
  auto exists = StatusFromResponse(Reply(409, R"({"kind":"Status","reason":"AlreadyExists","message":"x exists","code":409})"));
  EXPECT_TRUE(exists.IsAlreadyExists());
  EXPECT_EQ(exists.message(), "x exists");
  auto conflict = StatusFromResponse(Reply(409, R"({"kind":"Status","reason":"Conflict","message":"modified","code":409})"));
  EXPECT_TRUE(conflict.IsConflict());
}

TEST(ApiErrorTest, InvalidKeepsFieldCauses) {
  auto s = StatusFromResponse(Reply(422, R"({"kind":"Status","reason":"Invalid","message":"TrainJob \"a\" is invalid",
    "details":{"causes":[{"reason":"FieldValueRequired","message":"Required value","field":"spec.runtimeRef"}]},"code":422})"));
  EXPECT_TRUE(s.IsInvalid());
  EXPECT_EQ(s.message(), "TrainJob \"a\" is invalid; spec.runtimeRef: Required value");
}

TEST(ApiErrorTest, TooManyRequestsHonoursRetryAfter) {
  auto s = StatusFromResponse(Reply(429, R"({"kind":"Status","message":"slow","code":429})", {{"retry-after", "7"}}));
  EXPECT_TRUE(s.IsTooManyRequests());
  EXPECT_EQ(s.retry_after(), std::chrono::milliseconds(7000));
}

TEST(ApiErrorTest, NonStatusBodiesStillMap) {
  EXPECT_TRUE(StatusFromResponse(Reply(410, "gone")).IsGone());
  EXPECT_TRUE(StatusFromResponse(Reply(503, "<html>")).IsUnavailable());
  EXPECT_TRUE(StatusFromResponse(Reply(401, "")).IsUnauthenticated());
  EXPECT_TRUE(StatusFromResponse(Reply(403, "{}")).IsForbidden());
  EXPECT_TRUE(StatusFromResponse(Reply(504, "")).IsTimeout());
}

TEST(ApiErrorTest, WatchErrorEventStatusMapsByCode) {
  auto s = StatusFromApiStatus(nlohmann::json::parse(R"j({"kind":"Status","code":410,"reason":"Expired","message":"too old resource version: 1 (5)"})j"));
  EXPECT_TRUE(s.IsGone());
}

TEST(ApiErrorTest, FieldsOfTheWrongTypeDoNotThrow) {
  auto s = StatusFromResponse(Reply(500, R"({"kind":"Status","code":500,"message":42,"reason":["x"]})"));
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(StatusFromApiStatus(nlohmann::json::parse(R"({"code":"410"})")).code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace ckpt::kube
