// CreateMergePatch (see merge_patch.h): objects are compared key by key, recursing into objects
// present on both sides; everything else that differs is replaced whole.
#include "ckpt/kube/merge_patch.h"

namespace ckpt::kube {

nlohmann::json CreateMergePatch(const nlohmann::json& from, const nlohmann::json& to) {
  if (!from.is_object() || !to.is_object()) return to;
  nlohmann::json patch = nlohmann::json::object();
  for (const auto& [key, old_value] : from.items())
    if (!to.contains(key)) patch[key] = nullptr;
  for (const auto& [key, new_value] : to.items()) {
    auto old_it = from.find(key);
    if (old_it == from.end()) patch[key] = new_value;
    else if (*old_it != new_value) patch[key] = CreateMergePatch(*old_it, new_value);
  }
  return patch;
}

}  // namespace ckpt::kube
