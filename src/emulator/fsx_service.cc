// The emulator's FSx for Lustre state machine (see fsx_service.h).
#include "emulator/fsx_service.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "ckpt/common/encoding.h"

namespace ckpt::emulator {
namespace {

bool FilterMatches(const Json& desc, const Json& request) {
  for (const auto& f : request.value("Filters", Json::array())) {
    std::string name = f.value("Name", "");
    std::string field = name == "file-system-id"   ? "FileSystemId"
                        : name == "backup-type"    ? "Type"
                        : name == "task-lifecycle" ? "Lifecycle"
                                                   : "";
    if (field.empty()) continue;
    const Json& values = f.value("Values", Json::array());
    if (std::find(values.begin(), values.end(), desc.value(field, "")) == values.end()) return false;
  }
  return true;
}

}  // namespace

FsxService::FsxService(Clock& clock, LifecycleTimes times, std::string region, std::string account)
    : clock_(clock), times_(times), region_(std::move(region)), account_(std::move(account)) {}

void FsxService::SetStuck(bool stuck) {
  std::lock_guard<std::mutex> l(mu_);
  stuck_ = stuck;
}

void FsxService::SetFailTasks(bool fail) {
  std::lock_guard<std::mutex> l(mu_);
  fail_tasks_ = fail;
}

size_t FsxService::FileSystemCount() const {
  std::lock_guard<std::mutex> l(mu_);
  return file_systems_.size();
}

std::string FsxService::NewId(const std::string& prefix) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%017llx", static_cast<unsigned long long>(rng_() & 0xfffffffffffffffULL));
  return prefix + "-" + std::string(buf).substr(0, 17);
}

void FsxService::StartLocked(Resource& r, const std::string& now, const std::string& next, std::chrono::milliseconds d) {
  r.desc["Lifecycle"] = now;
  r.next = next;
  r.settle_at = clock_.Monotonic() + d;
  r.settling = true;
}

// Applies every transition whose time has come (unless a stuck fault holds them).
void FsxService::AdvanceLocked() {
  if (stuck_) return;
  auto now = clock_.Monotonic();
  for (Table* table : {&file_systems_, &associations_, &backups_, &tasks_}) {
    for (auto it = table->begin(); it != table->end();) {
      Resource& r = it->second;
      if (r.settling && r.settle_at <= now) {
        r.settling = false;
        if (r.next.empty()) {
          it = table->erase(it);
          continue;
        }
        r.desc["Lifecycle"] = r.next;
        if (!r.then.empty()) {  // chained: a task that started EXECUTING now runs to its end
          StartLocked(r, r.next, std::exchange(r.then, ""), r.then_after);
        } else {
          for (const auto& [k, v] : r.then_fields.items()) r.desc[k] = v;
        }
      }
      ++it;
    }
  }
}

StatusOr<Json> FsxService::Handle(const std::string& op, const Json& r) {
  std::lock_guard<std::mutex> l(mu_);
  AdvanceLocked();
  if (op == "CreateFileSystem") return CreateFileSystem(r);
  if (op == "DescribeFileSystems") return DescribeFileSystems(r);
  if (op == "UpdateFileSystem") return UpdateFileSystem(r);
  if (op == "DeleteFileSystem") return DeleteFileSystem(r);
  if (op == "CreateDataRepositoryAssociation") return CreateAssociation(r);
  if (op == "DescribeDataRepositoryAssociations") return DescribeAssociations(r);
  if (op == "UpdateDataRepositoryAssociation") return UpdateAssociation(r);
  if (op == "DeleteDataRepositoryAssociation") return DeleteAssociation(r);
  if (op == "CreateFileSystemFromBackup") return CreateFromBackup(r);
  if (op == "CreateBackup") return CreateBackup(r);
  if (op == "DescribeBackups") return DescribeBackups(r);
  if (op == "CreateDataRepositoryTask") return CreateTask(r);
  if (op == "DescribeDataRepositoryTasks") return DescribeTasks(r);
  if (op == "CancelDataRepositoryTask") return CancelTask(r);
  if (op == "TagResource") return TagResource(r);
  if (op == "ListTagsForResource") return ListTags(r);
  return FsxError("BadRequest", "The FSx emulator does not implement " + op + ".");
}

