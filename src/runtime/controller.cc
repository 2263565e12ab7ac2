// The reconcile loop wrapper (see include/ckpt/runtime/controller.h).
#include "ckpt/runtime/controller.h"

#include <spdlog/spdlog.h>

#include "ckpt/runtime/logging.h"

#include <exception>
#include <thread>
#include <vector>

namespace ckpt::runtime {

Controller::Controller(ControllerOptions options, Reconciler& reconciler, Clock& clock, Metrics* metrics)
    : options_(std::move(options)),
      reconciler_(reconciler),
      clock_(clock),
      metrics_(metrics),
      queue_(clock, ReconcileBackoff(), metrics ? metrics->QueueObserverFor(options_.name) : nullptr) {}

void Controller::Run(std::stop_token stop) {
  spdlog::info("controller={} starting {} workers", options_.name, options_.workers);
  if (metrics_) metrics_->InitController(options_.name, options_.workers);
  std::vector<std::jthread> workers;
  for (int i = 0; i < options_.workers; ++i) {
    workers.emplace_back([this, stop] {
      while (ProcessNext(stop)) {
      }
    });
  }
  std::stop_callback on_stop(stop, [this] { queue_.ShutDown(); });
  for (auto& w : workers) w.join();  // Get() returns nullopt at once; in-flight reconciles finish
  spdlog::info("controller={} stopped", options_.name);
}

bool Controller::ProcessNext(std::stop_token stop) {
  auto key = queue_.Get(stop);
  if (!key) return false;
  Handle(*key);
  queue_.Done(*key);
  return true;
}

bool Controller::ProcessReadyForTest() {
  auto key = queue_.TryGet();
  if (!key) return false;
  Handle(*key);
  queue_.Done(*key);
  return true;
}

void Controller::Handle(const std::string& key) {
  const uint64_t id = next_id_++;
  ScopedLogContext log_context({options_.name, key, id});  // every log line below names this reconcile
  if (metrics_) metrics_->ActiveWorkers(options_.name, 1);
  auto start = clock_.Monotonic();
  StatusOr<Action> result = Internal("reconcile did not run");
  try {
    result = reconciler_.Reconcile(key);
  } catch (const std::exception& e) {
    result = Internal(std::string("reconcile threw: ") + e.what());
  } catch (...) {
    result = Internal("reconcile threw a non-standard exception");
  }
  double seconds = std::chrono::duration<double>(clock_.Monotonic() - start).count();
  if (metrics_) metrics_->ActiveWorkers(options_.name, -1);

  std::string_view outcome;
  if (result.ok()) {
    queue_.Forget(key);
    const auto& after = result->requeue_after();
    if (after) queue_.AddAfter(key, *after);
    outcome = after ? "requeue_after" : "success";
    spdlog::debug("reconciled: {} in {:.3f}s", outcome, seconds);
  } else if (result.status().terminal()) {
    queue_.Forget(key);
    outcome = "terminal_error";
    spdlog::error("terminal error (not retried): {}", result.status().ToString());
  } else {
    auto delay = reconciler_.ErrorPolicy(result.status());
    if (delay) queue_.AddAfter(key, *delay);
    else queue_.AddRateLimited(key);
    outcome = "error";
    spdlog::warn("error (retry {}): {}", queue_.NumRequeues(key), result.status().ToString());
  }
  if (metrics_) metrics_->ReconcileDone(options_.name, outcome, seconds);
}

}  // namespace ckpt::runtime
