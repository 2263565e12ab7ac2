// Deleting a CheckpointStore (see include/ckpt/controllers/checkpoint_store.h), and who holds a
// file system. Finalize: phase Deleting; wait while a TrainRun that has not finished and launched a
// TrainJob uses the store (named in the message); then by spec.deletionPolicy: Retain releases
// the file system as it is (automatic export switched back on first, should a deletion under
// another policy have paused it); Delete runs the final export (store_final_export.cc) and then
// one DeleteFileSystem, whose associations FSx deletes with the file system (so a refused delete,
// e.g. an IAM deny, leaves every S3 link in place); Snapshot deletes with a final backup. Then
// the PV, then the finalizer. A refusal's back-off is kept in status.retryAfter: no wake-up (the
// restore's own association updates, a poll) tries again before it is due, only an edit does.
// The operator never deletes a file system another store holds: a store whose adoption was
// refused (CheckHolder) releases without touching FSx.
#include <algorithm>

#include "ckpt/controllers/checkpoint_store.h"
#include "controllers/fsx_cache.h"
#include "controllers/store_context.h"

namespace ckpt::controllers {

using kube::Json;
using runtime::Action;
namespace res = kube::resources;

namespace {

std::string Describe(const Json& store) {
  return store["metadata"].value("namespace", "") + "/" + store["metadata"].value("name", "");
}

// Which store holds `fs_id` among `candidates` (all stores naming it): one that recorded it in
// status first, else the oldest (creation time, then namespace/name).
const Json* Holder(std::vector<const Json*> candidates) {
  auto rank = [](const Json* s) {
    return std::make_tuple(s->value("/status/fileSystemId"_json_pointer, std::string()).empty(),
                           s->value("/metadata/creationTimestamp"_json_pointer, std::string()), Describe(*s));
  };
  std::sort(candidates.begin(), candidates.end(), [&](const Json* a, const Json* b) { return rank(a) < rank(b); });
  return candidates.empty() ? nullptr : candidates.front();
}

}  // namespace

// Two stores never own one file system: adopting one that another store created (its owner tag,
// whether or not that store is in a namespace this operator watches) or already holds is
// refused, naming that store. A file system released by a store deleted with policy Retain
// (ReleasedTag) holds nothing and can be adopted.
Status CheckpointStoreReconciler::CheckHolder(Ctx& c, const std::string& fs_id, const std::optional<Json>& fs) const {
  std::string creator;
  for (const auto& t : fs ? fs->value("Tags", Json::array()) : Json::array())
    if (t.value("Key", "") == kOwnerTag && t.value("Value", "") != c.uid && !IsReleasedTag(t.value("Value", "")) &&
        c.status.value("fileSystemId", "") != fs_id)  // held already (e.g. adopted before releases were tagged)
      creator = t.value("Value", "");
  std::string creator_name = "another CheckpointStore";  // perhaps in a namespace this operator does not watch
  std::vector<kube::ObjectPtr> keep;  // owns what `candidates` points at
  std::vector<const Json*> candidates;
  for (const auto& other : caches_.stores.List()) {
    if (!creator.empty() && other->value("/metadata/uid"_json_pointer, std::string()) == creator)
      creator_name = "CheckpointStore " + Describe(*other);
    // A store being deleted still holds what it recorded (its deletion may yet export and delete
    // it); one that only names the file system (an adoption refused) holds nothing.
    const bool recorded = other->value("/status/fileSystemId"_json_pointer, std::string()) == fs_id;
    const bool names = recorded || other->value("/spec/fileSystem/id"_json_pointer, std::string()) == fs_id;
    if (names && (recorded || !(*other)["metadata"].contains("deletionTimestamp"))) {
      keep.push_back(other);
      candidates.push_back(other.get());
    }
  }
  if (!creator.empty())
    return Status(StatusCode::kAlreadyExists, "file system " + fs_id + " was created by " + creator_name + " (uid " +
                  creator + "); two stores never own one file system. Use that store's claim, or adopt another file "
                  "system. If that store no longer exists (deleted with Retain by an operator that did not tag releases "
                  "yet, or its finalizer removed by hand), release the file system yourself: aws fsx tag-resource --resource-arn " +
                  (fs ? fs->value("ResourceARN", "<its ARN>") : std::string("<its ARN>")) + " --tags Key=" + kOwnerTag +
                  ",Value=" + ReleasedTag(creator) + " (and the same for each association to take over)")
        .SetReason("FileSystemHeld");
  const Json* holder = Holder(candidates);
  if (!holder || holder->value("/metadata/uid"_json_pointer, std::string()) == c.uid) return Status::Ok();
  return Status(StatusCode::kAlreadyExists, "file system " + fs_id + " is already held by CheckpointStore " + Describe(*holder) +
                "; two stores never own one file system. Use that store's claim, or delete it first")
      .SetReason("FileSystemHeld");
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

// Only a run that launched a TrainJob holds the store: one that never did (waiting for the store,
// or for a TrainJob of its name to go) would wait for a store that is going, and the store for
// it; from the store's deletionTimestamp on, no run launches on it (StorePhase).
std::vector<std::string> CheckpointStoreReconciler::Users(const Json& store) const {
  std::vector<std::string> users;
  for (const auto& tr : caches_.trainruns.ByIndex(kTrainRunsByStore, kube::KeyOf(store))) {
    const std::string phase = tr->value("/status/phase"_json_pointer, std::string());
    const bool launched = !tr->value("/status/trainJobName"_json_pointer, std::string()).empty();
    if (launched && phase != "Succeeded" && phase != "Failed") users.push_back((*tr)["metadata"].value("name", ""));
  }
  std::sort(users.begin(), users.end());
  return users;
}

StatusOr<Action> CheckpointStoreReconciler::Finalize(Ctx& c) {
  if (!HasStoreFinalizer(c.store)) return Action::AwaitChange();
  c.status["phase"] = "Deleting";
  if (std::vector<std::string> users = Users(c.store); !users.empty()) {
    std::string names;
    for (const auto& u : users) names += (names.empty() ? "" : ", ") + u;
    const std::string message = "deletion waits for TrainRuns that have not finished and use this store: " + names;
    if (c.status.value("/conditions"_json_pointer, Json::array()).dump().find(message) == std::string::npos)
      events_.Event(c.store, "Warning", "DeletionBlocked", "Delete", message);
    c.Summarize(Health::kInProgress, "InUse", message);
    RETURN_IF_ERROR(AbandonFinalExport(c, c.status.value("fileSystemId", "")));  // it trains: keep exporting
    RETURN_IF_ERROR(WriteStatus(c));
    return Action::RequeueAfter(options_.poll_interval);  // and each run's end wakes us (DeletingStoreOf)
  }
  std::string policy = c.store["spec"].value("deletionPolicy", "Retain");
  if (policy == "Retain") {
    ASSIGN_OR_RETURN(bool restored, RestoreAutoExport(c, c.status.value("fileSystemId", "")));
    if (!restored) {
      c.Summarize(Health::kInProgress, "RestoringAutomaticExport",
                  "switching automatic export back on before the file system is released");
      RETURN_IF_ERROR(WriteStatus(c));
      return Action::RequeueAfter(options_.poll_interval);
    }
    RETURN_IF_ERROR(MarkReleased(c, c.status.value("fileSystemId", "")));
  } else {
    ASSIGN_OR_RETURN(bool gone, DeleteFileSystem(c));
    if (!gone) {
      if (!c.refusal.reason.empty()) c.Summarize(Health::kStalled, c.refusal.reason, c.refusal.message + BackOff(c));
      RETURN_IF_ERROR(WriteStatus(c));
      return Action::RequeueAfter(c.refused && !c.in_flight ? BackOffLeft(c) : options_.poll_interval);
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
  std::string id = c.status.value("fileSystemId", "");
  if (id.empty()) {
    ASSIGN_OR_RETURN(std::vector<Json> all, fsx_.DescribeFileSystems({}));  // afresh: a miss lets the finalizer go
    std::optional<Json> tagged = FindTagged(all, c.uid);
    if (!tagged) return true;  // nothing this store created or held: an adoption refused, or nothing made yet
    id = tagged->value("FileSystemId", "");
    c.status["fileSystemId"] = id;
  }
  // The back-off holds until retryAfter (RFC 3339 UTC: ordered as text), unless the spec was
  // edited since the refusal was written (observedGeneration is that write's): an edit retries at once.
  const bool edited = c.status.value("observedGeneration", int64_t{0}) != c.generation;
  if (const std::string at = c.status.value("retryAfter", ""); !at.empty()) {
    if (c.now < at && !edited) {
      c.refused = true;  // the refusal's condition stands until then
      RETURN_IF_ERROR(RestoreAutoExport(c, id).status());  // one still UPDATING at the refusal
      return false;
    }
    c.status.erase("retryAfter");  // due: this attempt sets it again if refused
  }
  if (edited) c.status.erase("refusedAttempts");
  // Asked of FSx by id, not read off the shared view: only FileSystemNotFound means gone.
  auto described = fsx_.DescribeFileSystems({id});
  if (described.status().IsNotFound() || (described.ok() && described->empty())) return true;
  RETURN_IF_ERROR(described.status());
  const Json fs = described->front();
  if (fs.value("Lifecycle", "") == "DELETING") {
    c.Summarize(Health::kInProgress, "DeletingFileSystem", "FSx is deleting " + id);
    return false;
  }
  if (c.store["spec"].value("deletionPolicy", "") == "Delete") {  // Snapshot: unlinked stores only (CRD)
    Json filter = Json::array({{{"Name", "file-system-id"}, {"Values", {id}}}});
    ASSIGN_OR_RETURN(std::vector<Json> dras, fsx_.DescribeDataRepositoryAssociations(filter));
    ASSIGN_OR_RETURN(ExportState exported, FinalExport(c, id, dras));
    if (exported == ExportState::kWaiting) return false;
  }
  const bool snapshot = c.store["spec"].value("deletionPolicy", "") == "Snapshot";
  Json lustre = {{"SkipFinalBackup", !snapshot}};
  if (snapshot) lustre["FinalBackupTags"] = Json::array({{{"Key", kOwnerTag}, {"Value", c.uid}}});
  auto r = fsx_.DeleteFileSystem({{"FileSystemId", id}, {"ClientRequestToken", StoreToken("del", c.uid)}, {"LustreConfiguration", lustre}});
  if (!r.ok()) {
    if (r.status().IsNotFound()) return true;
    if (IsTransient(r.status())) return r.status();
    RETURN_IF_ERROR(RefuseDeletion(c, id, r.status()));
    return false;
  }
  cache_.PutFileSystem({{"FileSystemId", id}, {"Lifecycle", "DELETING"}});
  c.Summarize(Health::kInProgress, "DeletingFileSystem", "FSx is deleting " + id);
  events_.Event(c.store, "Normal", "DeletingFileSystem", "Delete",
                "deleting " + id + " and its data repository associations" +
                    (snapshot ? " after a final backup" : " without a final backup"));
  return false;
}

// FSx refused DeleteFileSystem (an IAM deny such as the seeds' deletion protection, or a rule):
// nothing was deleted, so every association still links the file system to S3. Automatic export
// paused for the final export is switched back on, the next attempt exports afresh, and the
// condition says who refused and what a human can do. Retried at status.retryAfter (BackOff).
Status CheckpointStoreReconciler::RefuseDeletion(Ctx& c, const std::string& fs_id, const Status& refusal) {
  RETURN_IF_ERROR(RestoreAutoExport(c, fs_id).status());
  StartFinalExportOver(c.status["finalExport"]);
  const std::string message = "FSx refused DeleteFileSystem for " + fs_id + ": " + refusal.message() +
                              ". Nothing was deleted: the file system and every data repository association remain. "
                              "Lift the deny on fsx:DeleteFileSystem, or set spec.deletionPolicy: Retain to keep the "
                              "file system and let the store go";
  return Refuse(c, "Ready", Status(refusal.code(), message).SetReason(ErrorReason(refusal)));
}

// A refused deletion step waits before the next attempt, since each attempt pauses automatic
// export and runs a whole final export: --fsx-refusal-retry, doubled for each refusal in a row
// up to 16 times it (status.refusedAttempts; an edit of the store starts again). Kept in
// status.retryAfter; returns the sentence the condition ends with.
std::string CheckpointStoreReconciler::BackOff(Ctx& c) {
  const int refused = c.status.value("refusedAttempts", 0) + 1;
  const auto wait = options_.refusal_retry * (int64_t{1} << std::min(refused - 1, 4));
  c.status["refusedAttempts"] = refused;
  c.status["retryAfter"] = FormatRfc3339(clock_.Now() + wait);
  return ". Attempt " + std::to_string(refused) + " refused; the next is at " + c.status["retryAfter"].get<std::string>() +
         " (the wait doubles with each refusal), or at once after an edit of the store";
}

// How long until the back-off ends: status.retryAfter, else a failed final export's retryAfter,
// else the whole refusal-retry interval.
std::chrono::milliseconds CheckpointStoreReconciler::BackOffLeft(const Ctx& c) const {
  Clock::WallTime at;
  if (!ParseRfc3339(c.status.value("retryAfter", ""), at) &&
      !ParseRfc3339(c.status.value("/finalExport/retryAfter"_json_pointer, std::string()), at))
    return options_.refusal_retry;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(at - clock_.Now());
  return std::clamp(left, std::chrono::milliseconds(100), options_.refusal_retry * 16);
}

// Retain: what this store made (the file system, if it created it, and its associations) gets the
// released owner tag, so that a store applied again with fileSystem.id may adopt it and take the
// associations over, while a file system whose creator merely is out of this operator's sight
// stays held. Idempotent: a crash in between repeats it.
Status CheckpointStoreReconciler::MarkReleased(Ctx& c, const std::string& fs_id) {
  std::optional<Json> fs;
  if (fs_id.empty()) {  // never recorded (a crash between create and status write): found by its tag
    ASSIGN_OR_RETURN(std::vector<Json> all, fsx_.DescribeFileSystems({}));
    fs = FindTagged(all, c.uid);
  } else if (auto described = fsx_.DescribeFileSystems({fs_id}); described.ok() && !described->empty()) {
    fs = described->front();
  } else if (!described.status().IsNotFound() && !described.ok()) {
    return described.status();
  }
  if (!fs) return Status::Ok();
  const std::string id = fs->value("FileSystemId", "");
  const Json released = Json::array({{{"Key", kOwnerTag}, {"Value", ReleasedTag(c.uid)}}});
  auto mark = [&](Json resource, bool association) -> Status {
    RETURN_IF_ERROR(fsx_.TagResource(resource.value("ResourceARN", ""), released));
    SetOwnerTag(resource, ReleasedTag(c.uid));
    if (association) cache_.PutAssociation(id, resource);
    else cache_.PutFileSystem(resource);
    return Status::Ok();
  };
  // Associations first, the file system last: a released file system implies released links.
  const AssociationOwnership owner = c.Ownership(*fs);
  Json filter = Json::array({{{"Name", "file-system-id"}, {"Values", {id}}}});
  ASSIGN_OR_RETURN(std::vector<Json> links, fsx_.DescribeDataRepositoryAssociations(filter));
  for (const auto& a : links)
    if (owner.Owns(a) && a.value("Lifecycle", "") != "DELETING") RETURN_IF_ERROR(mark(a, true));
  if (OwnedBy(*fs, c.uid)) RETURN_IF_ERROR(mark(*fs, false));
  return Status::Ok();
}

// A run uses the deleting store again (its TrainJob appeared after the deletion began): whatever
// the final export started is stale by the time the run ends, so it is given up and automatic
// export switched back on, but only once a running task has ended (FSx runs the two never at
// once); the next attempt pauses and exports afresh.
Status CheckpointStoreReconciler::AbandonFinalExport(Ctx& c, const std::string& fs_id) {
  if (!c.status.contains("finalExport") || c.status["finalExport"].empty()) return Status::Ok();
  Json& record = c.status["finalExport"];
  if (!record.value("taskId", "").empty()) {
    auto tasks = fsx_.DescribeDataRepositoryTasks({{"TaskIds", {record["taskId"]}}});
    if (tasks.ok() && !tasks->empty()) {
      const std::string lifecycle = tasks->front().value("Lifecycle", "");
      record["lifecycle"] = lifecycle;
      if (TaskRunning(lifecycle)) return Status::Ok();
    } else if (!tasks.ok() && !tasks.status().IsNotFound()) {
      return tasks.status();
    }
    StartFinalExportOver(record);
  }
  return RestoreAutoExport(c, fs_id).status();
}

}  // namespace ckpt::controllers
