// Change -> key mappings (see include/ckpt/runtime/handlers.h).
#include "ckpt/runtime/handlers.h"

namespace ckpt::runtime {

kube::EventHandler EnqueueSelf(WorkQueue& queue) {
  return [&queue](const kube::ObjectEvent& e) { queue.Add(kube::KeyOf(*e.object)); };
}

kube::EventHandler EnqueueOwner(WorkQueue& queue, std::string owner_group, std::string owner_kind) {
  return [&queue, group = std::move(owner_group), kind = std::move(owner_kind)](const kube::ObjectEvent& e) {
    const auto& md = (*e.object)["metadata"];
    auto refs = md.find("ownerReferences");
    if (refs == md.end() || !refs->is_array()) return;
    for (const auto& ref : *refs) {
      if (!ref.value("controller", false) || ref.value("kind", "") != kind) continue;
      std::string api = ref.value("apiVersion", "");
      std::string ref_group = api.find('/') == std::string::npos ? "" : api.substr(0, api.find('/'));
      if (ref_group == group) queue.Add(kube::KeyOf(md.value("namespace", ""), ref.value("name", "")));
    }
  };
}

namespace {
std::string PhaseOf(const kube::Json& obj) {
  auto status = obj.find("status");
  if (status == obj.end() || !status->is_object()) return "";
  auto phase = status->find("phase");
  return phase != status->end() && phase->is_string() ? phase->get<std::string>() : "";
}
}  // namespace

kube::EventHandler CountPhases(Metrics& metrics, std::string kind) {
  return [&metrics, kind = std::move(kind)](const kube::ObjectEvent& e) {
    using T = kube::ObjectEvent::Type;
    std::optional<std::string> from, to;
    if (e.type != T::kAdded) {
      kube::ObjectPtr old = e.type == T::kDeleted ? e.object : e.OldObject();
      if (old) from = PhaseOf(*old);
    }
    if (e.type != T::kDeleted) to = PhaseOf(*e.object);
    metrics.ObjectPhase(kind, from, to);
  };
}

kube::EventHandler EnqueueMapped(WorkQueue& queue, std::function<std::vector<std::string>(const kube::Json&)> map) {
  return [&queue, map = std::move(map)](const kube::ObjectEvent& e) {
    for (const auto& key : map(*e.object)) queue.Add(key);
  };
}

}  // namespace ckpt::runtime
