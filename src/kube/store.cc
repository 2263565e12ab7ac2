// Informer cache (see include/ckpt/kube/store.h). A shared_mutex guards the entries and the
// indexes; readers take it shared, the single writer exclusive. Entries keep CBOR bytes plus the
// index values computed at insert, so removing or replacing an entry never decodes it. Handlers
// run after the lock is released so they may read the cache.
#include "ckpt/kube/store.h"

#include <malloc.h>

#include <algorithm>

namespace ckpt::kube {
namespace internal {

using Entry = PreparedObject;  // stored with `object` cleared

struct CacheState {
  std::map<std::string, IndexFunc> indexers;

  mutable std::shared_mutex mu;
  // State below is protected by mu.
  std::unordered_map<std::string, Entry> entries;
  std::map<std::string, std::unordered_map<std::string, std::set<std::string>>> indexes;
  bool ready = false;
  std::set<std::string> unlisted_scopes;  // ExpectScopes(): namespaces whose first list is pending

  mutable std::mutex ready_mu;
  mutable std::condition_variable ready_cv;

  void Unindex(const std::string& key, const Entry& e) {
    for (const auto& [name, value] : e.index_values) {
      auto& index = indexes[name];
      auto it = index.find(value);
      if (it == index.end()) continue;
      it->second.erase(key);
      if (it->second.empty()) index.erase(it);
    }
  }

