// Unit tests for the controller loop wrapper: how results and errors turn into queue actions,
// exception containment, and the metrics it records.
#include "ckpt/runtime/controller.h"

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <thread>
#include <functional>

namespace ckpt::runtime {
namespace {

using namespace std::chrono_literals;

class ScriptedReconciler : public Reconciler {
 public:
  std::deque<std::function<StatusOr<Action>()>> script;
  std::vector<std::string> keys;
  StatusOr<Action> Reconcile(const std::string& key) override {
    keys.push_back(key);
    auto step = script.front();
    script.pop_front();
    return step();
  }
};

class ControllerTest : public ::testing::Test {
 protected:
  // Reconciles the next key to come due, moving the fake clock in 5 ms steps for at most max_wait.
  bool Step(std::chrono::milliseconds max_wait = 2000s) {
    for (auto waited = 0ms;; waited += 5ms) {
      if (controller_.ProcessReadyForTest()) return true;
      if (waited >= max_wait) return false;
      clock_.Advance(5ms);
    }
  }

  FakeClock clock_;
  Metrics metrics_;
  ScriptedReconciler reconciler_;
  Controller controller_{{"test", 1}, reconciler_, clock_, &metrics_};
};

TEST_F(ControllerTest, RequeueAfterSchedulesTheKeyAgain) {
  reconciler_.script = {[] { return Action::RequeueAfter(30s); }, [] { return Action::AwaitChange(); }};
  controller_.queue().Add("ns/a");
  ASSERT_TRUE(Step());
  clock_.Advance(29s);
  EXPECT_EQ(controller_.queue().Len(), 0u);
  ASSERT_TRUE(Step());
  EXPECT_EQ(reconciler_.keys.size(), 2u);
  EXPECT_FALSE(Step(60s)) << "AwaitChange schedules nothing";
}

TEST_F(ControllerTest, ErrorsBackOffAndTerminalErrorsAreNotRetried) {
  reconciler_.script = {[] { return StatusOr<Action>(Unavailable("fsx down")); },
                        [] { return StatusOr<Action>(Unavailable("fsx down")); },
                        [] { return StatusOr<Action>(InvalidArgument("bad spec").MarkTerminal()); }};
  controller_.queue().Add("ns/a");
  ASSERT_TRUE(Step());
  EXPECT_EQ(controller_.queue().NumRequeues("ns/a"), 1u);
  ASSERT_TRUE(Step());
  EXPECT_EQ(controller_.queue().NumRequeues("ns/a"), 2u);
  ASSERT_TRUE(Step());
  EXPECT_EQ(controller_.queue().NumRequeues("ns/a"), 0u) << "terminal: forgotten";
  EXPECT_FALSE(Step(3600s)) << "terminal: never retried";
  std::string m = metrics_.Serialize();
  EXPECT_NE(m.find(R"(controller_runtime_reconcile_total{controller="test",result="error"} 2)"), std::string::npos) << m;
  EXPECT_NE(m.find(R"(controller_runtime_terminal_reconcile_errors_total{controller="test"} 1)"), std::string::npos);
  EXPECT_NE(m.find(R"(controller_runtime_reconcile_errors_total{controller="test"} 3)"), std::string::npos);
}

TEST_F(ControllerTest, RetryAfterFromTheServerIsHonoured) {
  reconciler_.script = {[] {
                          return StatusOr<Action>(Status(StatusCode::kTooManyRequests, "slow down").SetRetryAfter(7s));
                        },
                        [] { return Action::AwaitChange(); }};
  controller_.queue().Add("ns/a");
  ASSERT_TRUE(Step());
  clock_.Advance(6s);
  EXPECT_EQ(controller_.queue().Len(), 0u);
  ASSERT_TRUE(Step());
}

TEST_F(ControllerTest, ExceptionsAreContainedAsErrors) {
  reconciler_.script = {[]() -> StatusOr<Action> { throw std::runtime_error("boom"); }};
  controller_.queue().Add("ns/a");
  ASSERT_TRUE(Step());
  EXPECT_EQ(controller_.queue().NumRequeues("ns/a"), 1u);
}

}  // namespace
}  // namespace ckpt::runtime

#include "ckpt/runtime/manager.h"
#include "fakes/fake_kube_client.h"

namespace ckpt::runtime {
namespace {

// Regression: without leader election the manager must keep its controllers running until stop.
TEST(ManagerTest, ControllersRunUntilStopWithoutLeaderElection) {
  testing::FakeKubeClient api;
  Metrics metrics;
  ScriptedReconciler reconciler;
  std::atomic<int> runs{0};
  for (int i = 0; i < 3; ++i) reconciler.script.push_back([&] { ++runs; return StatusOr<Action>(Action::AwaitChange()); });
  Controller controller({"c", 1}, reconciler, SystemClock(), &metrics);
  Manager manager({.probe_address = "0"}, api, SystemClock(), metrics);
  manager.AddController(&controller);
  std::stop_source stop;
  std::jthread run([&] { EXPECT_EQ(manager.Run(stop.get_token()), 0); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  for (const char* k : {"a", "b", "c"}) controller.queue().Add(k);
  for (int i = 0; i < 200 && runs < 3; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(runs.load(), 3) << "keys added after start are still reconciled";
  stop.request_stop();
}

}  // namespace
}  // namespace ckpt::runtime
