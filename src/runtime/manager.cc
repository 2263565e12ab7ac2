// Start order, leader gating and shutdown of the operator's parts (see include/ckpt/runtime/manager.h).
#include "ckpt/runtime/manager.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "ckpt/http/server.h"

namespace ckpt::runtime {

Manager::Manager(ManagerOptions options, kube::KubeClient& client, Clock& clock, Metrics& metrics)
    : options_(std::move(options)), client_(client), clock_(clock), metrics_(metrics) {}

Manager::~Manager() = default;

int Manager::probe_port() const { return probes_ ? probes_->port() : 0; }

bool Manager::ready() const {
  for (auto* i : informers_)
    if (!i->store().ready()) return false;
  return true;
}

void Manager::RunControllers(std::stop_token stop) {
  std::vector<std::jthread> threads;
  for (auto* c : controllers_) threads.emplace_back([c, stop] { c->Run(stop); });
  for (auto& r : runnables_) threads.emplace_back([&r, stop] { r(stop); });
  for (auto& t : threads) t.join();  // each drains its in-flight reconciles
}

// /healthz: the process serves; /readyz: caches synced; /metrics: Prometheus text format.
http::HttpResponse Manager::ServeProbe(const std::string& path) const {
  if (path == "/healthz" || path == "/livez") return {200, {}, "ok"};
  if (path == "/readyz") return ready() ? http::HttpResponse{200, {}, "ok"} : http::HttpResponse{503, {}, "caches not synced"};
  if (path == "/metrics") return {200, {{"Content-Type", "text/plain; version=0.0.4"}}, metrics_.Serialize()};
  return {404, {}, "not found"};
}

Status Manager::StartProbes() {
  auto serve = [this](const http::ServerRequest& r) { return ServeProbe(r.path); };
  if (options_.probe_address != "0") {
    auto probes = http::HttpServer::Start(options_.probe_address, serve, 2);
    if (!probes.ok()) return probes.status();
    probes_ = std::move(probes).value();
    spdlog::info("probes{} on {} (port {})", options_.metrics_address.empty() ? " and metrics" : "",
                 options_.probe_address, probes_->port());
  }
  if (options_.metrics_address.empty() || options_.metrics_address == "0") return Status::Ok();
  auto metrics = http::HttpServer::Start(options_.metrics_address, serve, 2);
  if (!metrics.ok()) return metrics.status();
  metrics_server_ = std::move(metrics).value();
  spdlog::info("metrics on {} (port {})", options_.metrics_address, metrics_server_->port());
  return Status::Ok();
}

Status Manager::StartCaches(std::stop_token stop) {
  for (auto* i : informers_) i->Start();
  for (auto* i : informers_) {
    if (!i->store().WaitUntilReady(options_.cache_sync_timeout) && !stop.stop_requested())
      return Unavailable("the " + i->reflector().resource().plural + " cache did not sync within " +
                         std::to_string(options_.cache_sync_timeout.count()) + "s (see the warnings above)");
  }
  spdlog::info("caches synced ({} informers)", informers_.size());
  return Status::Ok();
}

int Manager::Run(std::stop_token stop) {
  Status started = StartProbes();
  if (started.ok()) started = StartCaches(stop);
  if (!started.ok()) {
    spdlog::error("{}", started.ToString());
    for (auto* i : informers_) i->Stop();
    return 1;
  }

  std::stop_source controllers_stop;
  std::stop_callback forward(stop, [&] { controllers_stop.request_stop(); });
  std::jthread workers;
  const std::string lease = options_.leader_election ? options_.leader_election->lease_name : "";
  if (!lease.empty()) metrics_.LeaderStatus(lease, false);
  auto start_controllers = [&] {
    if (!lease.empty()) metrics_.LeaderStatus(lease, true);
    workers = std::jthread([&] { RunControllers(controllers_stop.get_token()); });
  };
  auto drain_controllers = [&] {
    controllers_stop.request_stop();
    if (workers.joinable()) workers.join();
    if (!lease.empty()) metrics_.LeaderStatus(lease, false);
  };
  if (options_.leader_election) {
    LeaderElector elector(client_, *options_.leader_election, clock_);
    auto on_lost = [] {
      spdlog::critical("lost leadership: exiting so another replica reconciles alone");
      std::_Exit(1);  // never demote in place
    };
    elector.Run(stop, start_controllers, on_lost, drain_controllers);
  } else {
    start_controllers();
    std::mutex mu;
    std::condition_variable_any cv;
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, stop, [] { return false; });  // run until stop is requested
  }
  drain_controllers();
  for (auto* i : informers_) i->Stop();
  spdlog::info("manager stopped");
  return 0;
}

void StopOnSignals(std::stop_source source) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set, source]() mutable {
    int sig = 0;
    sigwait(&set, &sig);
    spdlog::info("received signal {}: shutting down", sig);
    source.request_stop();
  }).detach();
}

}  // namespace ckpt::runtime
