// Pure planning for the CheckpointStore controller: given a store's spec and what FSx and the
// API server report, compute the FSx create request, the UpdateFileSystem delta, the data
// repository association changes, the static PV and PVC, and the status conditions. No I/O;
// unit-tested table-style. Names of FSx fields follow the botocore model.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ckpt::controllers {

using Json = nlohmann::json;

// The tag that marks a file system as created for one CheckpointStore (its metadata.uid).
inline constexpr char kOwnerTag[] = "trainops.io/checkpointstore-uid";

// CreateFileSystem request for `store` (spec.fileSystem describes a new file system).
Json CreateFileSystemRequest(const Json& store);
// CreateFileSystemFromBackup request for a store with spec.fileSystem.fromBackup: the backup fixes
// deployment type, capacity and throughput (a larger storageCapacityGiB grows it afterwards).
Json CreateFromBackupRequest(const Json& store);
// A human-readable Event message for an association FSx accepted (`verb`: Created, Updated or
// Deleted): id, paths and auto-import/export events, never the raw response.
std::string AssociationSummary(const std::string& verb, const Json& association);
// "updating fs-1: StorageCapacity 4800" for an UpdateFileSystem request (Event text, not JSON).
std::string FileSystemUpdateSummary(const Json& update);
// The strings of a JSON array joined with `separator` ("NEW, CHANGED").
std::string Joined(const Json& values, const std::string& separator = ", ");

// True while FSx is still changing `fs`: a lifecycle other than AVAILABLE or FAILED, or an
// administrative action (a storage or throughput change) that has not finished.
bool FileSystemMoving(const Json& fs);
// True when `fs` carries the owner tag of the store with `uid` and is not being deleted.
bool OwnedBy(const Json& fs, const std::string& uid);

// The owner tag's value once its store was deleted with policy Retain: "released:<uid>". What
// carries it is nobody's; a store may adopt the file system and take over the associations.
std::string ReleasedTag(const std::string& uid);
// Sets the owner tag's value in an FSx resource description, as TagResource just did in FSx.
void SetOwnerTag(Json& resource, const std::string& value);
bool IsReleasedTag(const std::string& value);
// The file system in `all` tagged with `uid`, if any (crash-safe look-up before create).
std::optional<Json> FindTagged(const std::vector<Json>& all, const std::string& uid);

// The UpdateFileSystem request that moves `fs` toward `spec.fileSystem`, or nullopt when it
// already matches. FSx takes one change at a time: capacity first, then throughput, then the
// backup settings and compression together.
std::optional<Json> FileSystemUpdate(const Json& spec_fs, const Json& fs);

// The S3 block (AutoImportPolicy, AutoExportPolicy) of an association request from one entry of
// spec.dataRepository.associations.
Json S3Policies(const Json& spec_association);

struct AssociationPlan {
  std::vector<Json> create;  // CreateDataRepositoryAssociation requests (without ClientRequestToken), owner-tagged
  std::vector<Json> update;  // UpdateDataRepositoryAssociation requests
  std::vector<Json> remove;  // DeleteDataRepositoryAssociation requests
  std::vector<std::string> conflicts;  // why an association at a wanted path is left alone
  std::set<std::string> conflict_paths;  // the paths of those
  std::vector<Json> take_over;  // released associations the spec wants as they are: re-tagged for this store
};

// Who made an association: the store whose UID its owner tag carries. An untagged one counts as
// the store's only when the store created the file system and recorded the association's id in
// status (associations made before the operator tagged them).
struct AssociationOwnership {
  std::string uid;                    // the store's metadata.uid
  bool created_file_system = false;   // the file system carries the store's owner tag
  // Untagged association ids status.associations lists as owned (entries written before the
  // `owned` field existed count as owned: the operator of that time tagged no association).
  std::vector<std::string> recorded;
  bool Owns(const Json& association) const;
  // Released: nobody's (ReleasedTag), so a store that wants it as it is may take it.
  bool Released(const Json& association) const;
};

// Compares spec.dataRepository with the file system's current associations (matched by path).
// Only associations the store owns are updated or deleted: someone else's, at a path the spec
// does not name, is left alone; at a wanted path, or one of ours linked to another S3 path (FSx
// cannot change an association's DataRepositoryPath), it is a conflict and nothing is done there.
AssociationPlan PlanAssociations(const Json& spec, const std::string& fs_id, const std::vector<Json>& current,
                                 const AssociationOwnership& owner);

// The final export before a linked file system is deleted: the associations that export to S3
// (those with AutoExportPolicy events, not being deleted), as the relative paths
// CreateDataRepositoryTask takes ("checkpoints" for /checkpoints), and the completion report's
// location: the S3 path of the association at `checkpoint_path` (the store's checkpoint
// association) when it exports, else of the first exporting one by path. nullopt when nothing exports.
struct FinalExportPlan {
  Json paths;               // ["checkpoints", "logs"]
  std::string report_path;  // "s3://bucket/checkpoints/"
};
std::optional<FinalExportPlan> PlanFinalExport(const std::vector<Json>& associations,
                                               const std::string& checkpoint_path = "/checkpoints");
// The CreateDataRepositoryTask request for `plan`, tagged with the store's UID.
Json FinalExportRequest(const std::string& fs_id, const FinalExportPlan& plan, const std::string& uid,
                        const std::string& token);

// Static PV and PVC for the FSx CSI driver, pre-bound to each other.
std::string PvName(const Json& store);
Json PersistentVolume(const Json& store, const Json& fs);
Json PersistentVolumeClaim(const Json& store, const Json& fs);

// Sets (or replaces) condition `type` in `conditions`; lastTransitionTime changes only when the
// status does. Returns true when anything changed.
bool SetCondition(Json& conditions, const std::string& type, bool ok, const std::string& reason,
                  const std::string& message, int64_t generation, const std::string& now);

}  // namespace ckpt::controllers
