// CheckpointStore reconcile loop (see include/ckpt/controllers/checkpoint_store.h).
//
// Converge: finalizer -> resolve the file system (adopt by id, find by UID tag, or create and
// record its id at once) -> when AVAILABLE: settings, associations, PV/PVC -> conditions and one
// status write -> requeue soon while anything is in flight, slowly otherwise.
// Finalize: phase Deleting; wait while a TrainRun that has not finished uses the store (named in
// the message) -> by policy: for a linked store, a final export task first
// (store_final_export.cc), then delete associations and the file system (with a final backup for
// Snapshot) -> delete the PV -> drop the finalizer.
#include "ckpt/controllers/checkpoint_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "ckpt/common/encoding.h"
#include "ckpt/kube/merge_patch.h"
#include "controllers/applied_hash.h"
#include "controllers/fsx_cache.h"
#include "controllers/store_context.h"
#include "controllers/store_plan.h"

namespace ckpt::controllers {

using kube::Json;
using runtime::Action;
namespace res = kube::resources;

namespace {

// Errors worth the queue's backoff; anything else FSx says is a refusal to report and retry slowly.
bool Transient(const Status& s) { return s.IsTooManyRequests() || s.IsUnavailable() || s.IsTimeout(); }

std::string Token(const std::string& kind, const std::string& uid, const std::string& extra = "") {
  // ClientRequestToken: at most 63 of [A-Za-z0-9_.-]; stable for one store (and path).
  return kind + "-" + HexEncode(Sha256(uid + "/" + extra)).substr(0, 40);
}

bool HasFinalizer(const Json& store) {
  for (const auto& f : store["metadata"].value("finalizers", Json::array()))
    if (f == kStoreFinalizer) return true;
  return false;
}

}  // namespace

std::vector<std::string> TrainRunStoreKey(const Json& tr) {
  std::string store = tr.value("/spec/checkpointStore"_json_pointer, std::string());
  if (store.empty()) return {};
  return {kube::KeyOf(tr["metadata"].value("namespace", ""), store)};
}

std::function<std::vector<std::string>(const Json&)> DeletingStoreOf(kube::Store stores) {
  return [stores = std::move(stores)](const Json& tr) {
    std::vector<std::string> keys = TrainRunStoreKey(tr);
    kube::ObjectPtr store = keys.empty() ? nullptr : stores.Get(keys[0]);
    if (!store || !(*store)["metadata"].contains("deletionTimestamp")) return std::vector<std::string>{};
    return keys;
  };
}

std::vector<std::string> StoreOfVolume(const Json& pv) {
  const Json labels = pv["metadata"].value("labels", Json::object());
  if (!labels.contains(kStoreLabel)) return {};
  return {kube::KeyOf(labels.value(kStoreNamespaceLabel, ""), labels.value(kStoreLabel, ""))};
}

CheckpointStoreReconciler::CheckpointStoreReconciler(kube::KubeClient& client, CheckpointStoreCaches caches,
                                                     aws::FsxClient& fsx, FsxCache& fsx_cache,
                                                     runtime::EventRecorder& events, Clock& clock,
                                                     CheckpointStoreOptions options)
    : client_(client), caches_(std::move(caches)), fsx_(fsx), cache_(fsx_cache), events_(events), clock_(clock),
      options_(options) {}

StatusOr<Action> CheckpointStoreReconciler::Reconcile(const std::string& key) {
  kube::ObjectPtr obj = caches_.stores.Get(key);
  if (!obj) return Action::AwaitChange();  // deleted: the finalizer already ran
  Ctx c(*obj, FormatRfc3339(clock_.Now()));
  StatusOr<Action> result = c.store["metadata"].contains("deletionTimestamp") ? Finalize(c) : Converge(c);
  if (!result.ok() && result.status().IsConflict()) return result;
  int failures = 0;
  {
    std::lock_guard<std::mutex> l(failures_mu_);
    if (result.ok()) failures_.erase(key);
    else failures = ++failures_[key];
  }
  if (failures >= 2) ReportPersistentError(c, result.status());
  return result;
}

// An error that outlived a retry (a write conflict does not count: the next reconcile reads the
// newer object): the status observed so far, Ready=False with the API server's or FSx's reason and
// message, and a Warning Event when the reason is new. The queue's backoff keeps retrying; the
// next successful reconcile sets Ready from the other conditions again.
void CheckpointStoreReconciler::ReportPersistentError(Ctx& c, const Status& error) {
  const std::string reason = error.reason().empty() ? std::string(StatusCodeName(error.code())) : error.reason();
  if (c.PreviousReason("Ready") != reason) events_.Event(c.store, "Warning", reason, "Reconcile", error.message());
  c.Condition("Ready", false, reason, error.message());
  if (c.status.value("phase", "") != "Deleting") c.status["phase"] = "Error";
  if (Status written = WriteStatus(c); !written.ok()) spdlog::warn("could not record the error in status: {}", written.ToString());
}

// A transient error goes back to the caller (the queue's backoff); anything else FSx said is a
// refusal: recorded as `condition` False plus a Warning Event, retried slowly. OK after recording.
Status CheckpointStoreReconciler::Refuse(Ctx& c, const std::string& condition, const Status& s) {
  if (Transient(s)) return s;
  c.refused = true;
  std::string reason = s.reason().empty() ? std::string(StatusCodeName(s.code())) : s.reason();
  c.Condition(condition, false, reason, s.message());
  events_.Event(c.store, "Warning", reason, "Reconcile", s.message());
  return Status::Ok();
}

StatusOr<Action> CheckpointStoreReconciler::Converge(Ctx& c) {
  RETURN_IF_ERROR(EnsureFinalizer(c.store));
  ASSIGN_OR_RETURN(std::optional<Json> fs, ResolveFileSystem(c));
  if (fs) {
    const Json& lc = fs->value("LustreConfiguration", Json::object());
    c.status["fileSystemId"] = fs->value("FileSystemId", "");
    c.status["dnsName"] = fs->value("DNSName", "");
    c.status["mountName"] = lc.value("MountName", "");
    c.status["lifecycle"] = fs->value("Lifecycle", "");
    bool available = fs->value("Lifecycle", "") == "AVAILABLE";
    std::string failure = fs->value("/FailureDetails/Message"_json_pointer, std::string());
    c.Condition("FileSystemReady", available, available ? "Available" : fs->value("Lifecycle", "Unknown"),
                available ? "file system " + fs->value("FileSystemId", "") + " is available"
                          : failure.empty() ? "waiting for FSx: lifecycle " + fs->value("Lifecycle", "") : failure);
    c.in_flight |= !available && fs->value("Lifecycle", "") != "FAILED";
    if (available) {
      RETURN_IF_ERROR(ConvergeSettings(c, *fs));
      RETURN_IF_ERROR(ConvergeAssociations(c, fs->value("FileSystemId", "")));
      RETURN_IF_ERROR(ConvergeVolume(c, *fs));
    }
  }
  bool ready = c.IsTrue("FileSystemReady") && c.IsTrue("DataRepositoryReady") && c.IsTrue("VolumeReady");
  c.Condition("Ready", ready, ready ? "Ready" : "NotReady",
              ready ? "file system, data repository associations and volume are ready" : "see the other conditions");
  c.status["phase"] = ready ? "Ready" : c.refused ? "Error" : fs ? "Provisioning" : "Pending";
  RETURN_IF_ERROR(WriteStatus(c));
  // Woken by the FSx sweep when the file system or its associations change, or by the claim's
  // watch when it binds; the timer is only a safety net should a wake-up ever be missed.
  if (c.in_flight && fs) cache_.WakeOnChange(fs->value("FileSystemId", ""), kube::KeyOf(c.ns, c.name), c.fs_version);
  if (c.in_flight || c.volume_pending) return Action::RequeueAfter(options_.poll_interval * 10);
  return Action::RequeueAfter(c.refused ? options_.refusal_retry : options_.resync_interval);
}

StatusOr<std::optional<Json>> CheckpointStoreReconciler::ResolveFileSystem(Ctx& c) {
  const Json& spec_fs = c.store["spec"]["fileSystem"];
  std::string id = spec_fs.value("id", c.status.value("fileSystemId", ""));
  if (!id.empty()) {
    c.fs_version = cache_.Version(id);  // before the read, so a change after it wakes this store
    ASSIGN_OR_RETURN(std::optional<Json> fs, cache_.FileSystem(id));
    if (!fs) {
      RETURN_IF_ERROR(Refuse(c, "FileSystemReady", Status(StatusCode::kNotFound, "file system " + id + " does not exist in FSx")
                                                       .SetReason("FileSystemNotFound")));
    }
    return fs;
  }
  // Never create twice: a file system tagged with our UID (a create whose result we lost) wins,
  // and a create FSx already ran for this token returns that file system again.
  ASSIGN_OR_RETURN(std::optional<Json> tagged, cache_.FileSystemOwnedBy(c.uid));
  if (tagged) {
    c.fs_version = cache_.Version(tagged->value("FileSystemId", ""));
    return tagged;
  }
  const std::string backup = spec_fs.value("fromBackup", "");
  Json request = backup.empty() ? CreateFileSystemRequest(c.store) : CreateFromBackupRequest(c.store);
  request["ClientRequestToken"] = Token("fs", c.uid);
  auto created = backup.empty() ? fsx_.CreateFileSystem(request) : fsx_.CreateFileSystemFromBackup(request);
  if (!created.ok()) {
    RETURN_IF_ERROR(Refuse(c, "FileSystemReady", created.status()));
    return std::optional<Json>();
  }
  cache_.PutFileSystem(*created);
  std::string fs_id = (*created)["FileSystemId"];
  spdlog::info("created file system {}", fs_id);
  events_.Event(c.store, "Normal", "CreatedFileSystem", "Create",
                "created FSx for Lustre file system " + fs_id + (backup.empty() ? "" : " from backup " + backup));
  // The id reaches status with this reconcile's one write; a crash before it is covered by the
  // UID tag and the ClientRequestToken above.
  return std::optional<Json>(*created);
}

Status CheckpointStoreReconciler::ConvergeSettings(Ctx& c, const Json& fs) {
  auto update = FileSystemUpdate(c.store["spec"]["fileSystem"], fs);
  if (!update) return Status::Ok();
  auto r = fsx_.UpdateFileSystem(*update);
  if (!r.ok()) return Refuse(c, "FileSystemReady", r.status());
  cache_.PutFileSystem(*r);
  c.in_flight |= FileSystemMoving(*r);
  events_.Event(c.store, "Normal", "UpdatedFileSystem", "Update", FileSystemUpdateSummary(*update));
  return Status::Ok();
}

Status CheckpointStoreReconciler::ConvergeAssociations(Ctx& c, const std::string& fs_id) {
  ASSIGN_OR_RETURN(std::vector<Json> current, cache_.Associations(fs_id));
  AssociationPlan plan = PlanAssociations(c.store["spec"], fs_id, current);
  std::map<std::string, std::string> done;  // verb -> what was done, one Event per verb
  Status applied = ApplyAssociationPlan(c, fs_id, plan, done);
  for (const auto& [verb, text] : done) events_.Event(c.store, "Normal", verb + "DataRepositoryAssociation", verb, text);
  RETURN_IF_ERROR(applied);
  if (!done.empty()) {
    ASSIGN_OR_RETURN(current, cache_.Associations(fs_id));  // with FSx's answers
  }
  RecordAssociations(c, current);
  return Status::Ok();
}

// Creates, updates and deletes what `plan` says, in that order, writing FSx's answers into the
// shared view and what was done into `done` (by verb), up to the first refusal.
Status CheckpointStoreReconciler::ApplyAssociationPlan(Ctx& c, const std::string& fs_id, AssociationPlan& plan,
                                                       std::map<std::string, std::string>& done) {
  auto apply = [&](const std::string& verb, StatusOr<Json> r) -> Status {
    if (!r.ok()) return Refuse(c, "DataRepositoryReady", r.status());
    cache_.PutAssociation(fs_id, *r);
    done[verb] += (done[verb].empty() ? "" : "; ") + AssociationSummary(verb, *r);
    return Status::Ok();
  };
  for (auto& req : plan.create) {
    req["ClientRequestToken"] = Token("dra", c.uid, req.value("FileSystemPath", ""));
    RETURN_IF_ERROR(apply("Created", fsx_.CreateDataRepositoryAssociation(req)));
  }
  for (const auto& req : plan.update) RETURN_IF_ERROR(apply("Updated", fsx_.UpdateDataRepositoryAssociation(req)));
  for (const auto& req : plan.remove) RETURN_IF_ERROR(apply("Deleted", fsx_.DeleteDataRepositoryAssociation(req)));
  return Status::Ok();
}

// status.associations and DataRepositoryReady from the associations FSx has; waits (in_flight)
// until every one is AVAILABLE.
void CheckpointStoreReconciler::RecordAssociations(Ctx& c, const std::vector<Json>& current) {
  Json listed = Json::array();
  bool settled = true;
  for (const auto& a : current) {
    listed.push_back({{"path", a.value("FileSystemPath", "")}, {"id", a.value("AssociationId", "")},
                      {"lifecycle", a.value("Lifecycle", "")}});
    settled &= a.value("Lifecycle", "") == "AVAILABLE";
  }
  c.status["associations"] = listed;
  c.in_flight |= !settled && !c.refused;
  if (!c.refused)
    c.Condition("DataRepositoryReady", settled, settled ? "Available" : "Converging",
                settled ? std::to_string(current.size()) + " data repository associations available"
                        : "creating, updating or deleting data repository associations");
}

// The claim from the cache; on a miss, created (one request in the usual case). When a claim by
// that name exists already it is read: ours (just created, not yet cached) is used; anyone
// else's is never changed but refused with a clear reason. A claim's spec is immutable once bound:
// it is created once, then only read.
StatusOr<Json> CheckpointStoreReconciler::EnsureClaim(Ctx& c, const Json& fs) {
  std::string claim = c.store["spec"]["volume"].value("claimName", "");
  if (kube::ObjectPtr cached = caches_.claims.Get(kube::KeyOf(c.ns, claim))) return *cached;
  auto created = client_.Create(res::PersistentVolumeClaims(), c.ns, PersistentVolumeClaim(c.store, fs));
  if (!created.status().IsAlreadyExists()) return created;
  ASSIGN_OR_RETURN(Json existing, client_.Get(res::PersistentVolumeClaims(), c.ns, claim));
  if (existing["metadata"].value("/labels"_json_pointer, Json::object()).value(kStoreLabel, "") == c.name) return existing;
  return Status(StatusCode::kAlreadyExists, "claim " + claim + " already exists and does not belong to this store; "
                                                 "choose another spec.volume.claimName or delete that claim")
      .SetReason("ClaimConflict");
}

Status CheckpointStoreReconciler::ConvergeVolume(Ctx& c, const Json& fs) {
  Json pv = PersistentVolume(c.store, fs);
  if (!StampAndCheckApplied(pv, caches_.volumes.Get(PvName(c.store)))) {
    kube::PatchOptions apply{kube::PatchType::kApply, "ckpt-operator", true, ""};
    RETURN_IF_ERROR(client_.Patch(res::PersistentVolumes(), "", PvName(c.store), apply, pv.dump()).status());
  }
  std::string claim = c.store["spec"]["volume"].value("claimName", "");
  auto pvc = EnsureClaim(c, fs);
  if (pvc.status().reason() == "ClaimConflict") return Refuse(c, "VolumeReady", pvc.status());
  if (!pvc.ok()) return pvc.status();
  bool bound = pvc->value("/status/phase"_json_pointer, std::string()) == "Bound";
  c.status["volume"] = {{"pvName", PvName(c.store)}, {"claimName", claim}, {"bound", bound}};
  c.volume_pending = !bound;
  c.Condition("VolumeReady", bound, bound ? "Bound" : "Pending",
              bound ? "claim " + claim + " is bound to " + PvName(c.store) : "waiting for claim " + claim + " to bind");
  return Status::Ok();
}

Status CheckpointStoreReconciler::WriteStatus(Ctx& c) {
  c.status["observedGeneration"] = c.generation;
  if (c.status == c.original_status) return Status::Ok();
  Json patch = {{"status", kube::CreateMergePatch(c.original_status, c.status)}};  // drops what status no longer has
  return client_.Patch(res::CheckpointStores(), c.ns, c.name, {kube::PatchType::kMerge, "", false, "status"}, patch.dump())
      .status();
}

Status CheckpointStoreReconciler::EnsureFinalizer(const Json& store) {
  if (HasFinalizer(store)) return Status::Ok();
  const Json& md = store["metadata"];
  // The resourceVersion test makes a stale cache fail instead of adding the finalizer twice.
  Json patch = Json::array({{{"op", "test"}, {"path", "/metadata/resourceVersion"}, {"value", md["resourceVersion"]}}});
  if (md.contains("finalizers")) patch.push_back({{"op", "add"}, {"path", "/metadata/finalizers/-"}, {"value", kStoreFinalizer}});
  else patch.push_back({{"op", "add"}, {"path", "/metadata/finalizers"}, {"value", {kStoreFinalizer}}});
  return client_.Patch(res::CheckpointStores(), md.value("namespace", ""), md.value("name", ""),
                       {kube::PatchType::kJson}, patch.dump()).status();
}

Status CheckpointStoreReconciler::RemoveFinalizer(const Json& store) {
  const Json& md = store["metadata"];
  const Json& list = md.value("finalizers", Json::array());
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i] != kStoreFinalizer) continue;
    // test + remove at the index: never drops someone else's finalizer if the list moved.
    std::string path = "/metadata/finalizers/" + std::to_string(i);
    Json patch = Json::array({{{"op", "test"}, {"path", path}, {"value", kStoreFinalizer}}, {{"op", "remove"}, {"path", path}}});
    return client_.Patch(res::CheckpointStores(), md.value("namespace", ""), md.value("name", ""),
                         {kube::PatchType::kJson}, patch.dump()).status();
  }
  return Status::Ok();
}

