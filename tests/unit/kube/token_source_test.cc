// Unit tests for where bearer tokens come from: static tokens, rotated token files, and exec
// credential plugins (a script the test writes) that are re-run near expiry and after a 401.
#include "ckpt/kube/token_source.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "ckpt/common/token_bucket.h"

namespace ckpt::kube {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class TokenSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("tok-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  // A plugin that counts its runs and prints a token expiring at `expiry`.
  std::string Plugin(const std::string& expiry) {
    std::string path = (dir_ / "plugin.sh").string();
    std::ofstream(path) << "#!/bin/sh\n"
                        << "n=$(cat " << dir_.string() << "/runs 2>/dev/null || echo 0); n=$((n+1)); echo $n > "
                        << dir_.string() << "/runs\n"
                        << "case \"$KUBERNETES_EXEC_INFO\" in *ExecCredential*) ;; *) exit 3;; esac\n"
                        << "echo '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
                        << "\"status\":{\"token\":\"tok-'$n-$TEAM'\",\"expirationTimestamp\":\"" << expiry << "\"}}'\n";
    chmod(path.c_str(), 0755);
    return path;
  }
  fs::path dir_;
};

TEST_F(TokenSourceTest, ExecPluginRunsOnceUntilNearExpiryAndAfterInvalidate) {
  FakeClock clock(std::chrono::sys_days{std::chrono::year{2026} / 11 / 22});
  ClientConfig c;
  c.exec.command = Plugin("2026-11-22T00:10:00Z");
  c.exec.env = {{"TEAM", "ml"}};
  auto src = NewTokenSource(c, clock);
  EXPECT_EQ(*src->Token(), "tok-1-ml");
  EXPECT_EQ(*src->Token(), "tok-1-ml") << "cached";
  clock.Advance(9min + 31s);  // within 30 s of expiry: refresh
  EXPECT_EQ(*src->Token(), "tok-2-ml");
  src->Invalidate();  // the server said 401
  EXPECT_EQ(*src->Token(), "tok-3-ml");
}

TEST_F(TokenSourceTest, ExecPluginFailuresAreClear) {
  ClientConfig c;
  c.exec.command = (dir_ / "missing").string();
  auto s = NewTokenSource(c, SystemClock())->Token();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("missing"), std::string::npos);
}

TEST_F(TokenSourceTest, TokenFileIsReReadAfterAMinute) {
  FakeClock clock;
  std::string path = (dir_ / "token").string();
  std::ofstream(path) << "first\n";
  ClientConfig c;
  c.token_file = path;
  auto src = NewTokenSource(c, clock);
  EXPECT_EQ(*src->Token(), "first");
  std::ofstream(path) << "rotated\n";
  EXPECT_EQ(*src->Token(), "first");
  clock.Advance(61s);
  EXPECT_EQ(*src->Token(), "rotated");
}

TEST(TokenBucketTest, BurstThenSteadyRate) {
  FakeClock clock;
  TokenBucket b(10, 3, clock);  // 10 QPS, burst 3
  EXPECT_EQ(b.Reserve(), 0ns);
  EXPECT_EQ(b.Reserve(), 0ns);
  EXPECT_EQ(b.Reserve(), 0ns);
  EXPECT_EQ(b.Reserve(), 100ms) << "the fourth waits one refill";
  EXPECT_EQ(b.Reserve(), 200ms);
  clock.Advance(1s);
  EXPECT_EQ(b.Reserve(), 0ns);
  TokenBucket unlimited(0, 1, clock);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(unlimited.Reserve(), 0ns);
}

}  // namespace
}  // namespace ckpt::kube
