// LeaderElector: leader election over a coordination.k8s.io/v1 Lease, with client-go's rules and
// defaults (lease 15 s, renew deadline 10 s, retry period 2 s). A candidate takes the lease when
// it is free or when the holder has not renewed it for a full lease duration as measured on the
// candidate's own clock (so clock skew between nodes cannot shorten a lease); every write is a
// compare-and-swap on resourceVersion. The leader renews every retry period, each renewal's
// requests bounded by the renew deadline (kube::ScopedRequestDeadline, as client-go's context),
// so a request that hangs cannot hold it; if it cannot renew within the renew deadline it has
// lost leadership and `on_lost` runs (the daemon exits: never demote in place), before a standby
// may take the lease. On a clean stop the leader releases the lease so a successor starts at once.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>

#include "ckpt/common/clock.h"
#include "ckpt/kube/client.h"

namespace ckpt::runtime {

struct LeaderElectionOptions {
  std::string lease_namespace;
  std::string lease_name;
  std::string identity;  // unique per process, e.g. "<pod name>_<random>"
  std::chrono::milliseconds lease_duration{15'000};
  std::chrono::milliseconds renew_deadline{10'000};
  std::chrono::milliseconds retry_period{2'000};
};

class LeaderElector {
 public:
  LeaderElector(kube::KubeClient& client, LeaderElectionOptions options, Clock& clock);

  // Campaigns until leader, then calls `on_started`, which must return promptly (start the work
  // on other threads). Renews until `stop` (releases the lease and returns) or until renewal
  // fails past the renew deadline (calls `on_lost` and returns). On stop, `on_stopping` runs
  // before the lease is released, so work can drain while we still hold it.
  void Run(std::stop_token stop, const std::function<void()>& on_started, const std::function<void()>& on_lost,
           const std::function<void()>& on_stopping = {});

  bool is_leader() const { return leader_.load(); }

  // One acquire-or-renew attempt (exposed for tests). True when we hold the lease afterwards.
  bool TryAcquireOrRenew();

 private:
  kube::Json NewLeaseSpec(int transitions, const std::string& acquire_time) const;
  bool Release();

  // Constant after construction.
  kube::KubeClient& client_;
  const LeaderElectionOptions options_;
  Clock& clock_;

  // State below is used only by the Run() thread.
  std::atomic<bool> leader_{false};
  std::string observed_record_;      // holder + renewTime as last seen
  Clock::MonoTime observed_at_{};    // our clock when observed_record_ last changed
  std::optional<kube::Json> lease_;  // the last Lease we read or wrote
};

}  // namespace ckpt::runtime
