// The informer cache, split kube-rs style into one Writer (used only by the watch loop) and any
// number of read-only Store views (used by reconcilers). Objects are keyed "namespace/name" (or
// "name" when cluster-scoped), slimmed by a transform before they are stored, and findable
// through named secondary indexes (for example TrainRuns by the store they use). To keep the
// footprint near the objects' own size, each is held as compact CBOR bytes (about a third of a
// JSON DOM) with its index values and resourceVersion beside it; reads decode (~10 us for 2 KB).
// Handlers registered on the Writer see every change once, after the cache reflects it. All
// Store methods are thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ckpt/kube/client.h"

namespace ckpt::kube {

using ObjectPtr = std::shared_ptr<const Json>;

// "namespace/name", or "name" for cluster-scoped objects.
std::string KeyOf(const Json& obj);
std::string KeyOf(std::string_view ns, std::string_view name);

// Maps an object to the index values it should be found under.
using IndexFunc = std::function<std::vector<std::string>(const Json&)>;
// Edits an object in place before it is cached (e.g. drops managedFields).
using TransformFunc = std::function<void(Json&)>;

// Drops what no controller reads: metadata.managedFields and the last-applied annotation.
void StripManagedFields(Json& obj);

struct ObjectEvent {
  enum class Type { kAdded, kUpdated, kDeleted };
  Type type;
  ObjectPtr object;  // the new object; for kDeleted the last known state
  std::shared_ptr<const std::string> old_encoded;  // the cached state before (null for kAdded)

  // The cached state before this change, decoded on demand (null for kAdded).
  ObjectPtr OldObject() const;
};

// An object made ready for the cache: transformed and encoded. Writer::Prepare makes them so a
// relist can slim each page as it arrives instead of holding every full object at once.
struct PreparedObject {
  std::string key;
  std::string resource_version;
  std::shared_ptr<const std::string> cbor;
  std::vector<std::pair<std::string, std::string>> index_values;  // (index name, value)
  ObjectPtr object;  // the decoded form when the caller still needs it (watch events), else null
};
using EventHandler = std::function<void(const ObjectEvent&)>;

namespace internal {
struct CacheState;
}

class Store {
 public:
  ObjectPtr Get(std::string_view key) const;  // null when absent
  std::vector<ObjectPtr> List() const;
  std::vector<ObjectPtr> ByIndex(std::string_view index, std::string_view value) const;
  size_t size() const;
  // True once the first full list has been applied.
  bool ready() const;
  // Blocks until ready() or the timeout passes; returns ready().
  bool WaitUntilReady(std::chrono::milliseconds timeout) const;

 private:
  friend class Writer;
  explicit Store(std::shared_ptr<internal::CacheState> s) : state_(std::move(s)) {}
  std::shared_ptr<internal::CacheState> state_;
};

class Writer {
 public:
  explicit Writer(std::map<std::string, IndexFunc> indexers = {}, TransformFunc transform = StripManagedFields);

  Store store() const { return Store(state_); }
  // REQUIRES: called before the watch loop starts.
  void AddHandler(EventHandler h) { handlers_.push_back(std::move(h)); }

  // Transforms, indexes and encodes one object for the cache; keeps the decoded form only when
  // `keep_decoded` (a relist drops it so a whole list of decoded objects never piles up).
  PreparedObject Prepare(Json&& obj, bool keep_decoded = false) const;
  // Replaces the whole content with a fresh list; handlers see only the differences
  // (added, changed resourceVersion, vanished), so a relist never duplicates events.
  // With ExpectScopes(), `scope` names the namespace the list covered: only that namespace's
  // objects are replaced, and the store is ready once every expected namespace has listed.
  void Replace(std::vector<PreparedObject>&& items, std::string_view scope = "");
  void Replace(std::vector<Json>&& items, std::string_view scope = "");
  // Makes this one cache for several namespaces, each filled by its own list/watch.
  // REQUIRES: before the first Replace().
  void ExpectScopes(const std::vector<std::string>& namespaces);
  // Applies one watch event (ADDED/MODIFIED/DELETED; others are ignored).
  void Apply(WatchEvent&& event);

 private:
  void Notify(const ObjectEvent& e) const;

  std::shared_ptr<internal::CacheState> state_;
  TransformFunc transform_;
  std::vector<EventHandler> handlers_;
  bool scoped_ = false;
};

}  // namespace ckpt::kube
