// Prometheus metric families with controller-runtime's names (see include/ckpt/runtime/metrics.h).
#include "ckpt/runtime/metrics.h"

#include <prometheus/text_serializer.h>

namespace ckpt::runtime {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const prometheus::Histogram::BucketBoundaries b{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                         1,     2.5,  5,     10,   30,  60};
  return b;
}

class QueueMetrics final : public QueueObserver {
 public:
  QueueMetrics(prometheus::Gauge& depth, prometheus::Counter& adds, prometheus::Counter& retries,
               prometheus::Histogram& duration)
      : depth_(depth), adds_(adds), retries_(retries), duration_(duration) {}
  void OnAdd() override { adds_.Increment(); }
  void OnDepth(size_t d) override { depth_.Set(static_cast<double>(d)); }
  void OnRetry() override { retries_.Increment(); }
  void OnLatency(std::chrono::nanoseconds q) override { duration_.Observe(std::chrono::duration<double>(q).count()); }

 private:
  prometheus::Gauge& depth_;
  prometheus::Counter& adds_;
  prometheus::Counter& retries_;
  prometheus::Histogram& duration_;
};

}  // namespace

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      reconcile_total_(BuildCounter().Name("controller_runtime_reconcile_total")
                           .Help("Total number of reconciliations per controller").Register(*registry_)),
      reconcile_errors_(BuildCounter().Name("controller_runtime_reconcile_errors_total")
                            .Help("Total number of reconciliation errors per controller").Register(*registry_)),
      terminal_errors_(BuildCounter().Name("controller_runtime_terminal_reconcile_errors_total")
                           .Help("Total number of terminal reconciliation errors per controller").Register(*registry_)),
      reconcile_time_(BuildHistogram().Name("controller_runtime_reconcile_time_seconds")
                          .Help("Length of time per reconciliation per controller").Register(*registry_)),
      active_workers_(BuildGauge().Name("controller_runtime_active_workers")
                          .Help("Number of currently used workers per controller").Register(*registry_)),
      queue_depth_(BuildGauge().Name("workqueue_depth").Help("Current depth of workqueue").Register(*registry_)),
      queue_adds_(BuildCounter().Name("workqueue_adds_total").Help("Total number of adds handled by workqueue")
                      .Register(*registry_)),
      queue_retries_(BuildCounter().Name("workqueue_retries_total").Help("Total number of retries handled by workqueue")
                         .Register(*registry_)),
      queue_duration_(BuildHistogram().Name("workqueue_queue_duration_seconds")
                          .Help("How long in seconds an item stays in workqueue before being requested")
                          .Register(*registry_)),
      rest_requests_(BuildCounter().Name("rest_client_requests_total")
                         .Help("Number of HTTP requests, partitioned by status code and method").Register(*registry_)),
      rest_latency_(BuildHistogram().Name("rest_client_request_duration_seconds")
                        .Help("Request latency in seconds, by verb").Register(*registry_)),
      fsx_requests_(BuildCounter().Name("fsx_api_requests_total")
                        .Help("FSx API attempts by operation and outcome (OK or the FSx error code)")
                        .Register(*registry_)),
      max_concurrent_(BuildGauge().Name("controller_runtime_max_concurrent_reconciles")
                          .Help("Maximum number of concurrent reconciles per controller").Register(*registry_)),
      leader_status_(BuildGauge().Name("leader_election_master_status")
                         .Help("1 while this replica is the leader of the named lease, else 0").Register(*registry_)),
      objects_(BuildGauge().Name("ckpt_objects")
                   .Help("CheckpointStores and TrainRuns in the cache, by status.phase").Register(*registry_)),
      store_ready_(BuildGauge().Name("ckpt_checkpointstore_ready")
                       .Help("1 while the CheckpointStore's Ready condition is True, else 0").Register(*registry_)),
      run_restarts_(BuildGauge().Name("ckpt_trainrun_restarts")
                        .Help("Gang restarts so far of a TrainRun that has not finished").Register(*registry_)),
      run_max_restarts_(BuildGauge().Name("ckpt_trainrun_max_restarts")
                            .Help("The restart budget in force for a TrainRun that has not finished")
                            .Register(*registry_)) {}

std::string Metrics::Serialize() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

void Metrics::ReconcileDone(const std::string& controller, std::string_view result, double seconds) {
  reconcile_total_.Add({{"controller", controller}, {"result", std::string(result)}}).Increment();
  if (result == "error" || result == "terminal_error") reconcile_errors_.Add({{"controller", controller}}).Increment();
  if (result == "terminal_error") terminal_errors_.Add({{"controller", controller}}).Increment();
  reconcile_time_.Add({{"controller", controller}}, LatencyBuckets()).Observe(seconds);
}

void Metrics::ActiveWorkers(const std::string& controller, double delta) {
  active_workers_.Add({{"controller", controller}}).Increment(delta);
}

void Metrics::RestRequest(std::string_view method, int code, double seconds) {
  rest_requests_.Add({{"method", std::string(method)}, {"code", code ? std::to_string(code) : "<error>"}}).Increment();
  if (method != "WATCH")  // a watch lasts minutes by design: its duration is not a latency
    rest_latency_.Add({{"verb", std::string(method)}}, LatencyBuckets()).Observe(seconds);
}

void Metrics::FsxRequest(std::string_view op, std::string_view code) {
  fsx_requests_.Add({{"op", std::string(op)}, {"code", std::string(code)}}).Increment();
}

void Metrics::InitController(const std::string& controller, int workers) {
  max_concurrent_.Add({{"controller", controller}}).Set(workers);
  for (const char* result : {"success", "error", "requeue_after", "terminal_error"})
    reconcile_total_.Add({{"controller", controller}, {"result", result}});
  reconcile_errors_.Add({{"controller", controller}});
  terminal_errors_.Add({{"controller", controller}});
  active_workers_.Add({{"controller", controller}});
}

void Metrics::LeaderStatus(const std::string& name, bool leading) {
  leader_status_.Add({{"name", name}}).Set(leading ? 1 : 0);
}

void Metrics::ObjectPhase(const std::string& kind, const std::optional<std::string>& from,
                          const std::optional<std::string>& to) {
  if (from == to) return;
  auto gauge = [&](const std::string& phase) -> prometheus::Gauge& {
    return objects_.Add({{"kind", kind}, {"phase", phase.empty() ? "None" : phase}});
  };
  if (from) gauge(*from).Decrement();
  if (to) gauge(*to).Increment();
}

void Metrics::SetObjectGauge(ObjectGauge gauge, const std::string& ns, const std::string& name,
                             std::optional<double> value) {
  auto& family = gauge == ObjectGauge::kStoreReady    ? store_ready_
                 : gauge == ObjectGauge::kRunRestarts ? run_restarts_
                                                      : run_max_restarts_;
  const prometheus::Labels labels{{"namespace", ns}, {"name", name}};
  if (value) {
    family.Add(labels).Set(*value);
  } else if (family.Has(labels)) {
    family.Remove(&family.Add(labels));
  }
}

QueueObserver* Metrics::QueueObserverFor(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  auto& slot = observers_[name];
  if (!slot) {
    prometheus::Labels labels{{"name", name}, {"controller", name}};
    slot = std::make_unique<QueueMetrics>(queue_depth_.Add(labels), queue_adds_.Add(labels),
                                          queue_retries_.Add(labels), queue_duration_.Add(labels, LatencyBuckets()));
  }
  return slot.get();
}

}  // namespace ckpt::runtime
