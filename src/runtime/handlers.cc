// Change -> key mappings (see include/ckpt/runtime/handlers.h).
#include "ckpt/runtime/handlers.h"

namespace ckpt::runtime {

kube::EventHandler EnqueueSelf(WorkQueue& queue) {
  return [&queue](const kube::ObjectEvent& e) { queue.Add(kube::KeyOf(*e.object)); };
}

namespace {

kube::Json WithoutStatus(kube::Json o) {
  o.erase("status");
  if (auto md = o.find("metadata"); md != o.end()) {
    md->erase("resourceVersion");
    md->erase("managedFields");
  }
  return o;
}

}  // namespace

kube::EventHandler EnqueueSelfUnlessStatusOnly(WorkQueue& queue) {
  return [&queue](const kube::ObjectEvent& e) {
    if (e.type == kube::ObjectEvent::Type::kUpdated) {
      kube::ObjectPtr old = e.OldObject();
      if (old && WithoutStatus(*old) == WithoutStatus(*e.object)) return;
    }
    queue.Add(kube::KeyOf(*e.object));
  };
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

namespace {
bool ReadyConditionTrue(const kube::Json& obj) {
  const auto at = "/status/conditions"_json_pointer;
  if (!obj.contains(at) || !obj.at(at).is_array()) return false;
  for (const auto& c : obj.at(at))
    if (c.is_object() && c.value("type", "") == "Ready") return c.value("status", "") == "True";
  return false;
}

std::optional<double> IntAt(const kube::Json& obj, const kube::Json::json_pointer& at) {
  if (!obj.contains(at) || !obj.at(at).is_number_integer()) return std::nullopt;
  return obj.at(at).get<double>();
}
}  // namespace

kube::EventHandler GaugeStoreReady(Metrics& metrics) {
  return [&metrics](const kube::ObjectEvent& e) {
    const auto& md = (*e.object)["metadata"];
    std::optional<double> ready;
    if (e.type != kube::ObjectEvent::Type::kDeleted) ready = ReadyConditionTrue(*e.object) ? 1 : 0;
    metrics.SetObjectGauge(Metrics::ObjectGauge::kStoreReady, md.value("namespace", ""), md.value("name", ""), ready);
  };
}

kube::EventHandler GaugeRunRestarts(Metrics& metrics) {
  return [&metrics](const kube::ObjectEvent& e) {
    const kube::Json& run = *e.object;
    const std::string phase = PhaseOf(run);
    const bool active = e.type != kube::ObjectEvent::Type::kDeleted && phase != "Succeeded" && phase != "Failed";
    std::optional<double> restarts, budget;
    if (active) {
      restarts = IntAt(run, "/status/restarts"_json_pointer).value_or(0);
      budget = IntAt(run, "/status/effectiveMaxRestarts"_json_pointer);
      if (!budget) budget = IntAt(run, "/spec/resilience/maxRestarts"_json_pointer);
    }
    const std::string ns = run["metadata"].value("namespace", ""), name = run["metadata"].value("name", "");
    metrics.SetObjectGauge(Metrics::ObjectGauge::kRunRestarts, ns, name, restarts);
    metrics.SetObjectGauge(Metrics::ObjectGauge::kRunMaxRestarts, ns, name, budget);
  };
}

kube::EventHandler EnqueueMapped(WorkQueue& queue, std::function<std::vector<std::string>(const kube::Json&)> map) {
  return [&queue, map = std::move(map)](const kube::ObjectEvent& e) {
    for (const auto& key : map(*e.object)) queue.Add(key);
  };
}

}  // namespace ckpt::runtime
