// The upstream AWS SigV4 test suite (third_party/sigv4-testsuite, from botocore): every case's
// request is signed with the suite's fixed credentials and clock, and the canonical request,
// string to sign and Authorization header must equal the published ones byte for byte.
#include <gtest/gtest.h>

#include "fakes/http_request_text.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "ckpt/aws/signer.h"

namespace ckpt::aws {
namespace {

namespace fs = std::filesystem;
const fs::path kSuite = fs::path(CKPT_SOURCE_DIR) / "third_party/sigv4-testsuite";
constexpr char kToken[] =
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUu"
    "wthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQ"
    "cHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/o"
    "LxBA==";

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<fs::path> Cases() {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(kSuite))
    if (e.path().extension() == ".req") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(SigV4VectorsTest, EveryUpstreamCaseMatches) {
  FakeClock clock(std::chrono::sys_days{std::chrono::year{2015} / 8 / 30} + std::chrono::hours(12) +
                  std::chrono::minutes(36));
  auto cases = Cases();
  ASSERT_GE(cases.size(), 30u) << "vectors missing under " << kSuite;
  int passed = 0;
  for (const auto& req : cases) {
    std::string name = req.stem();
    SCOPED_TRACE(name);
    auto signer = NewSigV4Signer(clock, {.sign_security_token = name != "post-sts-header-after"});
    http::HttpRequest request = testing::ParseRequestText(Slurp(req));
    // A case's session token is the one its signed request (.sreq) carries; post-sts-header-after
    // adds the suite's token (readme.txt) only after signing.
    std::string token;
    fs::path base = req.parent_path() / name;
    for (const auto& [k, v] : testing::ParseRequestText(Slurp(base.string() + ".sreq")).headers)
      if (k == "X-Amz-Security-Token") token = v;
    if (name == "post-sts-header-after") {
      EXPECT_EQ(token, kToken);
    }
    Credentials creds{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token, std::nullopt};
    SigningDetails d;
    ASSERT_TRUE(signer->Sign(request, creds, "us-east-1", "service", &d).ok());
    EXPECT_EQ(d.canonical_request, Slurp(base.string() + ".creq"));
    EXPECT_EQ(d.string_to_sign, Slurp(base.string() + ".sts"));
    EXPECT_EQ(d.authorization, Slurp(base.string() + ".authz"));
    if (d.authorization == Slurp(base.string() + ".authz")) ++passed;
  }
  std::cout << "[sigv4] " << passed << " of " << cases.size() << " upstream vectors pass\n";
  EXPECT_EQ(passed, static_cast<int>(cases.size()));
}

TEST(SigV4SignerTest, AddsDateHostTokenAndAuthorization) {
  FakeClock clock;
  auto signer = NewSigV4Signer(clock);
  http::HttpRequest r{"POST", "https://fsx.us-east-1.amazonaws.com/", {{"X-Amz-Target", "AWSSimbaAPIService_v20180301.DescribeFileSystems"}}, "{}"};
  ASSERT_TRUE(signer->Sign(r, {"AKID", "secret", "token", std::nullopt}, "us-east-1", "fsx").ok());
  auto has = [&](const std::string& name) {
    return std::any_of(r.headers.begin(), r.headers.end(), [&](const auto& h) { return h.first == name; });
  };
  EXPECT_TRUE(has("Host") && has("X-Amz-Date") && has("X-Amz-Security-Token") && has("Authorization"));
  EXPECT_NE(std::string(r.headers.back().second).find("SignedHeaders=host;x-amz-date;x-amz-security-token;x-amz-target"),
            std::string::npos);
  EXPECT_TRUE(signer->Sign(r, {"AKID", "s", "", std::nullopt}, "us-east-1", "fsx").ok()) << "re-signing replaces";
  EXPECT_EQ(std::count_if(r.headers.begin(), r.headers.end(), [](const auto& h) { return h.first == "Authorization"; }), 1);
  http::HttpRequest bad{"GET", "no-scheme", {}, ""};
  EXPECT_TRUE(signer->Sign(bad, {"a", "b", "", std::nullopt}, "us-east-1", "fsx").IsInvalid());
}

}  // namespace
}  // namespace ckpt::aws
