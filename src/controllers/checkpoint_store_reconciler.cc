// CheckpointStore reconcile loop (see include/ckpt/controllers/checkpoint_store.h).
//
// Converge: finalizer -> resolve the file system (adopt by id, find by UID tag, or create and
// record its id at once) -> when AVAILABLE: settings, associations, PV/PVC -> conditions and one
// status write -> requeue soon while anything is in flight, slowly otherwise.
// Finalize (store_deletion.cc): phase Deleting; wait for the store's unfinished TrainRuns, then
// by policy: the final export, the file system (its associations go with it), the PV, the finalizer.
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
      options_(options), errors_(std::make_shared<ErrorStreaks>()) {}

StatusOr<Action> CheckpointStoreReconciler::Reconcile(const std::string& key) {
  kube::ObjectPtr obj = caches_.stores.Get(key);
  if (!obj) return Action::AwaitChange();  // deleted: the finalizer already ran
  Ctx c(*obj, FormatRfc3339(clock_.Now()));
  StatusOr<Action> result = c.store["metadata"].contains("deletionTimestamp") ? Finalize(c) : Converge(c);
  if (!result.ok() && result.status().IsConflict()) return result;
  if (errors_->Record(key, result.ok()) >= 2) ReportPersistentError(c, result.status());
  return result;
}

// An error that outlived a retry (a write conflict does not count: the next reconcile reads the
// newer object): the status observed so far, Ready=False with the API server's or FSx's reason and
// message, and a Warning Event when the reason is new. The queue's backoff keeps retrying; the
// next successful reconcile sets Ready from the other conditions again.
void CheckpointStoreReconciler::ReportPersistentError(Ctx& c, const Status& error) {
  const std::string reason = ErrorReason(error);
  if (c.PreviousReason("Ready") != reason) events_.Event(c.store, "Warning", reason, "Reconcile", error.message());
  c.Summarize(IsTransient(error) ? Health::kInProgress : Health::kStalled, reason, error.message());
  if (c.status.value("phase", "") != "Deleting") c.status["phase"] = "Error";
  if (Status written = WriteStatus(c); !written.ok()) spdlog::warn("could not record the error in status: {}", written.ToString());
}

// A transient error goes back to the caller (the queue's backoff); anything else FSx said is a
// refusal: recorded as `condition` False plus a Warning Event, retried slowly. OK after recording.
Status CheckpointStoreReconciler::Refuse(Ctx& c, const std::string& condition, const Status& s) {
  if (IsTransient(s)) return s;
  c.refused = true;
  const std::string reason = ErrorReason(s);
  if (c.PreviousReason(condition) != reason || condition == "Ready")
    events_.Event(c.store, "Warning", reason, "Reconcile", s.message());
  c.Condition(condition, false, reason, s.message());
  c.refusal = {condition, reason, s.message()};
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
      RETURN_IF_ERROR(ConvergeAssociations(c, *fs));
      RETURN_IF_ERROR(ConvergeVolume(c, *fs));
    }
  }
  bool ready = c.IsTrue("FileSystemReady") && c.IsTrue("DataRepositoryReady") && c.IsTrue("VolumeReady");
  SummarizeStore(c, ready, fs.has_value());
  RETURN_IF_ERROR(WriteStatus(c));
  // Woken by the FSx sweep when the file system or its associations change, or by the claim's
  // watch when it binds; the timer is only a safety net should a wake-up ever be missed.
  if (c.in_flight && fs) cache_.WakeOnChange(fs->value("FileSystemId", ""), kube::KeyOf(c.ns, c.name), c.fs_version);
  if (c.in_flight || c.volume_pending) return Action::RequeueAfter(options_.poll_interval * 10);
  return Action::RequeueAfter(c.refused ? options_.refusal_retry : options_.resync_interval);
}