// Same token and parameters: the first result again; other parameters: IncompatibleParameterError.
StatusOr<Json> FsxService::IdempotentLocked(const std::string& op, const Json& request,
                                            const std::function<StatusOr<Json>()>& create) {
  std::string token = request.value("ClientRequestToken", "");
  Json params = request;
  params.erase("ClientRequestToken");
  std::string key = op + params.dump();
  if (!token.empty()) {
    auto it = tokens_.find(token);
    if (it != tokens_.end()) {
      if (it->second.first != key)
        return FsxError("IncompatibleParameterError", "The ClientRequestToken " + token +
                                                          " was already used with different parameters.");
      for (Table* t : {&file_systems_, &associations_, &backups_, &tasks_})
        if (t->count(it->second.second)) return Json{{"Resource", t->at(it->second.second).desc}};
    }
  }
  ASSIGN_OR_RETURN(Json made, create());
  if (!token.empty()) tokens_[token] = {key, made.value("Id", "")};
  return Json{{"Resource", made["Desc"]}};
}

StatusOr<Json> FsxService::CreateFileSystem(const Json& r) {
  RETURN_IF_ERROR(CheckCreateLustre(r));
  ASSIGN_OR_RETURN(Json out, IdempotentLocked("CreateFileSystem", r, [&] { return NewFileSystemLocked(r); }));
  return Json{{"FileSystem", out["Resource"]}};
}

// A new file system, CREATING, from a CreateFileSystem-shaped request (restores build one too).
StatusOr<Json> FsxService::NewFileSystemLocked(const Json& r) {
  std::string id = NewId("fs");
  Json lc = r.value("LustreConfiguration", Json::object());
  lc.erase("EfaEnabled");
  char mount[9];
  std::snprintf(mount, sizeof mount, "%08llx", static_cast<unsigned long long>(rng_() & 0xffffffffULL));
  lc["MountName"] = mount;
  if (!lc.contains("AutomaticBackupRetentionDays") && !lc.value("DeploymentType", "").starts_with("SCRATCH"))
    lc["AutomaticBackupRetentionDays"] = 0;
  lc["EfaEnabled"] = r.value("LustreConfiguration", Json::object()).value("EfaEnabled", false);
  Resource res;
  res.desc = {{"OwnerId", account_}, {"CreationTime", EpochSeconds(clock_.Now())}, {"FileSystemId", id},
              {"FileSystemType", "LUSTRE"}, {"FileSystemTypeVersion", r.value("FileSystemTypeVersion", "2.15")},
              {"StorageCapacity", r["StorageCapacity"]}, {"StorageType", r.value("StorageType", "SSD")},
              {"VpcId", "vpc-0emulator"}, {"SubnetIds", r["SubnetIds"]},
              {"DNSName", id + ".fsx." + region_ + ".amazonaws.com"},
              {"ResourceARN", "arn:aws:fsx:" + region_ + ":" + account_ + ":file-system/" + id},
              {"Tags", r.value("Tags", Json::array())}, {"LustreConfiguration", lc}};
  StartLocked(res, "CREATING", "AVAILABLE", times_.create);
  return Insert(file_systems_, id, std::move(res));
}

// NextToken is the base64 of the next index (the model's NextToken pattern is base64).
Json FsxService::Insert(Table& table, const std::string& id, Resource r) {
  Json desc = r.desc;
  table[id] = std::move(r);
  return Json{{"Id", id}, {"Desc", desc}};
}

Json FsxService::Matching(const Table& table, const Json& request, const char* ids_field, const char* out_field) {
  std::vector<const Json*> items;
  const Json ids = request.value(ids_field, Json());
  for (const auto& [id, res] : table) {
    bool named = ids.is_null() || std::find(ids.begin(), ids.end(), id) != ids.end();
    if (named && FilterMatches(res.desc, request)) items.push_back(&res.desc);
  }
  return Page(items, request, out_field);
}

// Copies only the page: a sweep of thousands of resources in pages of 25 stays linear.
Json FsxService::Page(const std::vector<const Json*>& items, const Json& request, const char* field) {
  size_t start = 0;
  if (request.contains("NextToken")) {
    auto decoded = Base64Decode(request["NextToken"].get<std::string>());
    start = decoded.ok() ? std::strtoul(decoded->c_str(), nullptr, 10) : items.size();
  }
  size_t max = request.value("MaxResults", 50);  // the emulator pages at 50 so clients must paginate
  Json out = {{field, Json::array()}};
  Json& page = out[field];
  for (size_t i = start; i < items.size() && page.size() < max; ++i) page.push_back(*items[i]);
  if (start + page.size() < items.size()) out["NextToken"] = Base64Encode(std::to_string(start + page.size()));
  return out;
}