  // Stores `p` (null object removes) and returns the previous encoded state, if any.
  std::shared_ptr<const std::string> PutLocked(const std::string& key, const PreparedObject* p) {
    std::shared_ptr<const std::string> old;
    auto it = entries.find(key);
    if (it != entries.end()) {
      old = it->second.cbor;
      Unindex(key, it->second);
      if (!p) entries.erase(it);
    }
    if (!p) return old;
    for (const auto& [name, value] : p->index_values) indexes[name][value].insert(key);
    Entry e{key, p->resource_version, p->cbor, p->index_values, nullptr};
    entries[key] = std::move(e);
    return old;
  }
};

ObjectPtr Decode(const std::shared_ptr<const std::string>& cbor) {
  if (!cbor) return nullptr;
  return std::make_shared<const Json>(Json::from_cbor(cbor->begin(), cbor->end()));
}

}  // namespace internal

std::string KeyOf(std::string_view ns, std::string_view name) {
  if (ns.empty()) return std::string(name);
  std::string k(ns);
  k += '/';
  k += name;
  return k;
}

std::string KeyOf(const Json& obj) {
  auto md = obj.find("metadata");
  if (md == obj.end() || !md->is_object()) return "";
  return KeyOf(md->value("namespace", ""), md->value("name", ""));
}

void StripManagedFields(Json& obj) {
  auto md = obj.find("metadata");
  if (md == obj.end() || !md->is_object()) return;
  md->erase("managedFields");
  auto ann = md->find("annotations");
  if (ann != md->end() && ann->is_object()) {
    ann->erase("kubectl.kubernetes.io/last-applied-configuration");
    if (ann->empty()) md->erase("annotations");
  }
}

ObjectPtr ObjectEvent::OldObject() const { return internal::Decode(old_encoded); }

ObjectPtr Store::Get(std::string_view key) const {
  std::shared_ptr<const std::string> cbor;
  {
    std::shared_lock l(state_->mu);
    auto it = state_->entries.find(std::string(key));
    if (it == state_->entries.end()) return nullptr;
    cbor = it->second.cbor;
  }
  return internal::Decode(cbor);  // outside the lock: readers never hold up the writer
}

std::vector<ObjectPtr> Store::List() const {
  std::vector<std::shared_ptr<const std::string>> all;
  {
    std::shared_lock l(state_->mu);
    all.reserve(state_->entries.size());
    for (const auto& [k, e] : state_->entries) all.push_back(e.cbor);
  }
  std::vector<ObjectPtr> out;
  out.reserve(all.size());
  for (const auto& c : all) out.push_back(internal::Decode(c));
  return out;
}

std::vector<ObjectPtr> Store::ByIndex(std::string_view index, std::string_view value) const {
  std::vector<std::shared_ptr<const std::string>> hits;
  {
    std::shared_lock l(state_->mu);
    auto idx = state_->indexes.find(std::string(index));
    if (idx == state_->indexes.end()) return {};
    auto keys = idx->second.find(std::string(value));
    if (keys == idx->second.end()) return {};
    for (const auto& k : keys->second) hits.push_back(state_->entries.at(k).cbor);
  }
  std::vector<ObjectPtr> out;
  for (const auto& c : hits) out.push_back(internal::Decode(c));
  return out;
}

size_t Store::size() const {
  std::shared_lock l(state_->mu);
  return state_->entries.size();
}

bool Store::ready() const {
  std::shared_lock l(state_->mu);
  return state_->ready;
}

bool Store::WaitUntilReady(std::chrono::milliseconds timeout) const {
  std::unique_lock l(state_->ready_mu);
  return state_->ready_cv.wait_for(l, timeout, [&] { return ready(); });
}

Writer::Writer(std::map<std::string, IndexFunc> indexers, TransformFunc transform)
    : state_(std::make_shared<internal::CacheState>()), transform_(std::move(transform)) {
  state_->indexers = std::move(indexers);
}

PreparedObject Writer::Prepare(Json&& obj, bool keep_decoded) const {
  if (transform_) transform_(obj);
  PreparedObject p;
  p.key = KeyOf(obj);
  auto md = obj.find("metadata");
  if (md != obj.end() && md->is_object()) p.resource_version = md->value("resourceVersion", "");
  for (const auto& [name, fn] : state_->indexers)
    for (auto& value : fn(obj)) p.index_values.emplace_back(name, std::move(value));
  auto bytes = Json::to_cbor(obj);
  p.cbor = std::make_shared<const std::string>(bytes.begin(), bytes.end());
  if (keep_decoded) p.object = std::make_shared<const Json>(std::move(obj));
  return p;
}

void Writer::Notify(const ObjectEvent& e) const {
  for (const auto& h : handlers_) h(e);
}

void Writer::Apply(WatchEvent&& event) {
  using T = WatchEvent::Type;
  if (event.type != T::kAdded && event.type != T::kModified && event.type != T::kDeleted) return;
  PreparedObject p = Prepare(std::move(event.object), /*keep_decoded=*/true);
  std::shared_ptr<const std::string> old;
  {
    std::unique_lock l(state_->mu);
    old = state_->PutLocked(p.key, event.type == T::kDeleted ? nullptr : &p);
  }
  if (event.type == T::kDeleted) {
    if (old) Notify({ObjectEvent::Type::kDeleted, p.object, old});
    return;
  }
  Notify({old ? ObjectEvent::Type::kUpdated : ObjectEvent::Type::kAdded, p.object, old});
}

void Writer::ExpectScopes(const std::vector<std::string>& namespaces) {
  std::unique_lock l(state_->mu);
  scoped_ = true;
  state_->unlisted_scopes.insert(namespaces.begin(), namespaces.end());
}

void Writer::Replace(std::vector<Json>&& items, std::string_view scope) {
  std::vector<PreparedObject> prepared;
  prepared.reserve(items.size());
  for (auto& item : items) prepared.push_back(Prepare(std::move(item)));
  items.clear();
  Replace(std::move(prepared), scope);
}

void Writer::Replace(std::vector<PreparedObject>&& items, std::string_view scope) {
  // Differences only; each event's object is decoded when its turn to be delivered comes.
  struct Change {
    ObjectEvent::Type type;
    std::shared_ptr<const std::string> now, before;
  };
  std::vector<Change> changes;
  {
    std::unique_lock l(state_->mu);
    std::unordered_map<std::string, PreparedObject*> fresh;
    fresh.reserve(items.size());
    for (auto& item : items) fresh.emplace(item.key, &item);
    std::vector<std::string> gone;
    const std::string prefix = scoped_ ? std::string(scope) + "/" : "";
    for (const auto& [key, entry] : state_->entries)
      if (!fresh.count(key) && key.starts_with(prefix)) gone.push_back(key);
    for (const auto& key : gone) {
      auto old = state_->PutLocked(key, nullptr);
      changes.push_back({ObjectEvent::Type::kDeleted, old, old});
    }
    for (auto& [key, item] : fresh) {
      auto it = state_->entries.find(key);
      if (it != state_->entries.end() && it->second.resource_version == item->resource_version) continue;
      auto old = state_->PutLocked(key, item);
      changes.push_back({old ? ObjectEvent::Type::kUpdated : ObjectEvent::Type::kAdded, item->cbor, old});
    }
    state_->unlisted_scopes.erase(std::string(scope));
    state_->ready = state_->unlisted_scopes.empty();
  }
  items.clear();
  malloc_trim(0);  // a relist frees a whole list's worth of decoded pages: hand it back to the OS
  {
    std::lock_guard l(state_->ready_mu);
    state_->ready_cv.notify_all();
  }
  if (handlers_.empty()) return;
  for (auto& c : changes) Notify({c.type, internal::Decode(c.now), c.before});
}

}  // namespace ckpt::kube
