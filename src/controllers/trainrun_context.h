// The state one TrainRun reconcile carries between its steps (trainrun_reconciler.cc, which
// decides what to create, and trainrun_status.cc, which mirrors progress into status): the run as
// cached, the status being built (written once at the end), its TrainJob once known.
#pragma once

#include <string>

#include "ckpt/controllers/trainrun.h"
#include "controllers/store_plan.h"

namespace ckpt::controllers {

using kube::Json;

struct TrainRunReconciler::Ctx {
  Json run, status, trainjob;
  const Json original;  // as read: what PreviousReason compares with
  Json written;         // what the API server holds: the base of the next status patch
  std::string ns, name, uid, now;
  int64_t generation;
  Ctx(Json r, std::string t)
      : run(std::move(r)), status(run.value("status", Json::object())), original(status), written(status), now(std::move(t)) {
    ns = run["metadata"].value("namespace", "");
    name = run["metadata"].value("name", "");
    uid = run["metadata"].value("uid", "");
    generation = run["metadata"].value("generation", 0);
  }
  void Condition(const std::string& type, bool ok, const std::string& reason, const std::string& message) {
    SetCondition(status["conditions"], type, ok, reason, message, generation, now);
  }
  // The reason condition `type` had when this reconcile started ("" if it had none).
  std::string PreviousReason(const std::string& type) const {
    for (const auto& c : original.value("conditions", Json::array()))
      if (c.value("type", "") == type) return c.value("reason", "");
    return "";
  }
};

}  // namespace ckpt::controllers