StatusOr<Json> FsxService::DescribeFileSystems(const Json& r) {
  std::vector<const Json*> items;
  if (r.contains("FileSystemIds")) {
    for (const auto& id : r["FileSystemIds"]) {
      ASSIGN_OR_RETURN(auto it, FileSystemLocked(id.get<std::string>()));
      items.push_back(&it->second.desc);
    }
  } else {
    for (const auto& [id, res] : file_systems_) items.push_back(&res.desc);
  }
  return Page(items, r, "FileSystems");
}

StatusOr<Json> FsxService::UpdateFileSystem(const Json& r) {
  ASSIGN_OR_RETURN(auto it, FileSystemLocked(r.value("FileSystemId", "")));
  Json& d = it->second.desc;
  RETURN_IF_ERROR(CheckUpdateLustre(d, r));
  // Automatic daily backups exist only for file systems not linked to S3
  // (LustreGuide/using-backups-fsx.html; LustreGuide/fsx-data-repositories.html).
  if (r.value("/LustreConfiguration/AutomaticBackupRetentionDays"_json_pointer, 0) > 0 && !LinksLocked(it->first).empty())
    return FsxError("UnsupportedOperation", "File system " + it->first + " is linked to a data repository: automatic "
                                            "backups are not available on file systems linked to S3.");
  const Json changes = r.value("LustreConfiguration", Json::object());
  for (const auto& [k, v] : changes.items()) d["LustreConfiguration"][k] = v;
  if (r.contains("StorageCapacity")) {
    d["StorageCapacity"] = r["StorageCapacity"];
    StartLocked(it->second, "UPDATING", "AVAILABLE", times_.update);  // capacity grows online, slowly
  }
  return Json{{"FileSystem", d}};
}

StatusOr<Json> FsxService::DeleteFileSystem(const Json& r) {
  std::string id = r.value("FileSystemId", "");
  ASSIGN_OR_RETURN(auto it, FileSystemLocked(id));
  // "You cannot delete an FSx for Lustre file system if there are data repository tasks for the
  // file system in the PENDING or EXECUTING states." (APIReference/API_DataRepositoryTask.html)
  if (TaskActiveLocked(id))
    return FsxError("BadRequest", "File system " + id + " has a data repository task in the PENDING or EXECUTING state; "
                                  "retry when it is finished.");
  Json out = {{"FileSystemId", id}, {"Lifecycle", "DELETING"}};
  const Json lc = r.value("LustreConfiguration", Json::object());
  if (!lc.value("SkipFinalBackup", true)) {
    std::string bid = NewId("backup");
    Resource b;
    b.desc = {{"BackupId", bid}, {"Type", "USER_INITIATED"}, {"FileSystemId", id}, {"CreationTime", EpochSeconds(clock_.Now())},
              {"Tags", lc.value("FinalBackupTags", Json::array())}, {"FileSystem", it->second.desc}};
    StartLocked(b, "CREATING", "AVAILABLE", times_.backup);
    backups_[bid] = std::move(b);
    out["LustreResponse"] = {{"FinalBackupId", bid}, {"FinalBackupTags", lc.value("FinalBackupTags", Json::array())}};
  }
  StartLocked(it->second, "DELETING", "", times_.remove);
  // A Lustre file system's associations go with it: AWS lists no association precondition for
  // Lustre, unlike ONTAP's volumes and OpenZFS's access points ("To delete an Amazon FSx for
  // Lustre file system, first unmount it from every connected Amazon EC2 instance, then provide
  // a FileSystemId value to the DeleteFileSystem operation", APIReference/API_DeleteFileSystem.html),
  // and the Terraform AWS provider's TestAccFSxDataRepositoryAssociation_disappears_ParentFileSystem
  // expects an association to be gone once only its parent file system was deleted. Nothing is
  // exported on the way: that is the final export's job (LustreGuide/delete-file-system.html).
  for (auto& [aid, a] : associations_)
    if (a.desc.value("FileSystemId", "") == id) StartLocked(a, "DELETING", "", times_.remove);
  return out;
}

