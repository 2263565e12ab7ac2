// Applied-hash: how both controllers skip a server-side apply whose inputs have not changed. The
// desired object is stamped with a short hash of itself (annotation trainops.io/applied-hash);
// when the cached copy carries the same stamp, the apply would change nothing and is skipped, so
// an object in steady state costs the API server no request. A hand edit is therefore not
// reverted until the inputs change; deleting the object brings it back at once.
#pragma once

#include <nlohmann/json.hpp>

#include "ckpt/kube/store.h"

namespace ckpt::controllers {

inline constexpr char kAppliedHashAnnotation[] = "trainops.io/applied-hash";

// Stamps `desired` with the hash of its content (before the stamp) and returns true when `cached`
// already carries that stamp, i.e. when applying `desired` again can be skipped.
bool StampAndCheckApplied(nlohmann::json& desired, const kube::ObjectPtr& cached);

}  // namespace ckpt::controllers
