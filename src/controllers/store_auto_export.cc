// Automatic export switched off for the final export and back on when the file system stays.
// AWS: "Automatic export and export data repository tasks cannot run at the same time"
// (LustreGuide/export-changed-data-meta-dra.html), so before the final export's task every
// association that exports automatically is updated to an AutoExportPolicy without events. Each
// one's own events are recorded in status.finalExport.autoExportPaused ({id, path, events})
// and written to the API server before FSx is asked, so a crash or a refusal between two updates
// still knows what to switch back on, and a restore gives each association exactly the events it
// had (someone else's association on the file system included), not what the spec would say.
// An exporting association FSx reports MISCONFIGURED or FAILED cannot take part in an export: the
// deletion stops there (Stalled) instead of waiting for it for ever; one that exports nothing is
// no concern of the export's.
#include <algorithm>

#include "controllers/fsx_cache.h"
#include "controllers/store_context.h"

namespace ckpt::controllers {
namespace {

Json ExportEvents(const Json& association) {
  return association.value("/S3/AutoExportPolicy/Events"_json_pointer, Json::array());
}

bool Recorded(const Json& paused, const std::string& id) {
  return std::any_of(paused.begin(), paused.end(), [&](const Json& p) { return p.value("id", "") == id; });
}

const Json* ById(const std::vector<Json>& associations, const std::string& id) {
  for (const auto& a : associations)
    if (a.value("AssociationId", "") == id) return &a;
  return nullptr;
}

// status.finalExport.autoExportPaused as {id, path, events} entries; an entry written as a bare id
// (before the events were recorded) takes the spec's events for its path, as restores did then.
Json& PausedRecord(Json& status, const Json& spec, const std::vector<Json>& current) {
  Json& paused = status["finalExport"]["autoExportPaused"];
  if (!paused.is_array()) paused = Json::array();
  for (auto& p : paused) {
    if (!p.is_string()) continue;
    const Json* a = ById(current, p.get<std::string>());
    const std::string path = a ? a->value("FileSystemPath", "") : "";
    Json events = Json::array();
    for (const auto& w : spec.value("/dataRepository/associations"_json_pointer, Json::array()))
      if (w.value("path", "") == path) events = S3Policies(w).value("/AutoExportPolicy/Events"_json_pointer, Json::array());
    p = {{"id", p}, {"path", path}, {"events", events}};
  }
  return paused;
}

std::string Listed(const Json& paused) {
  std::string out;
  for (const auto& p : paused) out += (out.empty() ? "" : ", ") + p.value("path", "") + " (" + p.value("id", "") + ")";
  return out;
}

}  // namespace

// Switches automatic export off on every association that still exports. True once none does
// and every association is AVAILABLE (FSx takes the update through UPDATING). On a refusal the
// associations already paused are switched back on and false is returned (c.refused).
StatusOr<bool> CheckpointStoreReconciler::PauseAutoExport(Ctx& c, const std::string& fs_id,
                                                           const std::vector<Json>& associations) {
  Json& paused = PausedRecord(c.status, c.store["spec"], associations);
  bool recorded = false;
  for (const auto& a : associations)
    if (a.value("Lifecycle", "") == "AVAILABLE" && !ExportEvents(a).empty() && !Recorded(paused, a.value("AssociationId", ""))) {
      paused.push_back({{"id", a.value("AssociationId", "")}, {"path", a.value("FileSystemPath", "")}, {"events", ExportEvents(a)}});
      recorded = true;
    }
  if (recorded) RETURN_IF_ERROR(WriteStatus(c));  // what each one exported, before FSx is asked
  bool settled = true;
  Json now_paused = Json::array();
  for (const auto& a : associations) {
    const std::string lifecycle = a.value("Lifecycle", ""), id = a.value("AssociationId", "");
    if (lifecycle == "DELETING") continue;
    const bool exports = !ExportEvents(a).empty() || Recorded(paused, id);
    if ((lifecycle == "MISCONFIGURED" || lifecycle == "FAILED") && !exports) continue;  // takes no part in the export
    if (lifecycle == "MISCONFIGURED" || lifecycle == "FAILED") {
      RETURN_IF_ERROR(Refuse(c, "Ready", Status(StatusCode::kConflict,
          "association " + id + " at " + a.value("FileSystemPath", "") + " is " + lifecycle + " (" +
          a.value("/FailureDetails/Message"_json_pointer, std::string("no details from FSx")) + "), so the final "
          "export cannot run. Nothing was deleted. Fix or delete that association, or set "
          "spec.dataRepository.finalExport: false to delete without the export").SetReason("AssociationUnavailable")));
      RETURN_IF_ERROR(RestoreAutoExport(c, fs_id).status());
      return false;
    }
    if (lifecycle != "AVAILABLE") settled = false;
    if (ExportEvents(a).empty()) continue;
    settled = false;
    if (lifecycle != "AVAILABLE") continue;  // FSx takes one change at a time
    Json s3 = a.value("S3", Json::object());
    s3["AutoExportPolicy"] = {{"Events", Json::array()}};
    auto r = fsx_.UpdateDataRepositoryAssociation({{"AssociationId", id}, {"S3", s3}});
    if (!r.ok()) {
      RETURN_IF_ERROR(Refuse(c, "Ready", r.status()));
      RETURN_IF_ERROR(RestoreAutoExport(c, fs_id).status());
      return false;
    }
    cache_.PutAssociation(fs_id, *r);
    now_paused.push_back({{"id", id}, {"path", a.value("FileSystemPath", "")}});
  }
  if (!now_paused.empty())
    events_.Event(c.store, "Normal", "PausedAutomaticExport", "Delete",
                  "paused automatic export on " + Listed(now_paused) + " for the final export: FSx runs an export "
                  "task only while automatic export is off");
  return settled;
}

// The file system stays (FSx refused a step of the deletion, the export failed, or the policy
// became Retain): each paused association gets back the events it had. An association still
// UPDATING stays recorded for the next reconcile; one that is gone, or exports again already,
// needs nothing. True once nothing is left to switch back on; the next attempt plans afresh.
StatusOr<bool> CheckpointStoreReconciler::RestoreAutoExport(Ctx& c, const std::string& fs_id) {
  if (!c.status.contains("finalExport") || !c.status["finalExport"].contains("autoExportPaused") || fs_id.empty())
    return true;
  ASSIGN_OR_RETURN(std::vector<Json> current,
                   fsx_.DescribeDataRepositoryAssociations(Json::array({{{"Name", "file-system-id"}, {"Values", {fs_id}}}})));
  Json& paused = PausedRecord(c.status, c.store["spec"], current);
  Json left = Json::array(), restored = Json::array();
  for (const auto& p : paused) {
    const Json* a = ById(current, p.value("id", ""));
    if (!a || a->value("Lifecycle", "") == "DELETING" || !ExportEvents(*a).empty()) continue;
    if (a->value("Lifecycle", "") != "AVAILABLE") {
      left.push_back(p);
      continue;
    }
    Json s3 = a->value("S3", Json::object());
    s3["AutoExportPolicy"] = {{"Events", p.value("events", Json::array())}};
    ASSIGN_OR_RETURN(Json updated, fsx_.UpdateDataRepositoryAssociation({{"AssociationId", p["id"]}, {"S3", s3}}));
    cache_.PutAssociation(fs_id, updated);
    restored.push_back(p);
  }
  if (!restored.empty())
    events_.Event(c.store, "Normal", "RestoredAutomaticExport", "Delete",
                  "automatic export is on again for " + Listed(restored) + ": the file system stays");
  Json& record = c.status["finalExport"];
  if (!left.empty()) {
    paused = left;
    c.in_flight = true;  // poll until FSx takes the update
    return false;
  }
  for (const char* k : {"autoExportPaused", "paths", "reportPath"}) record.erase(k);
  return true;
}

}  // namespace ckpt::controllers
