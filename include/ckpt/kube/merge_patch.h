// CreateMergePatch: the JSON merge patch (RFC 7386) that turns `from` into `to`, so a controller
// can write only what changed and remove what it dropped. Writing the whole new object as a merge
// patch would leave every key that `to` no longer has in place (a merge patch removes a key only
// when it says null), which silently resurrects stale status such as a finished task's id.
// Arrays are replaced whole, as RFC 7386 defines; nulls inside `to` cannot be expressed and are
// not expected in Kubernetes status.
#pragma once

#include <nlohmann/json.hpp>

namespace ckpt::kube {

nlohmann::json CreateMergePatch(const nlohmann::json& from, const nlohmann::json& to);

}  // namespace ckpt::kube
