// Manager: runs the operator's parts in controller-runtime's order and owns their lifecycle.
//   1. the probe/metrics HTTP server (/healthz, /readyz, /metrics);
//   2. the informers (caches), waiting until each has listed once (then /readyz turns 200);
//   3. the controllers, only while this process holds the leader Lease (when election is on).
// Run() returns when `stop` is requested (SIGTERM): controllers finish their in-flight
// reconciles, the lease is released, informers stop. Losing the lease ends the process at once
// with exit code 1 (never demote in place).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "ckpt/common/clock.h"
#include "ckpt/http/server.h"
#include "ckpt/kube/informer.h"
#include "ckpt/runtime/controller.h"
#include "ckpt/runtime/leader_election.h"
#include "ckpt/runtime/metrics.h"

namespace ckpt::runtime {

struct ManagerOptions {
  std::string probe_address = "127.0.0.1:8081";  // host:port; "0" disables; port 0 picks one
  std::optional<LeaderElectionOptions> leader_election;
  std::string metrics_address;  // a second server for /metrics; "" = the probe server
  std::chrono::seconds cache_sync_timeout{120};
};


class Manager {
 public:
  Manager(ManagerOptions options, kube::KubeClient& client, Clock& clock, Metrics& metrics);
  ~Manager();

  // REQUIRES: before Run(). Pointers must outlive the Manager.
  void AddInformer(kube::Informer* informer) { informers_.push_back(informer); }
  void AddController(Controller* controller) { controllers_.push_back(controller); }
  // Something else that runs only while this process leads, beside the controllers (a poller).
  void AddRunnable(std::function<void(std::stop_token)> runnable) { runnables_.push_back(std::move(runnable)); }

  // Blocks until `stop`; returns the process exit code (0 clean, 1 cache sync or lease failure).
  int Run(std::stop_token stop);

  // The port the probe server listens on (after Run started it), for tests.
  int probe_port() const;
  bool ready() const;

 private:
  http::HttpResponse ServeProbe(const std::string& path) const;
  Status StartProbes();
  Status StartCaches(std::stop_token stop);
  void RunControllers(std::stop_token stop);

  const ManagerOptions options_;
  kube::KubeClient& client_;
  Clock& clock_;
  Metrics& metrics_;
  std::vector<kube::Informer*> informers_;
  std::vector<Controller*> controllers_;
  std::vector<std::function<void(std::stop_token)>> runnables_;
  std::unique_ptr<http::HttpServer> probes_, metrics_server_;
};

// Blocks SIGTERM and SIGINT in the calling thread (call first thing in main, before any thread
// starts) and requests `source` to stop when either arrives, from a dedicated thread.
void StopOnSignals(std::stop_source source);

}  // namespace ckpt::runtime
