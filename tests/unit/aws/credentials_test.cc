// The credential chain against local HTTP servers that play STS (AssumeRoleWithWebIdentity),
// the EKS Pod Identity agent and IMDSv2, with a fake clock: source selection, caching, refresh
// inside the 5-minute window with a re-read token file, and errors that never carry secrets.
#include "ckpt/aws/credentials.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>

#include "ckpt/http/server.h"

namespace ckpt::aws {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class CredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("creds-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    transport_ = http::NewCurlTransport({});
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string WriteFile(const std::string& name, const std::string& text) {
    std::ofstream((dir_ / name).string()) << text;
    return (dir_ / name).string();
  }
  StatusOr<CredentialsProviderPtr> Chain() {
    return NewDefaultCredentialsChain(
        {"us-east-1", [this](const char* n) { return env_.count(n) ? env_[n] : std::string(); }, transport_.get(), &clock_});
  }
  std::string Expiry(std::chrono::minutes from_now) { return FormatRfc3339(clock_.Now() + from_now); }

  fs::path dir_;
  FakeClock clock_;
  std::map<std::string, std::string> env_;
  http::HttpTransportPtr transport_;
  std::atomic<int> calls_{0};
};

TEST_F(CredentialsTest, EnvironmentComesFirst) {
  env_ = {{"AWS_ACCESS_KEY_ID", "AKID"}, {"AWS_SECRET_ACCESS_KEY", "s"}, {"AWS_SESSION_TOKEN", "t"},
          {"AWS_ROLE_ARN", "arn:aws:iam::1:role/x"}, {"AWS_WEB_IDENTITY_TOKEN_FILE", "/nope"}};
  auto chain = Chain();
  ASSERT_TRUE(chain.ok());
  EXPECT_EQ((*chain)->source(), "environment");
  EXPECT_EQ((*chain)->Get()->session_token, "t");
}

TEST_F(CredentialsTest, WebIdentityCachesRefreshesAndRereadsTheTokenFile) {
  std::string seen_token;
  auto sts = http::HttpServer::Start("127.0.0.1:0", [&](const http::ServerRequest& r) {
    ++calls_;
    seen_token = r.body.substr(r.body.find("WebIdentityToken=") + 17);
    EXPECT_NE(r.body.find("Action=AssumeRoleWithWebIdentity"), std::string::npos);
    EXPECT_NE(r.body.find("RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fckpt"), std::string::npos);
    std::string n = std::to_string(calls_.load());
    return http::HttpResponse{200, {{"Content-Type", "text/xml"}},
                              "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>"
                              "<SessionToken>tok" + n + "</SessionToken><SecretAccessKey>sec" + n +
                                  "</SecretAccessKey><Expiration>" + Expiry(60min) + "</Expiration><AccessKeyId>ASIA" + n +
                                  "</AccessKeyId></Credentials></AssumeRoleWithWebIdentityResult>"
                                  "</AssumeRoleWithWebIdentityResponse>"};
  });
  ASSERT_TRUE(sts.ok());
  env_ = {{"AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/ckpt"},
          {"AWS_WEB_IDENTITY_TOKEN_FILE", WriteFile("token", "jwt-1\n")},
          {"AWS_ENDPOINT_URL_STS", (*sts)->url() + "/"}};
  auto chain = Chain();
  ASSERT_TRUE(chain.ok()) << chain.status().ToString();
  EXPECT_EQ((*chain)->source(), "web-identity");
  auto c1 = (*chain)->Get();
  ASSERT_TRUE(c1.ok()) << c1.status().ToString();
  EXPECT_EQ(c1->access_key_id, "ASIA1");
  EXPECT_EQ(seen_token, "jwt-1");
  clock_.Advance(50min);
  EXPECT_EQ((*chain)->Get()->access_key_id, "ASIA1") << "cached until 5 minutes before expiry";
  EXPECT_EQ(calls_.load(), 1);
  WriteFile("token", "jwt-2");  // kubelet rotated the projected token
  clock_.Advance(6min);
  EXPECT_EQ((*chain)->Get()->access_key_id, "ASIA2");
  EXPECT_EQ(seen_token, "jwt-2");
}

TEST_F(CredentialsTest, StsRejectionIsAClearErrorWithoutSecrets) {
  auto sts = http::HttpServer::Start("127.0.0.1:0", [&](const http::ServerRequest&) {
    return http::HttpResponse{400, {}, "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>"
                                       "<Message>Couldn't retrieve verification key from your identity provider</Message>"
                                       "</Error></ErrorResponse>"};
  });
  env_ = {{"AWS_ROLE_ARN", "arn:aws:iam::1:role/x"}, {"AWS_WEB_IDENTITY_TOKEN_FILE", WriteFile("t", "secret-jwt")},
          {"AWS_ENDPOINT_URL_STS", (*sts)->url()}};
  auto s = (*Chain())->Get().status();
  EXPECT_TRUE(s.IsUnauthenticated());
  EXPECT_EQ(s.reason(), "InvalidIdentityToken");
  EXPECT_NE(s.message().find("verification key"), std::string::npos);
  EXPECT_EQ(s.ToString().find("secret-jwt"), std::string::npos);
}

TEST_F(CredentialsTest, PodIdentitySendsTheAgentTokenAndKeepsValidCredentialsWhenRefreshFails) {
  std::atomic<bool> down{false};
  auto agent = http::HttpServer::Start("127.0.0.1:0", [&](const http::ServerRequest& r) {
    if (down) return http::HttpResponse{500, {}, "agent down"};
    EXPECT_EQ(r.Header("authorization"), "agent-token");
    return http::HttpResponse{200, {}, R"({"AccessKeyId":"ASIAPOD","SecretAccessKey":"s","Token":"t","Expiration":")" +
                                           Expiry(15min) + "\"}"};
  });
  env_ = {{"AWS_CONTAINER_CREDENTIALS_FULL_URI", (*agent)->url() + "/v1/credentials"},
          {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", WriteFile("agent", "agent-token\n")}};
  auto chain = std::move(Chain()).value();
  EXPECT_EQ(chain->source(), "pod-identity");
  EXPECT_EQ(chain->Get()->access_key_id, "ASIAPOD");
  down = true;
  clock_.Advance(11min);  // inside the refresh window, still valid
  EXPECT_EQ(chain->Get()->access_key_id, "ASIAPOD");
  clock_.Advance(5min);  // expired and the agent is still down
  EXPECT_TRUE(chain->Get().status().IsUnavailable());
}

TEST_F(CredentialsTest, ImdsV2NeedsItsSessionToken) {
  auto imds = http::HttpServer::Start("127.0.0.1:0", [&](const http::ServerRequest& r) {
    if (r.method == "PUT" && r.path == "/latest/api/token") return http::HttpResponse{200, {}, "imds-session"};
    if (r.Header("x-aws-ec2-metadata-token") != "imds-session") return http::HttpResponse{401, {}, ""};
    if (r.path == "/latest/meta-data/iam/security-credentials/") return http::HttpResponse{200, {}, "node-role\n"};
    if (r.path == "/latest/meta-data/iam/security-credentials/node-role")
      return http::HttpResponse{200, {}, R"({"Code":"Success","AccessKeyId":"ASIANODE","SecretAccessKey":"s","Token":"t","Expiration":")" +
                                             Expiry(360min) + "\"}"};
    return http::HttpResponse{404, {}, ""};
  });
  env_ = {{"AWS_EC2_METADATA_SERVICE_ENDPOINT", (*imds)->url()}};
  auto chain = std::move(Chain()).value();
  EXPECT_EQ(chain->source(), "imds");
  auto c = chain->Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "ASIANODE");
}

TEST_F(CredentialsTest, NothingConfiguredSaysWhatWasLookedFor) {
  env_ = {{"AWS_EC2_METADATA_DISABLED", "true"}};
  auto s = Chain().status();
  EXPECT_TRUE(s.IsNotFound());
  EXPECT_NE(s.message().find("AWS_WEB_IDENTITY_TOKEN_FILE"), std::string::npos);
  env_ = {{"AWS_ROLE_ARN", "arn"}, {"AWS_WEB_IDENTITY_TOKEN_FILE", "/t"}};
  EXPECT_TRUE(NewDefaultCredentialsChain({"", [this](const char* n) { return env_.count(n) ? env_[n] : std::string(); },
                                          transport_.get(), &clock_})
                  .status()
                  .IsInvalid())
      << "IRSA without a region";
}

}  // namespace
}  // namespace ckpt::aws
