// Pure planning for CheckpointStore (see store_plan.h).
#include "controllers/store_plan.h"

#include "ckpt/controllers/checkpoint_store.h"

#include <algorithm>
#include <map>

namespace ckpt::controllers {
namespace {

// A JSON value as Event text: strings without quotes, anything else as JSON.
std::string Text(const Json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

Json Events(const Json& list) {
  Json out = Json::array();
  for (const auto& e : list) out.push_back(e);
  return out;
}

std::string Bucket(const Json& spec) {
  std::string b = spec.value("/dataRepository/bucket"_json_pointer, std::string());
  while (!b.empty() && b.back() == '/') b.pop_back();
  return b;
}

std::vector<std::string> Sorted(const Json& events) {
  std::vector<std::string> v;
  if (events.is_array())
    for (const auto& e : events) v.push_back(e);
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

Json S3Policies(const Json& a) {
  Json s3 = Json::object();
  if (a.contains("import") && !a["import"].empty()) s3["AutoImportPolicy"] = {{"Events", Events(a["import"])}};
  if (a.contains("export") && !a["export"].empty()) s3["AutoExportPolicy"] = {{"Events", Events(a["export"])}};
  return s3;
}

Json CreateFileSystemRequest(const Json& store) {
  const Json& fs = store["spec"]["fileSystem"];
  std::string type = fs.value("deploymentType", "PERSISTENT_2");
  Json lustre = {{"DeploymentType", type}};
  if (fs.contains("perUnitStorageThroughput")) lustre["PerUnitStorageThroughput"] = fs["perUnitStorageThroughput"];
  if (fs.contains("dataCompressionType")) lustre["DataCompressionType"] = fs["dataCompressionType"];
  if (fs.value("efaEnabled", false)) lustre["EfaEnabled"] = true;
  const Json backups = fs.value("backups", Json::object());
  if (backups.contains("automaticRetentionDays")) lustre["AutomaticBackupRetentionDays"] = backups["automaticRetentionDays"];
  if (backups.contains("dailyStartTime")) lustre["DailyAutomaticBackupStartTime"] = backups["dailyStartTime"];
  Json tags = Json::array({{{"Key", kOwnerTag}, {"Value", store["metadata"]["uid"]}},
                           {{"Key", "Name"}, {"Value", store["metadata"].value("namespace", "") + "/" +
                                                           store["metadata"].value("name", "")}}});
  const Json user_tags = fs.value("tags", Json::object());
  for (const auto& [k, v] : user_tags.items()) tags.push_back({{"Key", k}, {"Value", v}});
  Json r = {{"FileSystemType", "LUSTRE"}, {"StorageCapacity", fs["storageCapacityGiB"]},
            {"StorageType", "SSD"}, {"SubnetIds", {fs["subnetId"]}}, {"LustreConfiguration", lustre}, {"Tags", tags}};
  if (fs.contains("securityGroupIds")) r["SecurityGroupIds"] = fs["securityGroupIds"];
  r["FileSystemTypeVersion"] = fs.value("fileSystemTypeVersion", "2.15");
  return r;
}

Json CreateFromBackupRequest(const Json& store) {
  Json r = CreateFileSystemRequest(store);
  r["BackupId"] = store["spec"]["fileSystem"]["fromBackup"];
  for (const char* shape : {"FileSystemType", "StorageCapacity", "StorageType"}) r.erase(shape);
  Json& lustre = r["LustreConfiguration"];  // the backup fixes the file system's shape; settings may differ
  for (const char* shape : {"DeploymentType", "PerUnitStorageThroughput", "EfaEnabled"}) lustre.erase(shape);
  return r;
}

std::string Joined(const Json& values, const std::string& separator) {
  std::string joined;
  for (const auto& v : values) joined += (joined.empty() ? "" : separator) + Text(v);
  return joined;
}

std::string AssociationSummary(const std::string& verb, const Json& a) {
  std::string id = a.value("AssociationId", "");
  if (verb == "Deleted") return "deleting data repository association " + id;
  std::string s = (verb == "Created" ? "creating" : "updating") + std::string(" data repository association ") + id + ": " +
                  a.value("FileSystemPath", "?") + " <-> " + a.value("DataRepositoryPath", "?");
  auto events = [&](const char* pointer) {
    std::string joined = Joined(a.value(Json::json_pointer(pointer), Json::array()), ",");
    return joined.empty() ? std::string("none") : joined;
  };
  return s + " (import " + events("/S3/AutoImportPolicy/Events") + "; export " + events("/S3/AutoExportPolicy/Events") + ")";
}

std::string FileSystemUpdateSummary(const Json& update) {
  std::string changes;
  auto add = [&](const std::string& key, const Json& value) {
    changes += (changes.empty() ? "" : ", ") + key + " " + Text(value);
  };
  for (const auto& [key, value] : update.items())
    if (key == "LustreConfiguration")
      for (const auto& [k, v] : value.items()) add(k, v);
    else if (key != "FileSystemId" && key != "ClientRequestToken")
      add(key, value);
  return "updating " + update.value("FileSystemId", "") + ": " + changes;
}

bool FileSystemMoving(const Json& fs) {
  const std::string lifecycle = fs.value("Lifecycle", "");
  if (lifecycle != "AVAILABLE" && lifecycle != "FAILED") return true;
  for (const auto& action : fs.value("AdministrativeActions", Json::array()))
    if (std::string s = action.value("Status", ""); s == "PENDING" || s == "IN_PROGRESS") return true;
  return false;
}

bool OwnedBy(const Json& fs, const std::string& uid) {
  if (fs.value("Lifecycle", "") == "DELETING") return false;
  for (const auto& t : fs.value("Tags", Json::array()))
    if (t.value("Key", "") == kOwnerTag && t.value("Value", "") == uid) return true;
  return false;
}

std::optional<Json> FindTagged(const std::vector<Json>& all, const std::string& uid) {
  for (const auto& fs : all)
    if (OwnedBy(fs, uid)) return fs;
  return std::nullopt;
}

std::optional<Json> FileSystemUpdate(const Json& spec_fs, const Json& fs) {
  const std::string id = fs.value("FileSystemId", "");
  const Json& lc = fs.value("LustreConfiguration", Json::object());
  if (spec_fs.contains("storageCapacityGiB") && spec_fs["storageCapacityGiB"] > fs.value("StorageCapacity", 0))
    return Json{{"FileSystemId", id}, {"StorageCapacity", spec_fs["storageCapacityGiB"]}};
  if (spec_fs.contains("perUnitStorageThroughput") && lc.value("DeploymentType", "") == "PERSISTENT_2" &&
      spec_fs["perUnitStorageThroughput"] != lc.value("PerUnitStorageThroughput", 0))
    return Json{{"FileSystemId", id}, {"LustreConfiguration", {{"PerUnitStorageThroughput", spec_fs["perUnitStorageThroughput"]}}}};
  Json change = Json::object();
  const Json backups = spec_fs.value("backups", Json::object());
  if (backups.contains("automaticRetentionDays") && backups["automaticRetentionDays"] != lc.value("AutomaticBackupRetentionDays", -1))
    change["AutomaticBackupRetentionDays"] = backups["automaticRetentionDays"];
  if (backups.contains("dailyStartTime") && backups["dailyStartTime"] != lc.value("DailyAutomaticBackupStartTime", ""))
    change["DailyAutomaticBackupStartTime"] = backups["dailyStartTime"];
  if (spec_fs.contains("dataCompressionType") && spec_fs["dataCompressionType"] != lc.value("DataCompressionType", "NONE"))
    change["DataCompressionType"] = spec_fs["dataCompressionType"];
  if (change.empty()) return std::nullopt;
  return Json{{"FileSystemId", id}, {"LustreConfiguration", change}};
}

bool AssociationOwnership::Owns(const Json& association) const {
  for (const auto& t : association.value("Tags", Json::array()))
    if (t.value("Key", "") == kOwnerTag) return t.value("Value", "") == uid;
  return created_file_system &&
         std::find(recorded.begin(), recorded.end(), association.value("AssociationId", "")) != recorded.end();
}

std::string ReleasedTag(const std::string& uid) { return "released:" + uid; }
bool IsReleasedTag(const std::string& value) { return value.starts_with("released:"); }

void SetOwnerTag(Json& resource, const std::string& value) {
  for (auto& t : resource["Tags"])
    if (t.value("Key", "") == kOwnerTag) t["Value"] = value;
}

bool AssociationOwnership::Released(const Json& association) const {
  for (const auto& t : association.value("Tags", Json::array()))
    if (t.value("Key", "") == kOwnerTag) return IsReleasedTag(t.value("Value", ""));
  return false;
}

namespace {

std::string BareS3Path(std::string p) {  // s3://bucket/prefix and s3://bucket/prefix/ name one place
  while (p.ends_with("/")) p.pop_back();
  return p;
}

// Why the association `have` at `path` cannot serve the spec's `want`, or "" when it can.
std::string AssociationConflict(const Json& have, const std::string& path, const std::string& want_s3,
                                const AssociationOwnership& owner) {
  const std::string id = have.value("AssociationId", ""), s3 = have.value("DataRepositoryPath", "");
  if (!owner.Owns(have))
    return "association " + id + " at " + path + " (" + s3 + ") was not created by this store; it is left alone. "
           "Remove " + path + " from spec.dataRepository.associations, delete that association in FSx, or hand it "
           "to this store by tagging it " + std::string(kOwnerTag) + "=" + owner.uid;
  if (BareS3Path(s3) != BareS3Path(want_s3))
    return "association " + id + " at " + path + " links to " + s3 + " but the spec asks for " + want_s3 +
           "; FSx cannot change an association's S3 path. Remove " + path + " from the spec (the operator then "
           "deletes the association), then add it back with the new bucket or prefix";
  return "";
}

}  // namespace

AssociationPlan PlanAssociations(const Json& spec, const std::string& fs_id, const std::vector<Json>& current,
                                 const AssociationOwnership& owner) {
  AssociationPlan plan;
  std::map<std::string, const Json*> have;
  for (const auto& a : current)
    if (a.value("Lifecycle", "") != "DELETING") have[a.value("FileSystemPath", "")] = &a;
  const Json wanted = spec.value("/dataRepository/associations"_json_pointer, Json::array());  // owns what `want` points at
  std::map<std::string, const Json*> want;
  for (const auto& a : wanted) want[a["path"]] = &a;
  for (const auto& [path, a] : want) {
    auto it = have.find(path);
    Json s3 = S3Policies(*a);
    const std::string s3_path = Bucket(spec) + "/" + a->value("prefix", "");
    if (it == have.end()) {
      plan.create.push_back({{"FileSystemId", fs_id}, {"FileSystemPath", path}, {"DataRepositoryPath", s3_path},
                             {"BatchImportMetaDataOnCreate", a->contains("import")}, {"S3", s3},
                             {"Tags", Json::array({{{"Key", kOwnerTag}, {"Value", owner.uid}}})}});
      continue;
    }
    const bool take_over = owner.Released(*it->second) &&
                           BareS3Path(it->second->value("DataRepositoryPath", "")) == BareS3Path(s3_path);
    if (take_over) {
      plan.take_over.push_back(*it->second);
    } else if (std::string why = AssociationConflict(*it->second, path, s3_path, owner); !why.empty()) {
      plan.conflicts.push_back(std::move(why));
      plan.conflict_paths.insert(path);
      continue;
    }
    const Json& got = it->second->value("S3", Json::object());
    auto events = [](const Json& s3b, const char* k) { return Sorted(s3b.value(k, Json::object()).value("Events", Json::array())); };
    if (events(got, "AutoImportPolicy") != events(s3, "AutoImportPolicy") ||
        events(got, "AutoExportPolicy") != events(s3, "AutoExportPolicy"))
      plan.update.push_back({{"AssociationId", it->second->value("AssociationId", "")}, {"S3", s3}});
  }
  for (const auto& [path, a] : have)
    if (!want.count(path) && owner.Owns(*a))
      plan.remove.push_back({{"AssociationId", a->value("AssociationId", "")}, {"DeleteDataInFileSystem", false}});
  return plan;
}

std::string PvName(const Json& store) {
  return "ckpt-" + store["metadata"].value("namespace", "") + "-" + store["metadata"].value("name", "");
}

Json PersistentVolume(const Json& store, const Json& fs) {
  const Json& md = store["metadata"];
  const Json& spec = store["spec"];
  return {{"apiVersion", "v1"}, {"kind", "PersistentVolume"},
          {"metadata", {{"name", PvName(store)}, {"labels", {{kStoreLabel, md.value("name", "")},
                                                             {kStoreNamespaceLabel, md.value("namespace", "")}}}}},
          {"spec", {{"capacity", {{"storage", std::to_string(fs.value("StorageCapacity", 1200)) + "Gi"}}},
                    {"accessModes", {"ReadWriteMany"}}, {"persistentVolumeReclaimPolicy", "Retain"},
                    {"storageClassName", ""}, {"volumeMode", "Filesystem"},
                    {"mountOptions", spec.value("/volume/mountOptions"_json_pointer, Json::array({"flock"}))},
                    {"csi", {{"driver", "fsx.csi.aws.com"}, {"volumeHandle", fs.value("FileSystemId", "")},
                             {"volumeAttributes", {{"dnsname", fs.value("DNSName", "")},
                                                   {"mountname", fs.value("/LustreConfiguration/MountName"_json_pointer, std::string())}}}}},
                    {"claimRef", {{"apiVersion", "v1"}, {"kind", "PersistentVolumeClaim"},
                                  {"namespace", md.value("namespace", "")},
                                  {"name", spec["volume"].value("claimName", "")}}}}}};
}

Json PersistentVolumeClaim(const Json& store, const Json& fs) {
  const Json& md = store["metadata"];
  return {{"apiVersion", "v1"}, {"kind", "PersistentVolumeClaim"},
          {"metadata", {{"name", store["spec"]["volume"].value("claimName", "")}, {"namespace", md.value("namespace", "")},
                        {"labels", {{kStoreLabel, md.value("name", "")}}},
                        {"ownerReferences", {{{"apiVersion", "trainops.io/v1alpha1"}, {"kind", "CheckpointStore"},
                                              {"name", md.value("name", "")}, {"uid", md.value("uid", "")},
                                              {"controller", true}, {"blockOwnerDeletion", true}}}}}},
          {"spec", {{"accessModes", {"ReadWriteMany"}}, {"storageClassName", ""}, {"volumeName", PvName(store)},
                    {"volumeMode", "Filesystem"},
                    {"resources", {{"requests", {{"storage", std::to_string(fs.value("StorageCapacity", 1200)) + "Gi"}}}}}}}};
}

std::optional<FinalExportPlan> PlanFinalExport(const std::vector<Json>& associations, const std::string& checkpoint_path) {
  std::vector<const Json*> exporting;
  for (const auto& a : associations)
    if (a.value("Lifecycle", "") != "DELETING" && !a.value("/S3/AutoExportPolicy/Events"_json_pointer, Json::array()).empty())
      exporting.push_back(&a);
  if (exporting.empty()) return std::nullopt;
  // FSx lists associations in id order, which says nothing: sort by path so the plan is stable.
  std::sort(exporting.begin(), exporting.end(),
            [](const Json* x, const Json* y) { return x->value("FileSystemPath", "") < y->value("FileSystemPath", ""); });
  FinalExportPlan plan{Json::array(), exporting.front()->value("DataRepositoryPath", "")};
  for (const Json* a : exporting) {
    std::string path = a->value("FileSystemPath", "/");
    if (path == checkpoint_path) plan.report_path = a->value("DataRepositoryPath", "");
    while (path.starts_with("/")) path.erase(0, 1);  // relative to the file system's root
    plan.paths.push_back(path.empty() ? "." : path);
  }
  return plan;
}

Json FinalExportRequest(const std::string& fs_id, const FinalExportPlan& plan, const std::string& uid,
                        const std::string& token) {
  return {{"Type", "EXPORT_TO_REPOSITORY"}, {"FileSystemId", fs_id}, {"Paths", plan.paths},
          {"Report", {{"Enabled", true}, {"Path", plan.report_path}, {"Format", "REPORT_CSV_20191124"},
                      {"Scope", "FAILED_FILES_ONLY"}}},
          {"ClientRequestToken", token}, {"Tags", Json::array({{{"Key", kOwnerTag}, {"Value", uid}}})}};
}

bool SetCondition(Json& conditions, const std::string& type, bool ok, const std::string& reason,
                  const std::string& message, int64_t generation, const std::string& now) {
  if (!conditions.is_array()) conditions = Json::array();
  std::string status = ok ? "True" : "False";
  for (auto& c : conditions) {
    if (c.value("type", "") != type) continue;
    bool changed = c.value("status", "") != status || c.value("reason", "") != reason ||
                   c.value("message", "") != message || c.value("observedGeneration", 0) != generation;
    if (c.value("status", "") != status) c["lastTransitionTime"] = now;
    c["status"] = status;
    c["reason"] = reason;
    c["message"] = message;
    c["observedGeneration"] = generation;
    return changed;
  }
  conditions.push_back({{"type", type}, {"status", status}, {"reason", reason}, {"message", message},
                        {"observedGeneration", generation}, {"lastTransitionTime", now}});
  return true;
}

}  // namespace ckpt::controllers
