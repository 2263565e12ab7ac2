// Unit tests for the reconcile work queue: dedup, never two holders of one key, earliest
// deadline wins, per-key exponential backoff and Forget, shutdown.
#include "ckpt/runtime/work_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace ckpt::runtime {
namespace {

using namespace std::chrono_literals;

std::optional<std::string> TryGet(WorkQueue& q) {
  std::stop_source s;
  std::jthread stopper([&] {
    std::this_thread::sleep_for(50ms);
    s.request_stop();
  });
  return q.Get(s.get_token());
}

TEST(WorkQueueTest, AddingAQueuedKeyTwiceQueuesItOnce) {
  FakeClock clock;
  WorkQueue q(clock);
  q.Add("ns/a");
  q.Add("ns/a");
  q.Add("ns/b");
  EXPECT_EQ(q.Len(), 2u);
  EXPECT_EQ(TryGet(q), "ns/a");
  EXPECT_EQ(TryGet(q), "ns/b");
}

TEST(WorkQueueTest, AKeyBeingProcessedIsNotHandedOutAgainUntilDone) {
  FakeClock clock;
  WorkQueue q(clock);
  q.Add("k");
  auto first = TryGet(q);
  ASSERT_EQ(first, "k");
  q.Add("k");  // changed while a worker holds it
  EXPECT_EQ(TryGet(q), std::nullopt);
  q.Done("k");
  EXPECT_EQ(TryGet(q), "k") << "re-queued once the first holder is done";
}

TEST(WorkQueueTest, ConcurrentWorkersNeverHoldTheSameKey) {
  WorkQueue q(SystemClock());
  std::atomic<int> holders{0}, max_holders{0}, processed{0};
  std::stop_source stop;
  std::vector<std::jthread> workers;
  for (int i = 0; i < 4; ++i) {
    workers.emplace_back([&] {
      while (auto k = q.Get(stop.get_token())) {
        int h = ++holders;
        max_holders = std::max(max_holders.load(), h);
        std::this_thread::sleep_for(100us);
        --holders;
        ++processed;
        q.Done(*k);
      }
    });
  }
  for (int i = 0; i < 2000; ++i) q.Add("same");
  std::this_thread::sleep_for(100ms);
  q.ShutDown();
  workers.clear();
  EXPECT_EQ(max_holders.load(), 1);
  EXPECT_GE(processed.load(), 1);
}

TEST(WorkQueueTest, EarlierDeadlineWins) {
  FakeClock clock;
  WorkQueue q(clock);
  q.AddAfter("k", 10s);
  q.AddAfter("k", 2s);
  q.AddAfter("k", 30s);  // later: ignored
  clock.Advance(1s);
  EXPECT_EQ(TryGet(q), std::nullopt);
  clock.Advance(1s);
  EXPECT_EQ(TryGet(q), "k");
  q.Done("k");
  clock.Advance(30s);
  EXPECT_EQ(TryGet(q), std::nullopt) << "the superseded deadlines left nothing behind";
}

TEST(WorkQueueTest, ImmediateAddSupersedesADelayedOne) {
  FakeClock clock;
  WorkQueue q(clock);
  q.AddAfter("k", 1h);
  q.Add("k");
  EXPECT_EQ(TryGet(q), "k");
}

TEST(WorkQueueTest, RateLimitedRetriesDoubleUntilForget) {
  FakeClock clock;
  WorkQueue q(clock, ExponentialBackoff{5ms, 1000s, 2.0, 0.0});
  std::vector<std::chrono::milliseconds> waits;
  for (int i = 0; i < 4; ++i) {
    q.AddRateLimited("k");
    std::chrono::milliseconds waited{0};
    std::optional<std::string> k;
    while (!(k = TryGet(q))) {
      clock.Advance(5ms);
      waited += 5ms;
    }
    waits.push_back(waited);
    q.Done("k");
  }
  EXPECT_EQ(waits, (std::vector<std::chrono::milliseconds>{5ms, 10ms, 20ms, 40ms}));
  EXPECT_EQ(q.NumRequeues("k"), 4u);
  q.Forget("k");
  EXPECT_EQ(q.NumRequeues("k"), 0u);
}

TEST(WorkQueueTest, ShutDownReleasesWaitersAndIgnoresAdds) {
  FakeClock clock;
  WorkQueue q(clock);
  std::jthread waiter([&] { EXPECT_EQ(q.Get(std::stop_token()), std::nullopt); });
  std::this_thread::sleep_for(20ms);
  q.ShutDown();
  waiter.join();
  q.Add("k");
  EXPECT_EQ(q.Len(), 0u);
}

TEST(BackoffTest, CapsAndJitterStayInRange) {
  ExponentialBackoff b = WatchBackoff();
  std::mt19937_64 rng(3);
  for (uint32_t n = 0; n < 40; ++n) {
    auto d = b.Delay(n, &rng);
    auto full = ExponentialBackoff{b.initial, b.max, b.factor, 0}.Delay(n);
    EXPECT_LE(d, full);
    EXPECT_GE(d.count(), full.count() / 2);
    EXPECT_LE(d, 30s);
  }
  EXPECT_EQ(ReconcileBackoff().Delay(100), 1000s);
}

TEST(BackoffTest, LoopBackoffResetsAfterAHealthySpell) {
  LoopBackoff b({800ms, 30s, 2.0, 0.0}, 120s, 1);
  auto t = std::chrono::steady_clock::time_point{} + 1h;
  EXPECT_EQ(b.NextDelay(t), 800ms);
  EXPECT_EQ(b.NextDelay(t), 1600ms);
  b.MarkHealthy(t);
  b.MarkHealthy(t + 60s);  // later progress does not restart the spell
  EXPECT_EQ(b.NextDelay(t + 100s), 3200ms) << "healthy for only 100 s";
  b.MarkHealthy(t + 100s);
  EXPECT_EQ(b.NextDelay(t + 230s), 800ms) << "healthy for 130 s: reset";
}

}  // namespace
}  // namespace ckpt::runtime
