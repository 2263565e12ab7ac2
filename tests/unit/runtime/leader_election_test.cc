// Unit tests for lease acquisition rules with a fake clock and an in-memory API: a fresh lease is
// taken, a held lease is respected until it has not been renewed for a full duration on our own
// clock, and a renewing holder keeps it.
#include "ckpt/runtime/leader_election.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "fakes/fake_kube_client.h"

namespace ckpt::runtime {
namespace {

using namespace std::chrono_literals;

LeaderElectionOptions Opts(const std::string& id) { return {"kube-system", "ckpt-operator", id, 15s, 10s, 2s}; }

TEST(LeaderElectionTest, FirstCandidateTakesAFreeLease) {
  testing::FakeKubeClient api;
  FakeClock clock;
  LeaderElector a(api, Opts("a"), clock);
  EXPECT_TRUE(a.TryAcquireOrRenew());
  auto lease = api.Get(kube::resources::Leases(), "kube-system", "ckpt-operator");
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ((*lease)["spec"]["holderIdentity"], "a");
  EXPECT_EQ((*lease)["spec"]["leaseDurationSeconds"], 15);
}

TEST(LeaderElectionTest, HeldLeaseIsTakenOnlyAfterAFullUnrenewedDuration) {
  testing::FakeKubeClient api;
  FakeClock clock;
  LeaderElector a(api, Opts("a"), clock), b(api, Opts("b"), clock);
  ASSERT_TRUE(a.TryAcquireOrRenew());
  EXPECT_FALSE(b.TryAcquireOrRenew());
  clock.Advance(10s);
  ASSERT_TRUE(a.TryAcquireOrRenew()) << "a renews";
  EXPECT_FALSE(b.TryAcquireOrRenew()) << "b saw a renewal: its lease clock restarts";
  clock.Advance(14s);
  EXPECT_FALSE(b.TryAcquireOrRenew());
  clock.Advance(1s);
  EXPECT_TRUE(b.TryAcquireOrRenew()) << "15 s without renewal: b takes over";
  auto lease = api.Get(kube::resources::Leases(), "kube-system", "ckpt-operator");
  EXPECT_EQ((*lease)["spec"]["holderIdentity"], "b");
  EXPECT_EQ((*lease)["spec"]["leaseTransitions"], 1);
  EXPECT_FALSE(a.TryAcquireOrRenew()) << "a must not steal it back";
}

TEST(LeaderElectionTest, RunLeadsDrainsThenReleasesOnStop) {
  testing::FakeKubeClient api;
  FakeClock clock;
  LeaderElector a(api, Opts("a"), clock), b(api, Opts("b"), clock);
  std::stop_source stop;
  std::atomic<bool> started{false}, drained{false};
  std::jthread runner([&] {
    a.Run(stop.get_token(), [&] { started = true; }, [] { FAIL() << "lost"; }, [&] { drained = true; });
  });
  while (!started) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_TRUE(a.is_leader());
  EXPECT_FALSE(b.TryAcquireOrRenew());
  stop.request_stop();
  runner.join();
  EXPECT_TRUE(drained.load()) << "work drains before the lease is released";
  EXPECT_FALSE(a.is_leader());
  EXPECT_TRUE(b.TryAcquireOrRenew()) << "a released lease is free at once";
}

TEST(LeaderElectionTest, ConcurrentWritersLoseTheCompareAndSwap) {
  testing::FakeKubeClient api;
  FakeClock clock;
  LeaderElector a(api, Opts("a"), clock);
  ASSERT_TRUE(a.TryAcquireOrRenew());
  api.FailNext(Status(StatusCode::kConflict, "modified"));
  EXPECT_FALSE(a.TryAcquireOrRenew());
}

}  // namespace
}  // namespace ckpt::runtime
