// Informer cache (see include/ckpt/kube/store.h). A shared_mutex guards the object map and the
// indexes; readers take it shared, the single writer exclusive. Handlers run after the lock is
// released so they may read the cache.
#include "ckpt/kube/store.h"

#include <algorithm>

namespace ckpt::kube {
namespace internal {

struct CacheState {
  std::map<std::string, IndexFunc> indexers;

  mutable std::shared_mutex mu;
  // State below is protected by mu.
  std::unordered_map<std::string, ObjectPtr> objects;
  std::map<std::string, std::unordered_map<std::string, std::set<std::string>>> indexes;
  bool ready = false;

  mutable std::mutex ready_mu;
  mutable std::condition_variable ready_cv;

  void IndexLocked(const std::string& key, const Json& obj, bool add) {
    for (const auto& [name, fn] : indexers) {
      auto& index = indexes[name];
      for (const auto& value : fn(obj)) {
        if (add) {
          index[value].insert(key);
          continue;
        }
        auto it = index.find(value);
        if (it == index.end()) continue;
        it->second.erase(key);
        if (it->second.empty()) index.erase(it);
      }
    }
  }

  // Stores `obj` under `key` (null removes); returns the previous object.
  ObjectPtr PutLocked(const std::string& key, ObjectPtr obj) {
    ObjectPtr old;
    auto it = objects.find(key);
    if (it != objects.end()) {
      old = it->second;
      IndexLocked(key, *old, false);
    }
    if (obj) {
      IndexLocked(key, *obj, true);
      objects[key] = std::move(obj);
    } else if (it != objects.end()) {
      objects.erase(it);
    }
    return old;
  }
};

}  // namespace internal

namespace {
std::string ResourceVersionOf(const Json& obj) {
  auto md = obj.find("metadata");
  if (md == obj.end() || !md->is_object()) return "";
  return md->value("resourceVersion", "");
}
}  // namespace

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

ObjectPtr Store::Get(std::string_view key) const {
  std::shared_lock l(state_->mu);
  auto it = state_->objects.find(std::string(key));
  return it == state_->objects.end() ? nullptr : it->second;
}

std::vector<ObjectPtr> Store::List() const {
  std::shared_lock l(state_->mu);
  std::vector<ObjectPtr> out;
  out.reserve(state_->objects.size());
  for (const auto& [k, v] : state_->objects) out.push_back(v);
  return out;
}

std::vector<ObjectPtr> Store::ByIndex(std::string_view index, std::string_view value) const {
  std::shared_lock l(state_->mu);
  std::vector<ObjectPtr> out;
  auto idx = state_->indexes.find(std::string(index));
  if (idx == state_->indexes.end()) return out;
  auto keys = idx->second.find(std::string(value));
  if (keys == idx->second.end()) return out;
  for (const auto& k : keys->second) out.push_back(state_->objects.at(k));
  return out;
}

size_t Store::size() const {
  std::shared_lock l(state_->mu);
  return state_->objects.size();
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

ObjectPtr Writer::Prepare(Json&& obj) const {
  if (transform_) transform_(obj);
  return std::make_shared<const Json>(std::move(obj));
}

void Writer::Notify(const ObjectEvent& e) const {
  for (const auto& h : handlers_) h(e);
}

void Writer::Apply(WatchEvent&& event) {
  using T = WatchEvent::Type;
  if (event.type != T::kAdded && event.type != T::kModified && event.type != T::kDeleted) return;
  std::string key = KeyOf(event.object);
  ObjectPtr obj = Prepare(std::move(event.object));
  ObjectPtr old;
  {
    std::unique_lock l(state_->mu);
    old = state_->PutLocked(key, event.type == T::kDeleted ? nullptr : obj);
  }
  if (event.type == T::kDeleted) {
    if (old) Notify({ObjectEvent::Type::kDeleted, old, obj});
    return;
  }
  Notify({old ? ObjectEvent::Type::kUpdated : ObjectEvent::Type::kAdded, old, obj});
}

void Writer::Replace(std::vector<Json>&& items) {
  std::vector<ObjectEvent> events;
  {
    std::unique_lock l(state_->mu);
    std::unordered_map<std::string, ObjectPtr> fresh;
    fresh.reserve(items.size());
    for (auto& item : items) {
      std::string key = KeyOf(item);
      fresh.emplace(std::move(key), Prepare(std::move(item)));
    }
    std::vector<std::string> gone;
    for (const auto& [key, obj] : state_->objects)
      if (!fresh.count(key)) gone.push_back(key);
    for (const auto& key : gone) events.push_back({ObjectEvent::Type::kDeleted, nullptr, state_->PutLocked(key, nullptr)});
    for (auto& [key, obj] : fresh) {
      auto it = state_->objects.find(key);
      if (it != state_->objects.end() && ResourceVersionOf(*it->second) == ResourceVersionOf(*obj)) continue;
      ObjectPtr old = state_->PutLocked(key, obj);
      events.push_back({old ? ObjectEvent::Type::kUpdated : ObjectEvent::Type::kAdded, old, obj});
    }
    state_->ready = true;
  }
  {
    std::lock_guard l(state_->ready_mu);
    state_->ready_cv.notify_all();
  }
  for (auto& e : events) {
    if (e.type == ObjectEvent::Type::kDeleted) e.old_object = e.object;
    Notify(e);
  }
}

}  // namespace ckpt::kube
