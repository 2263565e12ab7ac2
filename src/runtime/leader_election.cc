// Lease-based leader election (see include/ckpt/runtime/leader_election.h).
#include "ckpt/runtime/leader_election.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>

namespace ckpt::runtime {

using kube::Json;
namespace res = kube::resources;

LeaderElector::LeaderElector(kube::KubeClient& client, LeaderElectionOptions options, Clock& clock)
    : client_(client), options_(std::move(options)), clock_(clock) {}

Json LeaderElector::NewLeaseSpec(int transitions, const std::string& acquire_time) const {
  return {{"holderIdentity", options_.identity},
          {"leaseDurationSeconds", std::chrono::duration_cast<std::chrono::seconds>(options_.lease_duration).count()},
          {"acquireTime", acquire_time},
          {"renewTime", FormatRfc3339Micro(clock_.Now())},
          {"leaseTransitions", transitions}};
}

bool LeaderElector::TryAcquireOrRenew() {
  auto got = client_.Get(res::Leases(), options_.lease_namespace, options_.lease_name);
  if (got.status().IsNotFound()) {
    Json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                  {"kind", "Lease"},
                  {"metadata", {{"name", options_.lease_name}, {"namespace", options_.lease_namespace}}},
                  {"spec", NewLeaseSpec(0, FormatRfc3339Micro(clock_.Now()))}};
    auto created = client_.Create(res::Leases(), options_.lease_namespace, lease);
    if (!created.ok()) return false;
    lease_ = *created;
    observed_at_ = clock_.Monotonic();
    return true;
  }
  if (!got.ok()) {
    spdlog::warn("leader election: reading lease {}/{}: {}", options_.lease_namespace, options_.lease_name,
                 got.status().ToString());
    return false;
  }
  const Json& spec = (*got)["spec"];
  std::string holder = spec.value("holderIdentity", "");
  std::string record = holder + "|" + spec.value("renewTime", "");
  if (record != observed_record_) {  // the holder renewed (or changed): restart its lease clock
    observed_record_ = record;
    observed_at_ = clock_.Monotonic();
  }
  bool mine = holder == options_.identity;
  bool expired = clock_.Monotonic() - observed_at_ >= options_.lease_duration;
  if (!mine && !holder.empty() && !expired) return false;

  Json lease = *got;
  int transitions = spec.value("leaseTransitions", 0) + (mine ? 0 : 1);
  lease["spec"] = NewLeaseSpec(transitions, mine ? spec.value("acquireTime", "") : FormatRfc3339Micro(clock_.Now()));
  auto updated = client_.Update(res::Leases(), lease);  // CAS on metadata.resourceVersion
  if (!updated.ok()) return false;
  lease_ = *updated;
  observed_record_ = options_.identity + "|" + (*updated)["spec"].value("renewTime", "");
  observed_at_ = clock_.Monotonic();
  return true;
}

bool LeaderElector::Release() {
  if (!lease_) return false;
  Json lease = *lease_;
  lease["spec"]["holderIdentity"] = "";
  lease["spec"]["leaseDurationSeconds"] = 1;
  return client_.Update(res::Leases(), lease).ok();
}

void LeaderElector::Run(std::stop_token stop, const std::function<void()>& on_started,
                        const std::function<void()>& on_lost, const std::function<void()>& on_stopping) {
  spdlog::info("leader election: {} campaigning for lease {}/{}", options_.identity, options_.lease_namespace,
               options_.lease_name);
  auto acquired = clock_.Monotonic();
  while (!TryAcquireOrRenew()) {
    if (!SleepFor(clock_, options_.retry_period, stop)) return;
    acquired = clock_.Monotonic();
  }
  leader_ = true;
  spdlog::info("leader election: {} became leader", options_.identity);
  on_started();
  auto last_renew = acquired;
  std::chrono::milliseconds next = options_.retry_period;
  while (SleepFor(clock_, next, stop)) {
    // As client-go: a renewal is retried every retry period until renewDeadline after the last
    // success, and every request of it ends by then, so a leader cut off from the API server
    // (requests that hang, not fail) gives up in time, before a standby may take the lease
    // (leaseDuration after the last renewal it saw).
    const auto deadline = last_renew + options_.renew_deadline;
    const auto attempt = clock_.Monotonic();  // the lease's renewTime is taken about now
    bool renewed = false;
    {
      kube::ScopedRequestDeadline bound(deadline);
      renewed = TryAcquireOrRenew();
    }
    const auto now = clock_.Monotonic();
    if (renewed) {
      last_renew = attempt;  // not `now`: a slow answer must not stretch the next deadline
      next = options_.retry_period;
      continue;
    }
    if (now >= deadline) {
      leader_ = false;
      spdlog::error("leader election: {} lost the lease (no renewal for {}ms)", options_.identity,
                    options_.renew_deadline.count());
      on_lost();
      return;
    }
    next = std::min(options_.retry_period, std::chrono::ceil<std::chrono::milliseconds>(deadline - now));
  }
  if (on_stopping) on_stopping();
  leader_ = false;
  if (Release()) spdlog::info("leader election: {} released the lease", options_.identity);
}

}  // namespace ckpt::runtime
