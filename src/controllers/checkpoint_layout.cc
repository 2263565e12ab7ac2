// PlanCheckpointLayout (see checkpoint_layout.h).
#include "controllers/checkpoint_layout.h"

#include "controllers/store_plan.h"

#include <algorithm>

namespace ckpt::controllers {
namespace {

std::string TrimSlashes(std::string s) {
  while (s.starts_with("/")) s.erase(0, 1);
  while (s.ends_with("/")) s.pop_back();
  return s;
}

bool Covers(const std::string& association_path, const std::string& fs_path) {
  return association_path == "/" || fs_path == association_path || fs_path.starts_with(association_path + "/");
}

const Json* DataAssociation(const Json& associations) {
  for (const auto& a : associations)
    if (a.value("path", "") == "/data") return &a;
  for (const auto& a : associations)
    if (a.contains("import") && a.value("export", Json::array()).empty()) return &a;
  return nullptr;
}

// Why the store does not vouch for its association at `path` (status.associations[].conflict:
// someone else's, or linked elsewhere than the spec says), or "" when it does.
std::string ConflictAt(const Json& store_status, const std::string& path) {
  for (const auto& a : store_status.value("associations", Json::array()))
    if (a.value("path", "") == path && a.value("conflict", false))
      return "association " + a.value("id", "") + " links " + path + " to " + a.value("dataRepositoryPath", "") +
             (a.value("owned", false) ? ", not where the spec says" : " and was not created by the store") +
             "; see the store's DataRepositoryReady condition";
  return "";
}

// The export verdict for the file-system directory `fs_dir` of store `store_name`.
void JudgeExport(CheckpointLayout& l, const Json& spec, const Json& store_status, const Json& associations,
                 const std::string& fs_dir, const std::string& store_name) {
  auto covering = std::find_if(associations.begin(), associations.end(),
                               [&](const Json& a) { return Covers(a.value("path", "/"), fs_dir); });
  if (associations.empty()) {
    l.reason = "StoreNotLinked";
    l.message = "CheckpointStore " + store_name + " has no S3 data repository: checkpoints in " + l.checkpoint_dir +
                " live only on the file system";
    return;
  }
  if (covering == associations.end()) {
    l.reason = "OutsideEveryAssociation";
    l.message = l.checkpoint_dir + " (file system path " + fs_dir + ") is outside every data repository association of " +
                "CheckpointStore " + store_name + ": nothing there reaches S3. Mark an exporting association " +
                "checkpoints: true, or set spec.checkpoints.subPath under one";
    return;
  }
  const Json events = covering->value("export", Json::array());
  const std::string path = covering->value("path", "/");
  if (std::find(events.begin(), events.end(), "NEW") == events.end()) {
    l.reason = "ExportDisabled";
    l.message = "association " + path + " of CheckpointStore " + store_name + " does not export new files (export: " +
                (events.empty() ? std::string("none") : Joined(events)) + "): checkpoints in " + l.checkpoint_dir + " do not reach S3";
    return;
  }
  if (std::string conflict = ConflictAt(store_status, path); !conflict.empty()) {
    l.reason = "AssociationConflict";
    l.message = "CheckpointStore " + store_name + " does not hold the association at " + path + " as its spec says (" +
                conflict + "), so where " + l.checkpoint_dir + " is exported is not known; no checkpointURI is claimed";
    return;
  }
  std::string base = spec.value("/dataRepository/bucket"_json_pointer, std::string());
  while (base.ends_with("/")) base.pop_back();
  base += "/" + covering->value("prefix", "");
  if (!base.ends_with("/")) base += "/";
  std::string rest = TrimSlashes(path == "/" ? fs_dir : fs_dir.substr(path.size()));
  l.checkpoint_uri = base + rest + (rest.empty() ? "" : "/");
  l.exported = true;
  l.reason = "Exported";
  l.message = "association " + path + " exports " + l.checkpoint_dir + " to " + l.checkpoint_uri + " (" +
              Joined(events) + ")";
}

}  // namespace

const Json* CheckpointAssociation(const Json& associations) {
  for (const auto& a : associations)
    if (a.value("checkpoints", false)) return &a;
  for (const auto& a : associations)
    if (a.value("path", "") == "/checkpoints") return &a;
  return nullptr;
}

CheckpointLayout PlanCheckpointLayout(const Json& trainrun, const Json& store) {
  CheckpointLayout l;
  const Json& spec = trainrun["spec"];
  l.mount_path = "/" + TrimSlashes(spec.value("/checkpoints/mountPath"_json_pointer, std::string(kDefaultMountPath)));
  const Json store_spec = store.value("spec", Json::object());
  const Json associations = store_spec.value("/dataRepository/associations"_json_pointer, Json::array());
  std::string sub;
  if (spec.contains("/checkpoints/subPath"_json_pointer)) {
    sub = TrimSlashes(spec["checkpoints"]["subPath"]);
  } else {
    const Json* home = CheckpointAssociation(associations);
    std::string root = home ? TrimSlashes(home->value("path", "")) : "";
    sub = (root.empty() ? "" : root + "/") + "runs/" + trainrun["metadata"].value("name", "");
  }
  const std::string fs_dir = "/" + sub;
  l.checkpoint_dir = l.mount_path + fs_dir;
  if (const Json* data = DataAssociation(associations)) l.data_dir = l.mount_path + data->value("path", "");
  JudgeExport(l, store_spec, store.value("status", Json::object()), associations, fs_dir,
              store.value("/metadata/name"_json_pointer, std::string()));
  return l;
}

}  // namespace ckpt::controllers
