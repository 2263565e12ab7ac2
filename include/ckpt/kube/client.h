// KubeClient: the verbs ckpt-operator uses on any Kubernetes resource, core or custom. Objects are
// JSON documents (nlohmann::json); failures are Status values built from the API server's
// `Status` body (NotFound, AlreadyExists, Conflict, Invalid with its field causes, Gone,
// TooManyRequests with Retry-After, ...). No exception escapes. Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <stop_token>
#include <string_view>

#include <nlohmann/json.hpp>

#include "ckpt/common/clock.h"
#include "ckpt/common/status.h"
#include "ckpt/kube/config.h"
#include "ckpt/kube/resource.h"

namespace ckpt::kube {

using Json = nlohmann::json;

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  int64_t limit = 0;               // 0: no paging
  std::string continue_token;
  std::string resource_version;    // "" = most recent (quorum read)
  std::string resource_version_match;  // "NotOlderThan" / "Exact" with resource_version
};

struct WatchOptions {
  std::string resource_version;  // resume point; "" starts from "now"
  std::string label_selector;
  std::string field_selector;
  bool allow_bookmarks = true;
  int timeout_seconds = 290;  // server closes the stream after this; client idles out 5 s later
  std::stop_token stop;       // ends the watch within about a second when requested
};

enum class PatchType { kMerge, kJson, kStrategicMerge, kApply };

struct PatchOptions {
  PatchType type = PatchType::kMerge;
  std::string field_manager;  // required for kApply
  bool force = false;         // kApply: take ownership of conflicting fields
  std::string subresource;    // "status" to patch status
};

struct DeleteOptions {
  std::string propagation_policy;  // "", "Foreground", "Background", "Orphan"
  std::string precondition_uid;
  std::string precondition_resource_version;
};

struct WatchEvent {
  enum class Type { kAdded, kModified, kDeleted, kBookmark, kError };
  Type type;
  Json object;  // the object; for kError the API Status
};

// Called for each decoded watch event; return false to end the watch.
using WatchCallback = std::function<bool(WatchEvent&&)>;

class KubeClient {
 public:
  virtual ~KubeClient() = default;

  virtual StatusOr<Json> Get(const Resource& r, std::string_view ns, std::string_view name) = 0;
  // One page of a list: the List object, with metadata.continue set when more pages remain.
  virtual StatusOr<Json> List(const Resource& r, std::string_view ns, const ListOptions& opts) = 0;
  virtual StatusOr<Json> Create(const Resource& r, std::string_view ns, const Json& obj) = 0;
  // PUT of the whole object (or its status when subresource == "status"); namespace and name are
  // taken from obj.metadata; metadata.resourceVersion makes it a compare-and-swap.
  virtual StatusOr<Json> Update(const Resource& r, const Json& obj, std::string_view subresource = "") = 0;
  virtual StatusOr<Json> Patch(const Resource& r, std::string_view ns, std::string_view name,
                               const PatchOptions& opts, std::string_view body) = 0;
  // OK when deleted or already gone is NOT implied: NotFound is returned as an error.
  virtual Status Delete(const Resource& r, std::string_view ns, std::string_view name,
                        const DeleteOptions& opts = {}) = 0;
  // Streams watch events to `on_event` until the server ends the stream (OK), the callback
  // returns false (OK), opts.stop is requested (kCancelled), or an error occurs (HTTP 410 ->
  // IsGone()). An in-stream ERROR event is passed to on_event. Blocks the calling thread.
  virtual Status Watch(const Resource& r, std::string_view ns, const WatchOptions& opts,
                       const WatchCallback& on_event) = 0;
  // The APIResourceList of a group/version ("v1" or "<group>/<version>").
  virtual StatusOr<Json> Discover(std::string_view group_version) = 0;
};

using KubeClientPtr = std::unique_ptr<KubeClient>;

// Bounds every request the calling thread makes through a RestClient while it lives, as the
// deadline of client-go's context does: a request is cut (kTimeout) when `deadline`, on the
// client's monotonic clock, passes, and one made after it fails at once. Nested scopes keep the
// earlier deadline. Used by leader election, whose renewal must end within renewDeadline.
class ScopedRequestDeadline {
 public:
  explicit ScopedRequestDeadline(Clock::MonoTime deadline);
  ~ScopedRequestDeadline();
  ScopedRequestDeadline(const ScopedRequestDeadline&) = delete;
  ScopedRequestDeadline& operator=(const ScopedRequestDeadline&) = delete;
  // The calling thread's deadline, if a scope is open.
  static std::optional<Clock::MonoTime> Current();

 private:
  std::optional<Clock::MonoTime> previous_;
};

// A client over libcurl for `config`.
KubeClientPtr NewRestClient(const ClientConfig& config, Clock& clock = SystemClock());
// A client over `transport` (tests inject faults through an HttpTransportWrapper).
KubeClientPtr NewRestClient(const ClientConfig& config, http::HttpTransportPtr transport, Clock& clock);

}  // namespace ckpt::kube
