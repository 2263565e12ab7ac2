// Reflector: keeps a Writer in sync with one resource through the list-then-watch protocol, as an
// explicit state machine (kube-rs watcher::State):
//   kEmpty    -> list page by page (limit/continue) ........................ -> kListing
//   kListing  -> all pages read: Writer::Replace(items), remember list RV .. -> kWatching
//   kWatching -> watch from the RV with bookmarks; every event/bookmark advances the RV;
//                the server's timeout ends the stream: watch again from the RV;
//                410 Gone (HTTP or in-stream ERROR) -> kEmpty (relist).
// Every error backs off (800 ms -> 30 s, x2, jitter, reset after 120 s healthy); it never spins.
#pragma once

#include <atomic>
#include <cstdint>
#include <stop_token>
#include <string>

#include "ckpt/common/clock.h"
#include "ckpt/kube/client.h"
#include "ckpt/kube/store.h"
#include "ckpt/common/backoff.h"

namespace ckpt::kube {

enum class WatchState { kEmpty, kListing, kWatching };

struct ReflectorOptions {
  Resource resource;
  std::string namespace_;  // "" = all namespaces
  std::string label_selector;
  std::string field_selector;
  int64_t page_size = 500;
  int watch_timeout_seconds = 290;
};

// Counters a Reflector keeps; read them from any thread.
struct ReflectorStats {
  std::atomic<uint64_t> lists{0};
  std::atomic<uint64_t> watches{0};
  std::atomic<uint64_t> events{0};
  std::atomic<uint64_t> gone{0};      // 410s that forced a relist
  std::atomic<uint64_t> errors{0};
};

class Reflector {
 public:
  Reflector(KubeClient& client, ReflectorOptions options, Writer& writer, Clock& clock, uint64_t seed = 1);

  // Runs the state machine until `stop` is requested.
  void Run(std::stop_token stop);

  WatchState state() const { return state_.load(); }
  const ReflectorStats& stats() const { return stats_; }
  std::string resource_version() const;
  const Resource& resource() const { return options_.resource; }

 private:
  Status Step(std::stop_token stop);  // one list or watch; JSON type errors become a Status
  Status ListAll(std::stop_token stop);
  Status WatchOnce(std::stop_token stop);

  // Constant after construction.
  KubeClient& client_;
  const ReflectorOptions options_;
  Writer& writer_;
  Clock& clock_;

  // State below is owned by the Run() thread; state_ and stats_ may be read anywhere.
  std::atomic<WatchState> state_{WatchState::kEmpty};
  ReflectorStats stats_;
  LoopBackoff backoff_;
  mutable std::mutex rv_mu_;
  std::string resource_version_;  // guarded by rv_mu_
};

}  // namespace ckpt::kube
