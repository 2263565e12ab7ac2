// The applied-hash stamp (see applied_hash.h).
#include "controllers/applied_hash.h"

#include "ckpt/common/encoding.h"

namespace ckpt::controllers {

bool StampAndCheckApplied(nlohmann::json& desired, const kube::ObjectPtr& cached) {
  const std::string hash = HexEncode(Sha256(desired.dump())).substr(0, 16);
  desired["metadata"]["annotations"][kAppliedHashAnnotation] = hash;
  if (!cached) return false;
  auto annotations = cached->value("/metadata/annotations"_json_pointer, nlohmann::json::object());
  return annotations.value(kAppliedHashAnnotation, "") == hash;
}

}  // namespace ckpt::controllers