std::vector<std::string> CheckpointStoreReconciler::Users(const Json& store) const {
  std::vector<std::string> users;
  for (const auto& tr : caches_.trainruns.ByIndex(kTrainRunsByStore, kube::KeyOf(store)))
    if (std::string phase = tr->value("/status/phase"_json_pointer, std::string()); phase != "Succeeded" && phase != "Failed")
      users.push_back((*tr)["metadata"].value("name", ""));
  std::sort(users.begin(), users.end());
  return users;
}

StatusOr<Action> CheckpointStoreReconciler::Finalize(Ctx& c) {
  if (!HasFinalizer(c.store)) return Action::AwaitChange();
  c.status["phase"] = "Deleting";
  if (std::vector<std::string> users = Users(c.store); !users.empty()) {
    std::string names;
    for (const auto& u : users) names += (names.empty() ? "" : ", ") + u;
    const std::string message = "deletion waits for TrainRuns that have not finished and use this store: " + names;
    if (c.status.value("/conditions"_json_pointer, Json::array()).dump().find(message) == std::string::npos)
      events_.Event(c.store, "Warning", "DeletionBlocked", "Delete", message);
    c.Condition("Ready", false, "InUse", message);
    RETURN_IF_ERROR(WriteStatus(c));
    return Action::RequeueAfter(options_.poll_interval);
  }
  std::string policy = c.store["spec"].value("deletionPolicy", "Retain");
  if (policy != "Retain") {
    ASSIGN_OR_RETURN(bool gone, DeleteFileSystem(c));
    if (!gone) {
      c.status["phase"] = "Deleting";
      RETURN_IF_ERROR(WriteStatus(c));
      return Action::RequeueAfter(options_.poll_interval);
    }
  }
  Status pv = client_.Delete(res::PersistentVolumes(), "", PvName(c.store));
  if (!pv.ok() && !pv.IsNotFound()) return pv;
  events_.Event(c.store, "Normal", policy == "Retain" ? "Released" : "Deleted", "Delete",
                policy == "Retain" ? "released the volume; the FSx file system is retained"
                                   : "deleted the FSx file system (policy " + policy + ")");
  RETURN_IF_ERROR(RemoveFinalizer(c.store));
  return Action::AwaitChange();
}

