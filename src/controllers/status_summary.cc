// Summary conditions and the shared persistent-error helpers (see status_summary.h).
#include "controllers/status_summary.h"

#include <algorithm>

#include "ckpt/kube/merge_patch.h"
#include "controllers/store_plan.h"

namespace ckpt::controllers {

Status PatchStatus(kube::KubeClient& client, const kube::Resource& resource, const std::string& ns,
                   const std::string& name, Json& written, const Json& status) {
  if (status == written) return Status::Ok();
  Json patch = {{"status", kube::CreateMergePatch(written, status)}};  // drops what status no longer has
  RETURN_IF_ERROR(client.Patch(resource, ns, name, {kube::PatchType::kMerge, "", false, "status"}, patch.dump()).status());
  written = status;
  return Status::Ok();
}

const Json* FindCondition(const Json& status, const std::string& type) {
  if (!status.contains("conditions") || !status["conditions"].is_array()) return nullptr;
  for (const auto& c : status["conditions"])
    if (c.value("type", "") == type) return &c;
  return nullptr;
}

void RemoveCondition(Json& conditions, const std::string& type) {
  if (!conditions.is_array()) return;
  auto it = std::remove_if(conditions.begin(), conditions.end(), [&](const Json& c) { return c.value("type", "") == type; });
  conditions.erase(it, conditions.end());
}

void Summarize(Json& conditions, Health health, const std::string& reason, const std::string& message,
               int64_t generation, const std::string& now) {
  SetCondition(conditions, "Ready", health == Health::kCurrent, reason, message, generation, now);
  if (health == Health::kInProgress) SetCondition(conditions, "Reconciling", true, reason, message, generation, now);
  else RemoveCondition(conditions, "Reconciling");
  if (health == Health::kStalled) SetCondition(conditions, "Stalled", true, reason, message, generation, now);
  else RemoveCondition(conditions, "Stalled");
}

bool IsTransient(const Status& s) { return s.IsTooManyRequests() || s.IsUnavailable() || s.IsTimeout(); }

std::string ErrorReason(const Status& s) {
  return s.reason().empty() ? std::string(StatusCodeName(s.code())) : s.reason();
}

int ErrorStreaks::Record(const std::string& key, bool ok) {
  std::lock_guard<std::mutex> l(mu_);
  if (ok) {
    streaks_.erase(key);
    return 0;
  }
  return ++streaks_[key];
}

}  // namespace ckpt::controllers
