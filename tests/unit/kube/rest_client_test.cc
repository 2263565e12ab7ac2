// Unit tests for RestClient over a scripted transport: URLs and query strings, content types,
// bearer tokens and the one retry with a fresh token after a 401, error mapping, and watch
// streams split into small chunks.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "ckpt/kube/client.h"
#include "fakes/scripted_transport.h"

namespace ckpt::kube {
namespace {

class RestClientTest : public ::testing::Test {
 protected:
  KubeClientPtr Client(ClientConfig c = {}) {
    c.server = "https://api:6443";
    c.qps = 0;
    if (c.bearer_token.empty() && c.token_file.empty() && !c.exec.enabled()) c.bearer_token = "t0";
    return NewRestClient(c, std::make_unique<testing::ScriptedTransport>(shared_), clock_);
  }
  void Reply(int code, std::string body) { shared_.responses.push_back({code, {}, std::move(body)}); }
  std::string Header(size_t i, const std::string& name) {
    for (const auto& [k, v] : shared_.requests.at(i).headers)
      if (k == name) return v;
    return "";
  }

  FakeClock clock_;
  testing::ScriptedTransport::Shared shared_;
};

TEST_F(RestClientTest, ListBuildsTheQueryString) {
  auto c = Client();
  Reply(200, R"({"items":[],"metadata":{"continue":"abc"}})");
  ListOptions o;
  o.label_selector = "app=ckpt,tier in (a b)";
  o.limit = 500;
  o.continue_token = "c1";
  auto r = c->List(resources::CheckpointStores(), "ml", o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(shared_.requests[0].url,
            "https://api:6443/apis/trainops.io/v1alpha1/namespaces/ml/checkpointstores"
            "?labelSelector=app%3Dckpt%2Ctier%20in%20%28a%20b%29&limit=500&continue=c1");
  EXPECT_EQ(Header(0, "Authorization"), "Bearer t0");
}

TEST_F(RestClientTest, ApplyPatchCarriesFieldManagerForceAndContentType) {
  auto c = Client();
  Reply(200, "{}");
  ASSERT_TRUE(c->Patch(resources::PersistentVolumeClaims(), "ml", "ckpt", {PatchType::kApply, "ckpt-operator", true, ""}, "{}").ok());
  EXPECT_EQ(shared_.requests[0].method, "PATCH");
  EXPECT_EQ(shared_.requests[0].url, "https://api:6443/api/v1/namespaces/ml/persistentvolumeclaims/ckpt?fieldManager=ckpt-operator&force=true");
  EXPECT_EQ(Header(0, "Content-Type"), "application/apply-patch+yaml");
}

TEST_F(RestClientTest, UnauthorizedRetriesOnceWithAFreshToken) {
  ClientConfig cfg;
  std::string path = ::testing::TempDir() + "/rest-token";
  std::ofstream(path) << "old";
  cfg.token_file = path;
  auto c = Client(cfg);
  Reply(200, R"({"metadata":{"name":"x"}})");
  ASSERT_TRUE(c->Get(resources::TrainRuns(), "ml", "x").ok());  // reads and caches "old"
  std::ofstream(path) << "new";                                  // the kubelet rotates the token
  Reply(401, R"({"kind":"Status","code":401,"message":"Unauthorized"})");
  Reply(200, R"({"metadata":{"name":"x"}})");
  ASSERT_TRUE(c->Get(resources::TrainRuns(), "ml", "x").ok());
  ASSERT_EQ(shared_.requests.size(), 3u);
  EXPECT_EQ(Header(1, "Authorization"), "Bearer old");
  EXPECT_EQ(Header(2, "Authorization"), "Bearer new") << "the retry re-read the token file";
  Reply(401, R"({"kind":"Status","code":401,"message":"Unauthorized"})");
  Reply(401, R"({"kind":"Status","code":401,"message":"Unauthorized"})");
  EXPECT_TRUE(c->Get(resources::TrainRuns(), "ml", "x").status().IsUnauthenticated()) << "only one retry";
  EXPECT_EQ(shared_.requests.size(), 5u);
}

// A caller's deadline (the lease renewal's renewDeadline) holds after the client-side rate
// limiter's wait too: a request whose turn comes after it is not sent.
TEST_F(RestClientTest, ADeadlinePassedWhileRateLimitedIsNotSent) {
  ClientConfig cfg;
  cfg.server = "https://api:6443";
  cfg.bearer_token = "t0";
  cfg.qps = 2;  // one token every 500 ms, burst 1
  cfg.burst = 1;
  auto limited = NewRestClient(cfg, std::make_unique<testing::ScriptedTransport>(shared_), clock_);
  Reply(200, R"({"metadata":{"name":"x"}})");
  ASSERT_TRUE(limited->Get(resources::Leases(), "ml", "x").ok());  // the burst
  ScopedRequestDeadline bound(clock_.Monotonic() + std::chrono::milliseconds(100));
  std::jthread later([this] {  // the deadline passes while the limiter holds the request
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    clock_.Advance(std::chrono::seconds(1));
  });
  Reply(200, R"({"metadata":{"name":"x"}})");
  auto r = limited->Get(resources::Leases(), "ml", "x");
  EXPECT_TRUE(r.status().IsTimeout()) << r.status().ToString();
  EXPECT_NE(r.status().message().find("client-side rate limit"), std::string::npos) << r.status().ToString();
  EXPECT_EQ(shared_.requests.size(), 1u) << "never sent";
}

TEST_F(RestClientTest, WatchDecodesChunkedEventsAndMapsErrors) {
  auto c = Client();
  Reply(200, R"({"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"5"}}})"
             "\n"
             R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"9"}}})"
             "\n");
  std::vector<std::string> seen;
  WatchOptions o;
  o.resource_version = "4";
  Status s = c->Watch(resources::TrainRuns(), "ml", o, [&](WatchEvent&& e) {
    seen.push_back(e.object["metadata"]["resourceVersion"]);
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(seen, (std::vector<std::string>{"5", "9"}));
  EXPECT_NE(shared_.requests[0].url.find("watch=1&resourceVersion=4&allowWatchBookmarks=true&timeoutSeconds=290"),
            std::string::npos);
  Reply(410, R"({"kind":"Status","code":410,"reason":"Expired","message":"too old resource version"})");
  EXPECT_TRUE(c->Watch(resources::TrainRuns(), "ml", o, [](WatchEvent&&) { return true; }).IsGone());
}

TEST_F(RestClientTest, NonJsonSuccessBodyIsAnError) {
  auto c = Client();
  Reply(200, "<html>proxy</html>");
  EXPECT_EQ(c->Get(resources::TrainRuns(), "ml", "x").status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace ckpt::kube