// One step of deleting the file system; true only once FSx says it is gone. A store whose status
// never got an id (the process died between CreateFileSystem and the status write) is looked up
// by its UID tag first, so that file system is deleted too rather than left behind unowned.
StatusOr<bool> CheckpointStoreReconciler::DeleteFileSystem(Ctx& c) {
  std::string id = c.store["spec"]["fileSystem"].value("id", c.status.value("fileSystemId", ""));
  if (id.empty()) {
    ASSIGN_OR_RETURN(std::vector<Json> all, fsx_.DescribeFileSystems({}));  // afresh: a miss lets the finalizer go
    std::optional<Json> tagged = FindTagged(all, c.uid);
    if (!tagged) return true;  // FSx has no file system tagged for this store: nothing was created
    id = tagged->value("FileSystemId", "");
    c.status["fileSystemId"] = id;
  }
  Json filter = Json::array({{{"Name", "file-system-id"}, {"Values", {id}}}});
  ASSIGN_OR_RETURN(std::vector<Json> dras, fsx_.DescribeDataRepositoryAssociations(filter));
  if (c.store["spec"].value("deletionPolicy", "") == "Delete") {  // Snapshot: unlinked stores only (CRD)
    ASSIGN_OR_RETURN(ExportState exported, FinalExport(c, id, dras));
    if (exported == ExportState::kWaiting) return false;
  }
  for (const auto& a : dras) {
    if (a.value("Lifecycle", "") == "DELETING") continue;
    auto r = fsx_.DeleteDataRepositoryAssociation({{"AssociationId", a.value("AssociationId", "")}, {"DeleteDataInFileSystem", false}});
    if (!r.ok() && !r.status().IsNotFound()) return r.status();
  }
  if (!dras.empty()) return false;  // FSx deletes a file system only after its associations
  // Asked of FSx by id, not read off the shared view: only FileSystemNotFound means gone.
  auto described = fsx_.DescribeFileSystems({id});
  if (described.status().IsNotFound() || (described.ok() && described->empty())) return true;
  RETURN_IF_ERROR(described.status());
  const Json fs = described->front();
  if (fs.value("Lifecycle", "") == "DELETING") return false;
  bool snapshot = c.store["spec"].value("deletionPolicy", "") == "Snapshot";
  Json lustre = {{"SkipFinalBackup", !snapshot}};
  if (snapshot) lustre["FinalBackupTags"] = Json::array({{{"Key", kOwnerTag}, {"Value", c.uid}}});
  auto r = fsx_.DeleteFileSystem({{"FileSystemId", id}, {"ClientRequestToken", Token("del", c.uid)}, {"LustreConfiguration", lustre}});
  if (!r.ok()) {
    if (r.status().IsNotFound()) return true;
    RETURN_IF_ERROR(Refuse(c, "Ready", r.status()));
    return false;
  }
  cache_.PutFileSystem({{"FileSystemId", id}, {"Lifecycle", "DELETING"}});
  events_.Event(c.store, "Normal", "DeletingFileSystem", "Delete",
                "deleting " + id + (snapshot ? " after a final backup" : " without a final backup"));
  return false;
}

}  // namespace ckpt::controllers
