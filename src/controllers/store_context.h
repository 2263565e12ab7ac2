// The state one CheckpointStore reconcile carries between its steps (see
// checkpoint_store_reconciler.cc and store_final_export.cc): the store as cached, the status being
// built (written once at the end, or at once where a step must record something before going on),
// and whether to poll soon (a lifecycle is moving) or slowly (FSx refused a request).
#pragma once

#include <string>

#include "ckpt/common/encoding.h"

#include "ckpt/controllers/checkpoint_store.h"
#include "controllers/status_summary.h"
#include "controllers/store_plan.h"

namespace ckpt::controllers {

// ClientRequestToken: at most 63 of [A-Za-z0-9_.-]; stable for one store (and path).
inline std::string StoreToken(const std::string& kind, const std::string& uid, const std::string& extra = "") {
  return kind + "-" + HexEncode(Sha256(uid + "/" + extra)).substr(0, 40);
}

inline bool HasStoreFinalizer(const Json& store) {
  for (const auto& f : store["metadata"].value("finalizers", Json::array()))
    if (f == kStoreFinalizer) return true;
  return false;
}

// Whether a data repository task in `lifecycle` still runs (FSx holds the file system for it).
inline bool TaskRunning(const std::string& lifecycle) {
  return lifecycle == "PENDING" || lifecycle == "EXECUTING" || lifecycle == "CANCELING";
}

// status.finalExport for a new attempt after the file system stayed: the task is forgotten, so
// the next attempt pauses and exports afresh.
inline void StartFinalExportOver(Json& record) {
  if (!record.is_object() || !record.contains("taskId")) return;
  record["attempt"] = record.value("attempt", 1) + 1;
  for (const char* k : {"taskId", "lifecycle", "retryAfter"}) record.erase(k);
}

struct CheckpointStoreReconciler::Ctx {
  Json store;
  Json status;
  const Json original_status;  // as read: what PreviousReason compares with
  Json written;                // what the API server holds: the base of the next status patch
  std::string ns, name, uid, now;
  int64_t generation = 0;
  uint64_t fs_version = 0;  // the FSx view's change count for the file system when it was read
  bool in_flight = false;       // an FSx lifecycle is moving: wait for the sweep to see it change
  bool volume_pending = false;  // the claim has not bound: its watch wakes the store
  bool refused = false;    // FSx refused a request: retry slowly
  struct Refusal {
    std::string condition, reason, message;
  } refusal;  // the last refusal, for the summary

  explicit Ctx(Json s, std::string t)
      : store(std::move(s)), status(store.value("status", Json::object())), original_status(status), written(status),
        now(std::move(t)) {
    const Json& md = store["metadata"];
    ns = md.value("namespace", "");
    name = md.value("name", "");
    uid = md.value("uid", "");
    generation = md.value("generation", 0);
  }
  void Condition(const std::string& type, bool ok, const std::string& reason, const std::string& message) {
    SetCondition(status["conditions"], type, ok, reason, message, generation, now);
  }
  std::string PreviousReason(const std::string& type) const {
    for (const auto& c : original_status.value("conditions", Json::array()))
      if (c.value("type", "") == type) return c.value("reason", "");
    return "";
  }
  void Summarize(Health health, const std::string& reason, const std::string& message) {
    controllers::Summarize(status["conditions"], health, reason, message, generation, now);
  }
  // Which associations on `fs` are this store's (its tag, or recorded as owned in status).
  AssociationOwnership Ownership(const Json& fs) const {
    AssociationOwnership owner{uid, OwnedBy(fs, uid), {}};
    for (const auto& a : status.value("associations", Json::array()))
      if (a.value("owned", true)) owner.recorded.push_back(a.value("id", ""));
    return owner;
  }
  bool IsTrue(const std::string& type) const {
    for (const auto& c : status.value("conditions", Json::array()))
      if (c.value("type", "") == type) return c.value("status", "") == "True";
    return false;
  }
};

}  // namespace ckpt::controllers