StatusOr<Json> FsxService::CreateAssociation(const Json& r) {
  ASSIGN_OR_RETURN(auto fs, FileSystemLocked(r.value("FileSystemId", "")));
  std::vector<Json> existing;
  for (const auto& [id, a] : associations_)
    if (a.desc.value("FileSystemId", "") == fs->first) existing.push_back(a.desc);
  Json params = r;
  params.erase("ClientRequestToken");
  // A retried create with the same token must not trip the overlap check on its own first result.
  bool replay = r.contains("ClientRequestToken") && tokens_.count(r["ClientRequestToken"]);
  if (!replay) RETURN_IF_ERROR(CheckCreateAssociation(fs->second.desc, existing, r));
  ASSIGN_OR_RETURN(Json out, IdempotentLocked("CreateDataRepositoryAssociation", r, [&]() -> StatusOr<Json> {
    std::string id = NewId("dra");
    Resource a;
    a.desc = params;
    a.desc["AssociationId"] = id;
    a.desc["ResourceARN"] = "arn:aws:fsx:" + region_ + ":" + account_ + ":association/" + fs->first + "/" + id;
    a.desc["CreationTime"] = EpochSeconds(clock_.Now());
    if (!a.desc.contains("FileSystemPath")) a.desc["FileSystemPath"] = "/";
    StartLocked(a, "CREATING", "AVAILABLE", times_.association);
    return Insert(associations_, id, std::move(a));
  }));
  return Json{{"Association", out["Resource"]}};
}

StatusOr<Json> FsxService::DescribeAssociations(const Json& r) {
  return Matching(associations_, r, "AssociationIds", "Associations");
}

StatusOr<Json> FsxService::UpdateAssociation(const Json& r) {
  ASSIGN_OR_RETURN(auto it, AssociationLocked(r.value("AssociationId", "")));
  if (r.contains("S3")) it->second.desc["S3"] = r["S3"];
  if (r.contains("ImportedFileChunkSize")) it->second.desc["ImportedFileChunkSize"] = r["ImportedFileChunkSize"];
  StartLocked(it->second, "UPDATING", "AVAILABLE", times_.association);
  return Json{{"Association", it->second.desc}};
}

StatusOr<Json> FsxService::DeleteAssociation(const Json& r) {
  ASSIGN_OR_RETURN(auto it, AssociationLocked(r.value("AssociationId", "")));
  StartLocked(it->second, "DELETING", "", times_.association);
  return Json{{"AssociationId", it->first}, {"Lifecycle", "DELETING"},
              {"DeleteDataInFileSystem", r.value("DeleteDataInFileSystem", false)}};
}

StatusOr<FsxService::Table::iterator> FsxService::FileSystemLocked(const std::string& id) {
  auto it = file_systems_.find(id);
  if (it == file_systems_.end()) return FsxError("FileSystemNotFound", "File system '" + id + "' does not exist.");
  return it;
}

StatusOr<FsxService::Table::iterator> FsxService::AssociationLocked(const std::string& id) {
  auto it = associations_.find(id);
  if (it == associations_.end())
    return FsxError("DataRepositoryAssociationNotFound", "Association '" + id + "' does not exist.");
  return it;
}

Json* FsxService::FindByArnLocked(const std::string& arn) {
  for (Table* t : {&file_systems_, &associations_, &backups_})
    for (auto& [id, res] : *t)
      if (res.desc.value("ResourceARN", "") == arn) return &res.desc;
  return nullptr;
}

StatusOr<Json> FsxService::TagResource(const Json& r) {
  Json* d = FindByArnLocked(r.value("ResourceARN", ""));
  if (!d) return FsxError("ResourceNotFound", "Resource '" + r.value("ResourceARN", "") + "' does not exist.");
  Json& tags = (*d)["Tags"];
  for (const auto& t : r["Tags"]) {
    auto same = std::find_if(tags.begin(), tags.end(), [&](const Json& x) { return x["Key"] == t["Key"]; });
    if (same != tags.end()) *same = t;
    else tags.push_back(t);
  }
  return Json::object();
}

StatusOr<Json> FsxService::ListTags(const Json& r) {
  Json* d = FindByArnLocked(r.value("ResourceARN", ""));
  if (!d) return FsxError("ResourceNotFound", "Resource '" + r.value("ResourceARN", "") + "' does not exist.");
  std::vector<const Json*> tags;
  for (const auto& t : (*d)["Tags"]) tags.push_back(&t);
  return Page(tags, r, "Tags");
}

}  // namespace ckpt::emulator
