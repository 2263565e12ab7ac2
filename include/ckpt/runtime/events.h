// EventRecorder: publishes events.k8s.io/v1 Events about our objects so `kubectl describe` shows
// what the operator did and why it is stuck. Repeats of the same (object, type, reason, note)
// are folded into the first Event's `series` (count, lastObservedTime) instead of new objects,
// and written at most once per `series_interval`, so a hot error path cannot flood the API.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

#include "ckpt/common/clock.h"
#include "ckpt/kube/client.h"

namespace ckpt::runtime {

class EventRecorder {
 public:
  virtual ~EventRecorder() = default;
  // `type` is "Normal" or "Warning"; `reason` is CamelCase; `note` is for people.
  // Failures to publish are logged, never returned: events are best effort.
  virtual void Event(const kube::Json& regarding, std::string_view type, std::string_view reason,
                     std::string_view action, std::string_view note) = 0;
};

class KubeEventRecorder final : public EventRecorder {
 public:
  KubeEventRecorder(kube::KubeClient& client, Clock& clock, std::string controller, std::string instance,
                    std::chrono::seconds series_interval = std::chrono::seconds(30));

  void Event(const kube::Json& regarding, std::string_view type, std::string_view reason, std::string_view action,
             std::string_view note) override;

 private:
  struct Seen {
    std::string name, ns;
    int count = 1;
    Clock::MonoTime first_seen{}, last_written{};
  };
  using Key = std::tuple<std::string, std::string, std::string, std::string>;  // uid, type, reason, note

  kube::Json NewEvent(const kube::Json& regarding, std::string_view type, std::string_view reason,
                      std::string_view action, std::string_view note) const;

  kube::KubeClient& client_;
  Clock& clock_;
  const std::string controller_, instance_;
  const std::chrono::seconds series_interval_;
  std::mutex mu_;
  std::map<Key, Seen> seen_;  // guarded by mu_
};

}  // namespace ckpt::runtime
