// Controller: runs a Reconciler over a WorkQueue with N workers. This loop wrapper is the only
// place that owns retry, timing, metrics, a per-reconcile id for the logs and exception
// containment (controller-runtime reconcileHandler); reconcilers contain none of it.
//   success + RequeueAfter(d) -> Forget, AddAfter(d)     success + AwaitChange -> Forget
//   error                     -> ErrorPolicy delay, else per-key exponential backoff
//   terminal error            -> Forget, counted, not retried
#pragma once

#include <atomic>
#include <memory>
#include <stop_token>
#include <string>

#include "ckpt/common/clock.h"
#include "ckpt/runtime/metrics.h"
#include "ckpt/runtime/reconciler.h"
#include "ckpt/runtime/work_queue.h"

namespace ckpt::runtime {

struct ControllerOptions {
  std::string name;  // metrics label and log prefix, e.g. "checkpointstore"
  int workers = 2;
};

class Controller {
 public:
  Controller(ControllerOptions options, Reconciler& reconciler, Clock& clock, Metrics* metrics = nullptr);

  WorkQueue& queue() { return queue_; }
  const std::string& name() const { return options_.name; }

  // Runs the workers until `stop` is requested, then lets in-flight reconciles finish and returns.
  void Run(std::stop_token stop);

  // Waits for one key and reconciles it; false when the queue is shut down or `stop` requested.
  bool ProcessNext(std::stop_token stop);
  // Reconciles one key if one is due now; false otherwise. Never blocks.
  bool ProcessReadyForTest();

 private:
  void Handle(const std::string& key);

  // Constant after construction.
  const ControllerOptions options_;
  Reconciler& reconciler_;
  Clock& clock_;
  Metrics* const metrics_;
  WorkQueue queue_;
  std::atomic<uint64_t> next_id_{1};
};

}  // namespace ckpt::runtime
