// Unit tests for the daemon's flags: defaults, flags over environment variables, durations,
// namespace lists, --help/--version exit codes, and refused combinations.
#include "options.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace ckpt::operator_main {
namespace {

using namespace std::chrono_literals;

ParsedOptions Parse(std::vector<const char*> args) {
  args.insert(args.begin(), "ckpt-operator");
  return ParseOptions(static_cast<int>(args.size()), args.data());
}

TEST(OptionsTest, AClientSideLimitCanBeSetOrSwitchedOffWithControllerRuntimesSpelling) {
  auto limited = Parse({"--kube-api-qps", "50", "--kube-api-burst", "100"});
  ASSERT_TRUE(limited.options);
  EXPECT_EQ(limited.options->qps, 50);
  EXPECT_EQ(limited.options->burst, 100);
  auto off = Parse({"--kube-api-qps=-1"});
  ASSERT_TRUE(off.options);
  EXPECT_EQ(off.options->qps, -1);
}

TEST(OptionsTest, DefaultsMatchControllerRuntime) {
  auto p = Parse({});
  ASSERT_TRUE(p.options);
  EXPECT_EQ(p.options->qps, 0) << "no client-side limit, as controller-runtime since v0.21";
  EXPECT_EQ(p.options->burst, 400);
  EXPECT_TRUE(p.options->leader_elect);
  EXPECT_EQ(p.options->lease_duration, 15s);
  EXPECT_EQ(p.options->renew_deadline, 10s);
  EXPECT_EQ(p.options->retry_period, 2s);
  EXPECT_EQ(p.options->probe_address, ":8081");
  EXPECT_EQ(p.options->metrics_address, ":8080");
  EXPECT_TRUE(p.options->namespaces.empty());
  EXPECT_EQ(p.options->controllers, (std::vector<std::string>{"checkpointstore", "trainrun"}));
}

TEST(OptionsTest, ControllersCanBeNarrowedButNotEmptiedOrMisspelt) {
  auto p = Parse({"--controllers", "checkpointstore"});
  ASSERT_TRUE(p.options);
  EXPECT_EQ(p.options->controllers, std::vector<std::string>{"checkpointstore"});
  EXPECT_EQ(Parse({"--controllers", "trainruns"}).exit_code, 2);
}

TEST(OptionsTest, FlagsParseDurationsListsAndBooleans) {
  auto p = Parse({"--namespaces", "team-a,team-b", "--fsx-poll-interval", "500ms", "--fsx-resync-interval", "15m",
                  "--leader-elect=false", "--trainrun-workers", "4", "--log-json"});
  ASSERT_TRUE(p.options);
  EXPECT_EQ(p.options->namespaces, (std::vector<std::string>{"team-a", "team-b"}));
  EXPECT_EQ(p.options->fsx_poll, 500ms);
  EXPECT_EQ(p.options->fsx_resync, 15min);
  EXPECT_FALSE(p.options->leader_elect);
  EXPECT_EQ(p.options->trainrun_workers, 4);
  EXPECT_TRUE(p.options->log_json);
}

TEST(OptionsTest, EnvironmentFillsWhatFlagsLeaveUnset) {
  setenv("CKPT_TRAINRUN_POLL_INTERVAL", "1m", 1);
  setenv("WATCH_NAMESPACES", "ml", 1);
  auto from_env = Parse({});
  auto flag_wins = Parse({"--trainrun-poll-interval", "5s"});
  unsetenv("CKPT_TRAINRUN_POLL_INTERVAL");
  unsetenv("WATCH_NAMESPACES");
  ASSERT_TRUE(from_env.options && flag_wins.options);
  EXPECT_EQ(from_env.options->trainrun_poll, 1min);
  EXPECT_EQ(from_env.options->namespaces, std::vector<std::string>{"ml"});
  EXPECT_EQ(flag_wins.options->trainrun_poll, 5s);
}

TEST(OptionsTest, HelpAndVersionExitZeroAndBadInputExitsTwo) {
  EXPECT_EQ(Parse({"--version"}).exit_code, 0);
  EXPECT_FALSE(Parse({"--help"}).options);
  EXPECT_EQ(Parse({"--help"}).exit_code, 0);
  for (auto args : std::vector<std::vector<const char*>>{{"--fsx-poll-interval", "soon"},
                                                           {"--trainrun-workers", "0"},
                                                           {"--log-level", "loud"},
                                                           {"--no-such-flag"},
                                                           {"--renew-deadline", "20s"}}) {  // > lease duration
    auto p = Parse(args);
    EXPECT_FALSE(p.options) << args[0];
    EXPECT_EQ(p.exit_code, 2) << args[0];
  }
}

TEST(OptionsTest, DurationsAcceptUnitsAndRefuseTheRest) {
  EXPECT_EQ(*ParseDuration("250ms"), 250ms);
  EXPECT_EQ(*ParseDuration("1.5s"), 1500ms);
  EXPECT_EQ(*ParseDuration("2h"), 2h);
  EXPECT_EQ(*ParseDuration("30"), 30s);
  for (const char* bad : {"", "s", "-1s", "10x", "ten"}) EXPECT_FALSE(ParseDuration(bad).ok()) << bad;
}

}  // namespace
}  // namespace ckpt::operator_main
