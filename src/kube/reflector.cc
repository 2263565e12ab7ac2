// The list-then-watch loop (see include/ckpt/kube/reflector.h for the state machine).
#include "ckpt/kube/reflector.h"

#include <spdlog/spdlog.h>

#include <thread>

#include "ckpt/kube/api_error.h"

namespace ckpt::kube {

Reflector::Reflector(KubeClient& client, ReflectorOptions options, Writer& writer, Clock& clock, uint64_t seed)
    : client_(client),
      options_(std::move(options)),
      writer_(writer),
      clock_(clock),
      backoff_(WatchBackoff(), std::chrono::seconds(120), seed) {}

std::string Reflector::resource_version() const {
  std::lock_guard<std::mutex> l(rv_mu_);
  return resource_version_;
}

Status Reflector::ListAll(std::stop_token stop) {
  state_ = WatchState::kListing;
  ++stats_.lists;
  std::vector<PreparedObject> items;  // slimmed page by page: never all full objects at once
  ListOptions o{options_.label_selector, options_.field_selector, options_.page_size, "", "", ""};
  std::string rv;
  do {
    if (stop.stop_requested()) return Status(StatusCode::kCancelled, "stopped");
    auto page = client_.List(options_.resource, options_.namespace_, o);
    // 410 mid-list: the continue token expired; the caller restarts the list from scratch.
    if (!page.ok()) return page.status();
    auto& md = (*page)["metadata"];
    rv = md.value("resourceVersion", "");
    o.continue_token = md.value("continue", "");
    for (auto& item : (*page)["items"]) {
      // List items omit kind/apiVersion; restore them so cached objects look like watched ones.
      item["kind"] = options_.resource.kind;
      item["apiVersion"] = options_.resource.ApiVersion();
      items.push_back(writer_.Prepare(std::move(item)));
    }
  } while (!o.continue_token.empty());
  writer_.Replace(std::move(items), options_.namespace_);
  {
    std::lock_guard<std::mutex> l(rv_mu_);
    resource_version_ = rv;
  }
  state_ = WatchState::kWatching;
  return Status::Ok();
}

Status Reflector::WatchOnce(std::stop_token stop) {
  ++stats_.watches;
  WatchOptions o;
  o.resource_version = resource_version();
  o.label_selector = options_.label_selector;
  o.field_selector = options_.field_selector;
  o.timeout_seconds = options_.watch_timeout_seconds;
  o.stop = stop;
  Status in_stream;
  Status s = client_.Watch(options_.resource, options_.namespace_, o, [&](WatchEvent&& e) {
    if (e.type == WatchEvent::Type::kError) {
      in_stream = StatusFromApiStatus(e.object);
      return false;
    }
    std::string rv = e.object["metadata"].value("resourceVersion", "");
    if (e.type != WatchEvent::Type::kBookmark) {
      ++stats_.events;
      writer_.Apply(std::move(e));
    }
    backoff_.MarkHealthy(clock_.Monotonic());
    std::lock_guard<std::mutex> l(rv_mu_);
    if (!rv.empty()) resource_version_ = rv;
    return true;
  });
  return in_stream.ok() ? s : in_stream;
}

Status Reflector::Step(std::stop_token stop) {
  try {
    return state_ == WatchState::kWatching ? WatchOnce(stop) : ListAll(stop);
  } catch (const nlohmann::json::exception& e) {  // the server sent a field of an unexpected type
    return InvalidArgument(std::string("malformed list/watch response: ") + e.what());
  }
}

void Reflector::Run(std::stop_token stop) {
  int gone_in_a_row = 0;
  while (!stop.stop_requested()) {
    Status s = Step(stop);
    if (stop.stop_requested()) break;
    if (s.ok()) {  // list done, or the server ended the watch at its timeout
      gone_in_a_row = 0;
      continue;
    }
    if (s.IsGone()) {
      // 410: our resourceVersion fell out of the watch window (or a continue token expired).
      ++stats_.gone;
      state_ = WatchState::kEmpty;
      if (++gone_in_a_row == 1) continue;  // relist at once; a second 410 in a row backs off
    }
    ++stats_.errors;
    if (state_ != WatchState::kWatching) state_ = WatchState::kEmpty;
    auto delay = backoff_.NextDelay(clock_.Monotonic());
    // Warn: a Forbidden list (RBAC) or an unknown resource (missing CRD) must be visible in the log.
    spdlog::warn("{} {} {}: {} (retrying in {}ms)", state_ == WatchState::kWatching ? "watch" : "list",
                 options_.resource.plural, options_.namespace_.empty() ? "in all namespaces" : "in " + options_.namespace_,
                 s.ToString(), delay.count());
    (void)SleepFor(clock_, delay, stop);
  }
}

}  // namespace ckpt::kube
