// Metrics: the Prometheus registry of the operator with controller-runtime's metric names
// (controller_runtime_reconcile_total{controller,result}, ..._reconcile_errors_total,
// ..._terminal_reconcile_errors_total, ..._reconcile_time_seconds, ..._active_workers,
// workqueue_depth/adds_total/retries_total/queue_duration_seconds{name}) plus REST client
// request counters (rest_client_requests_total{code,method}), leader_election_master_status{name},
// FSx API attempts (fsx_api_requests_total{op,code}), the operator's objects by phase
// (ckpt_objects{kind,phase}) and per-object gauges for alerts that must name the object
// (ckpt_checkpointstore_ready, ckpt_trainrun_restarts, ckpt_trainrun_max_restarts; labels
// namespace, name). docs/metrics.md lists them all. Thread-safe.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "ckpt/runtime/work_queue.h"

namespace ckpt::runtime {

class Metrics {
 public:
  Metrics();

  prometheus::Registry& registry() { return *registry_; }
  std::shared_ptr<prometheus::Registry> shared_registry() { return registry_; }
  // The text exposition format of everything registered.
  std::string Serialize() const;

  // result: success | error | requeue_after | terminal_error.
  void ReconcileDone(const std::string& controller, std::string_view result, double seconds);
  void ActiveWorkers(const std::string& controller, double delta);
  void RestRequest(std::string_view method, int code, double seconds);
  // One FSx API attempt: `code` is "OK" or the FSx error code (feeds fsx_api_requests_total).
  void FsxRequest(std::string_view op, std::string_view code);
  // Exposes a controller's series from the start (all zero, as controller-runtime does), so
  // rate() and alerts work before the first error, and records its worker count.
  void InitController(const std::string& controller, int workers);
  // 1 while this replica holds the lease `name`, else 0.
  void LeaderStatus(const std::string& name, bool leading);
  // An object of `kind` moved from phase `from` to `to` (nullopt: it was created / deleted; an
  // object without a phase yet counts as "None").
  void ObjectPhase(const std::string& kind, const std::optional<std::string>& from,
                   const std::optional<std::string>& to);
  // Per-object gauges, labelled {namespace, name}; nullopt removes the object's series.
  enum class ObjectGauge { kStoreReady, kRunRestarts, kRunMaxRestarts };
  void SetObjectGauge(ObjectGauge gauge, const std::string& ns, const std::string& name, std::optional<double> value);
  // A QueueObserver feeding workqueue_* for the queue `name`; owned by this Metrics.
  QueueObserver* QueueObserverFor(const std::string& name);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& reconcile_total_;
  prometheus::Family<prometheus::Counter>& reconcile_errors_;
  prometheus::Family<prometheus::Counter>& terminal_errors_;
  prometheus::Family<prometheus::Histogram>& reconcile_time_;
  prometheus::Family<prometheus::Gauge>& active_workers_;
  prometheus::Family<prometheus::Gauge>& queue_depth_;
  prometheus::Family<prometheus::Counter>& queue_adds_;
  prometheus::Family<prometheus::Counter>& queue_retries_;
  prometheus::Family<prometheus::Histogram>& queue_duration_;
  prometheus::Family<prometheus::Counter>& rest_requests_;
  prometheus::Family<prometheus::Histogram>& rest_latency_;
  prometheus::Family<prometheus::Counter>& fsx_requests_;
  prometheus::Family<prometheus::Gauge>& max_concurrent_;
  prometheus::Family<prometheus::Gauge>& leader_status_;
  prometheus::Family<prometheus::Gauge>& objects_;
  prometheus::Family<prometheus::Gauge>& store_ready_;
  prometheus::Family<prometheus::Gauge>& run_restarts_;
  prometheus::Family<prometheus::Gauge>& run_max_restarts_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<QueueObserver>> observers_;  // guarded by mu_
};

}  // namespace ckpt::runtime
