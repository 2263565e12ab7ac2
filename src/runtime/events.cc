// events.k8s.io/v1 recorder with series de-duplication (see include/ckpt/runtime/events.h).
#include "ckpt/runtime/events.h"

#include <spdlog/spdlog.h>

#include <random>

namespace ckpt::runtime {

using kube::Json;
namespace res = kube::resources;

namespace {
constexpr auto kForgetAfter = std::chrono::minutes(10);  // a repeat after this starts a new Event

std::string RandomSuffix() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}
}  // namespace

KubeEventRecorder::KubeEventRecorder(kube::KubeClient& client, Clock& clock, std::string controller,
                                     std::string instance, std::chrono::seconds series_interval)
    : client_(client),
      clock_(clock),
      controller_(std::move(controller)),
      instance_(std::move(instance)),
      series_interval_(series_interval) {}

Json KubeEventRecorder::NewEvent(const Json& regarding, std::string_view type, std::string_view reason,
                                 std::string_view action, std::string_view note) const {
  const Json& md = regarding["metadata"];
  std::string ns = md.value("namespace", "default");
  return {{"apiVersion", "events.k8s.io/v1"},
          {"kind", "Event"},
          {"metadata", {{"name", md.value("name", "object") + "." + RandomSuffix()}, {"namespace", ns}}},
          {"eventTime", FormatRfc3339Micro(clock_.Now())},
          {"reportingController", controller_},
          {"reportingInstance", instance_},
          {"type", type},
          {"reason", reason},
          {"action", action},
          {"note", std::string(note.substr(0, 1024))},
          {"regarding",
           {{"apiVersion", regarding.value("apiVersion", "")},
            {"kind", regarding.value("kind", "")},
            {"name", md.value("name", "")},
            {"namespace", md.value("namespace", "")},
            {"uid", md.value("uid", "")},
            {"resourceVersion", md.value("resourceVersion", "")}}}};
}

void KubeEventRecorder::Event(const Json& regarding, std::string_view type, std::string_view reason,
                              std::string_view action, std::string_view note) {
  Key key{regarding["metadata"].value("uid", ""), std::string(type), std::string(reason), std::string(note)};
  auto now = clock_.Monotonic();
  std::unique_lock<std::mutex> l(mu_);
  auto it = seen_.find(key);
  if (it != seen_.end() && now - it->second.first_seen < kForgetAfter) {
    Seen& s = it->second;
    ++s.count;
    if (now - s.last_written < series_interval_) return;  // folded; written with the next repeat
    s.last_written = now;
    Json patch = {{"series", {{"count", s.count}, {"lastObservedTime", FormatRfc3339Micro(clock_.Now())}}}};
    std::string ns = s.ns, name = s.name;
    l.unlock();
    auto r = client_.Patch(res::Events(), ns, name, {kube::PatchType::kMerge}, patch.dump());
    if (!r.ok()) spdlog::warn("event {}/{}: series update failed: {}", ns, name, r.status().ToString());
    return;
  }
  Json event = NewEvent(regarding, type, reason, action, note);
  std::string ns = event["metadata"]["namespace"], name = event["metadata"]["name"];
  seen_[key] = Seen{name, ns, 1, now, now};
  if (seen_.size() > 4096) {  // bounded memory: drop expired series; a flood resets the table
    std::erase_if(seen_, [&](const auto& kv) { return now - kv.second.first_seen >= kForgetAfter; });
    if (seen_.size() > 4096) seen_.clear();
    seen_[key] = Seen{name, ns, 1, now, now};
  }
  l.unlock();
  auto r = client_.Create(res::Events(), ns, event);
  if (!r.ok()) spdlog::warn("event {} {} on {}: {}", type, reason, name, r.status().ToString());
}

}  // namespace ckpt::runtime