// Phase and the summary conditions: Ready is Current; a refusal (FSx's, or a conflict with what
// someone else made) is Stalled, since only a human can resolve it; anything else is in progress
// and says what it waits for (the first condition that is not True).
void CheckpointStoreReconciler::SummarizeStore(Ctx& c, bool ready, bool has_fs) {
  c.status["phase"] = ready ? "Ready" : c.refused ? "Error" : has_fs ? "Provisioning" : "Pending";
  if (ready) return c.Summarize(Health::kCurrent, "Ready", "file system, data repository associations and volume are ready");
  if (c.refused) return c.Summarize(Health::kStalled, c.refusal.reason, c.refusal.condition + ": " + c.refusal.message);
  for (const char* type : {"FileSystemReady", "DataRepositoryReady", "VolumeReady"})
    if (const Json* cond = FindCondition(c.status, type); cond && cond->value("status", "") != "True")
      return c.Summarize(Health::kInProgress, cond->value("reason", ""), std::string(type) + ": " + cond->value("message", ""));
  c.Summarize(Health::kInProgress, has_fs ? "Provisioning" : "Pending", has_fs ? "waiting for FSx" : "creating the file system");
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
    if (Status held = CheckHolder(c, id, fs); !held.ok()) {
      RETURN_IF_ERROR(Refuse(c, "FileSystemReady", held));
      c.status.erase("fileSystemId");  // never recorded as ours: deletion leaves it to its holder
      return std::optional<Json>();
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
  request["ClientRequestToken"] = StoreToken("fs", c.uid);
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

Status CheckpointStoreReconciler::ConvergeAssociations(Ctx& c, const Json& fs) {
  const std::string fs_id = fs.value("FileSystemId", "");
  ASSIGN_OR_RETURN(std::vector<Json> current, cache_.Associations(fs_id));
  const AssociationOwnership owner = c.Ownership(fs);
  AssociationPlan plan = PlanAssociations(c.store["spec"], fs_id, current, owner);
  std::map<std::string, std::string> done;  // verb -> what was done, one Event per verb
  Status applied = ApplyAssociationPlan(c, fs_id, plan, done);
  for (const auto& [verb, text] : done) events_.Event(c.store, "Normal", verb + "DataRepositoryAssociation", verb, text);
  RETURN_IF_ERROR(applied);
  if (!done.empty()) {
    ASSIGN_OR_RETURN(current, cache_.Associations(fs_id));  // with FSx's answers
  }
  RecordAssociations(c, current, owner, plan.conflict_paths);
  if (!plan.conflicts.empty() && !c.refused) {
    std::string message;
    for (const auto& why : plan.conflicts) message += (message.empty() ? "" : "; ") + why;
    RETURN_IF_ERROR(Refuse(c, "DataRepositoryReady", Status(StatusCode::kAlreadyExists, message).SetReason("AssociationConflict")));
  }
  return Status::Ok();
}

// Takes over, creates, updates and deletes what `plan` says, in that order, writing FSx's answers into the
// shared view and what was done into `done` (by verb), up to the first refusal.
Status CheckpointStoreReconciler::ApplyAssociationPlan(Ctx& c, const std::string& fs_id, AssociationPlan& plan,
                                                       std::map<std::string, std::string>& done) {
  auto apply = [&](const std::string& verb, StatusOr<Json> r) -> Status {
    if (!r.ok()) return Refuse(c, "DataRepositoryReady", r.status());
    cache_.PutAssociation(fs_id, *r);
    done[verb] += (done[verb].empty() ? "" : "; ") + AssociationSummary(verb, *r);
    return Status::Ok();
  };
  for (const auto& a : plan.take_over) {  // released (ReleasedTag), wanted as it is: ours now
    Json tag = Json::array({{{"Key", kOwnerTag}, {"Value", c.uid}}});
    if (Status s = fsx_.TagResource(a.value("ResourceARN", ""), tag); !s.ok()) return Refuse(c, "DataRepositoryReady", s);
    Json tagged = a;
    SetOwnerTag(tagged, c.uid);
    cache_.PutAssociation(fs_id, tagged);
    done["Adopted"] += std::string(done["Adopted"].empty() ? "took over " : "; ") + a.value("FileSystemPath", "") +
                       " (" + a.value("AssociationId", "") + "), released when its store was deleted with policy Retain";
  }
  for (auto& req : plan.create) {
    req["ClientRequestToken"] = StoreToken("dra", c.uid, req.value("FileSystemPath", ""));
    RETURN_IF_ERROR(apply("Created", fsx_.CreateDataRepositoryAssociation(req)));
  }
  for (const auto& req : plan.update) RETURN_IF_ERROR(apply("Updated", fsx_.UpdateDataRepositoryAssociation(req)));
  for (const auto& req : plan.remove) RETURN_IF_ERROR(apply("Deleted", fsx_.DeleteDataRepositoryAssociation(req)));
  return Status::Ok();
}

// status.associations and DataRepositoryReady from the associations FSx has; waits (in_flight)
// until every one is AVAILABLE.
void CheckpointStoreReconciler::RecordAssociations(Ctx& c, const std::vector<Json>& current,
                                                   const AssociationOwnership& owner,
                                                   const std::set<std::string>& conflicts) {
  Json listed = Json::array();
  bool settled = true;
  for (const auto& a : current) {
    listed.push_back({{"path", a.value("FileSystemPath", "")}, {"id", a.value("AssociationId", "")},
                      {"lifecycle", a.value("Lifecycle", "")}, {"owned", owner.Owns(a)},
                      {"dataRepositoryPath", a.value("DataRepositoryPath", "")},
                      {"conflict", a.value("Lifecycle", "") != "DELETING" && conflicts.count(a.value("FileSystemPath", "")) > 0}});
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
  return PatchStatus(client_, res::CheckpointStores(), c.ns, c.name, c.written, c.status);
}

Status CheckpointStoreReconciler::EnsureFinalizer(const Json& store) {
  if (HasStoreFinalizer(store)) return Status::Ok();
  const Json& md = store["metadata"];
  // The resourceVersion test makes a stale cache fail instead of adding the finalizer twice.
  Json patch = Json::array({{{"op", "test"}, {"path", "/metadata/resourceVersion"}, {"value", md["resourceVersion"]}}});
  if (md.contains("finalizers")) patch.push_back({{"op", "add"}, {"path", "/metadata/finalizers/-"}, {"value", kStoreFinalizer}});
  else patch.push_back({{"op", "add"}, {"path", "/metadata/finalizers"}, {"value", {kStoreFinalizer}}});
  return client_.Patch(res::CheckpointStores(), md.value("namespace", ""), md.value("name", ""),
                       {kube::PatchType::kJson}, patch.dump()).status();
}

}  // namespace ckpt::controllers
