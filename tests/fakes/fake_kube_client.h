// FakeKubeClient: an in-memory KubeClient for unit tests. Keeps objects per resource plural and
// key, assigns uid/resourceVersion/generation, enforces resourceVersion compare-and-swap on
// Update, applies JSON merge patches, and records every call. Watch is not supported (unit tests
// drive caches directly; integration tests use the real API server). Faults can be injected by
// setting `fail_next` to a Status. Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "ckpt/kube/client.h"
#include "ckpt/kube/store.h"

namespace ckpt::testing {

class FakeKubeClient : public kube::KubeClient {
 public:
  using Json = kube::Json;

  StatusOr<Json> Get(const kube::Resource& r, std::string_view ns, std::string_view name) override {
    std::lock_guard<std::mutex> l(mu_);
    Record("get", r, ns, name);
    RETURN_IF_ERROR(TakeFault());
    auto it = objects_[r.plural].find(Key(r, ns, name));
    if (it == objects_[r.plural].end()) return NotFoundFor(r, name);
    return it->second;
  }

  StatusOr<Json> List(const kube::Resource& r, std::string_view ns, const kube::ListOptions&) override {
    std::lock_guard<std::mutex> l(mu_);
    Record("list", r, ns, "");
    RETURN_IF_ERROR(TakeFault());
    Json items = Json::array();
    for (const auto& [k, v] : objects_[r.plural])
      if (ns.empty() || v["metadata"].value("namespace", "") == ns) items.push_back(v);
    return Json{{"metadata", {{"resourceVersion", std::to_string(rv_)}}}, {"items", items}};
  }

  StatusOr<Json> Create(const kube::Resource& r, std::string_view ns, const Json& obj) override {
    std::lock_guard<std::mutex> l(mu_);
    std::string name = obj["metadata"].value("name", "");
    Record("create", r, ns, name);
    RETURN_IF_ERROR(TakeFault());
    std::string key = Key(r, ns, name);
    if (objects_[r.plural].count(key)) return Status(StatusCode::kAlreadyExists, r.plural + " \"" + name + "\" already exists");
    Json o = obj;
    if (r.namespaced) o["metadata"]["namespace"] = std::string(ns);
    o["metadata"]["uid"] = "uid-" + std::to_string(++uid_);
    o["metadata"]["generation"] = 1;
    o["metadata"]["resourceVersion"] = std::to_string(++rv_);
    objects_[r.plural][key] = o;
    return o;
  }

  StatusOr<Json> Update(const kube::Resource& r, const Json& obj, std::string_view subresource) override {
    std::lock_guard<std::mutex> l(mu_);
    const Json& md = obj["metadata"];
    std::string ns = md.value("namespace", ""), name = md.value("name", "");
    Record(subresource.empty() ? "update" : "update/" + std::string(subresource), r, ns, name);
    RETURN_IF_ERROR(TakeFault());
    auto it = objects_[r.plural].find(Key(r, ns, name));
    if (it == objects_[r.plural].end()) return NotFoundFor(r, name);
    std::string want = md.value("resourceVersion", "");
    if (!want.empty() && want != it->second["metadata"]["resourceVersion"])
      return Status(StatusCode::kConflict, "the object has been modified; please apply your changes to the latest version");
    Json o = it->second;
    if (subresource == "status") {
      o["status"] = obj.value("status", Json::object());
    } else {
      Json status = o.value("status", Json());
      bool spec_changed = o.value("spec", Json()) != obj.value("spec", Json());
      o = obj;
      if (!status.is_null()) o["status"] = status;
      o["metadata"]["uid"] = it->second["metadata"]["uid"];
      o["metadata"]["generation"] = it->second["metadata"].value("generation", 1) + (spec_changed ? 1 : 0);
    }
    o["metadata"]["resourceVersion"] = std::to_string(++rv_);
    it->second = o;
    return o;
  }

  StatusOr<Json> Patch(const kube::Resource& r, std::string_view ns, std::string_view name,
                       const kube::PatchOptions& opts, std::string_view body) override {
    std::lock_guard<std::mutex> l(mu_);
    Record("patch", r, ns, name);
    RETURN_IF_ERROR(TakeFault());
    auto it = objects_[r.plural].find(Key(r, ns, name));
    if (it == objects_[r.plural].end()) return NotFoundFor(r, name);
    Json patch = Json::parse(body, nullptr, false);
    if (patch.is_discarded()) return InvalidArgument("patch is not JSON");
    if (opts.type == kube::PatchType::kJson) it->second = it->second.patch(patch);
    else it->second.merge_patch(patch);
    it->second["metadata"]["resourceVersion"] = std::to_string(++rv_);
    return it->second;
  }

  Status Delete(const kube::Resource& r, std::string_view ns, std::string_view name,
                const kube::DeleteOptions&) override {
    std::lock_guard<std::mutex> l(mu_);
    Record("delete", r, ns, name);
    RETURN_IF_ERROR(TakeFault());
    if (!objects_[r.plural].erase(Key(r, ns, name))) return NotFoundFor(r, name);
    return Status::Ok();
  }

  Status Watch(const kube::Resource&, std::string_view, const kube::WatchOptions&, const kube::WatchCallback&) override {
    return Unavailable("FakeKubeClient does not watch");
  }

  StatusOr<Json> Discover(std::string_view) override { return Unavailable("FakeKubeClient has no discovery"); }

  // Test helpers.
  std::vector<std::string> calls() const {
    std::lock_guard<std::mutex> l(mu_);
    return calls_;
  }
  size_t Count(std::string_view verb, std::string_view plural) const {
    std::lock_guard<std::mutex> l(mu_);
    size_t n = 0;
    for (const auto& c : calls_)
      if (c.starts_with(std::string(verb) + " " + std::string(plural) + " ")) ++n;
    return n;
  }
  void FailNext(Status s) {
    std::lock_guard<std::mutex> l(mu_);
    fail_next_ = std::move(s);
  }

 private:
  static std::string Key(const kube::Resource& r, std::string_view ns, std::string_view name) {
    return r.namespaced ? kube::KeyOf(ns, name) : std::string(name);
  }
  static Status NotFoundFor(const kube::Resource& r, std::string_view name) {
    return NotFound(r.plural + " \"" + std::string(name) + "\" not found");
  }
  void Record(const std::string& verb, const kube::Resource& r, std::string_view ns, std::string_view name) {
    calls_.push_back(verb + " " + r.plural + " " + kube::KeyOf(r.namespaced ? ns : "", name));
  }
  Status TakeFault() {
    Status s = std::move(fail_next_);
    fail_next_ = Status::Ok();
    return s;
  }

  mutable std::mutex mu_;
  std::map<std::string, std::map<std::string, Json>> objects_;
  std::vector<std::string> calls_;
  Status fail_next_;
  int64_t rv_ = 100, uid_ = 0;
};

}  // namespace ckpt::testing
