// The emulator's backups (part of FsxService, see fsx_service.h): CreateBackup, DescribeBackups
// and CreateFileSystemFromBackup, following AWS's FSx for Lustre documentation: backups exist
// only for persistent file systems not linked to S3 (LustreGuide/using-backups-fsx.html,
// APIReference/API_CreateBackup.html), and a restore creates a new file system shaped like the
// one backed up (APIReference/API_CreateFileSystemFromBackup.html).
#include "emulator/fsx_service.h"

namespace ckpt::emulator {
namespace {


}  // namespace

StatusOr<Json> FsxService::CreateBackup(const Json& r) {
  ASSIGN_OR_RETURN(auto fs, FileSystemLocked(r.value("FileSystemId", "")));
  if (fs->second.desc["LustreConfiguration"].value("DeploymentType", "").starts_with("SCRATCH"))
    return FsxError("BadRequest", "Backups are not supported on scratch file systems.");
  // "For Amazon FSx for Lustre file systems, you can create a backup only for file systems that
  // have ... a Persistent deployment type [and] are not linked to a data repository."
  // (APIReference/API_CreateBackup.html; LustreGuide/using-backups-fsx.html)
  if (!LinksLocked(fs->first).empty())
    return FsxError("UnsupportedOperation", "File system " + fs->first + " is linked to a data repository: FSx for "
                                            "Lustre backs up only persistent file systems that are not linked to S3.");
  ASSIGN_OR_RETURN(Json out, IdempotentLocked("CreateBackup", r, [&]() -> StatusOr<Json> {
    std::string id = NewId("backup");
    Resource b;
    b.desc = {{"BackupId", id}, {"Type", "USER_INITIATED"}, {"FileSystemId", fs->first},
              {"CreationTime", EpochSeconds(clock_.Now())}, {"Tags", r.value("Tags", Json::array())},
              {"FileSystem", fs->second.desc},
              {"ResourceARN", "arn:aws:fsx:" + region_ + ":" + account_ + ":backup/" + id}};
    StartLocked(b, "CREATING", "AVAILABLE", times_.backup);
    return Insert(backups_, id, std::move(b));
  }));
  return Json{{"Backup", out["Resource"]}};
}

StatusOr<Json> FsxService::DescribeBackups(const Json& r) {
  return Matching(backups_, r, "BackupIds", "Backups");
}

// Restore: the new file system takes its deployment type, capacity, throughput and Lustre version
// from the file system the backup was taken of; "Parameters like ... automatic backup, and backup
// settings default to the parameters of the file system that was backed up, unless overridden"
// (APIReference/API_CreateFileSystemFromBackup.html). The backup must exist (BackupNotFound) and
// be AVAILABLE; it returns while the new file system is CREATING, like CreateFileSystem.
StatusOr<Json> FsxService::CreateFromBackup(const Json& r) {
  const std::string backup_id = r.value("BackupId", "");
  auto b = backups_.find(backup_id);
  if (b == backups_.end()) return FsxError("BackupNotFound", "Backup " + backup_id + " does not exist.");
  if (b->second.desc.value("Lifecycle", "") != "AVAILABLE")
    return FsxError("BadRequest", "Backup " + backup_id + " is " + b->second.desc.value("Lifecycle", "") +
                                      ": a file system can be restored only from an AVAILABLE backup.");
  const Json source = b->second.desc.value("FileSystem", Json::object());
  const Json source_lc = source.value("LustreConfiguration", Json::object());
  Json lc = Json::object();
  for (const char* k : {"DeploymentType", "PerUnitStorageThroughput", "AutomaticBackupRetentionDays",
                        "DailyAutomaticBackupStartTime", "DataCompressionType", "EfaEnabled"})
    if (source_lc.contains(k)) lc[k] = source_lc[k];
  lc.update(r.value("LustreConfiguration", Json::object()));
  Json request = {{"StorageCapacity", source.value("StorageCapacity", 1200)},
                  {"StorageType", source.value("StorageType", "SSD")},
                  {"FileSystemTypeVersion", r.value("FileSystemTypeVersion", source.value("FileSystemTypeVersion", "2.15"))},
                  {"SubnetIds", r["SubnetIds"]}, {"Tags", r.value("Tags", Json::array())}, {"LustreConfiguration", lc}};
  ASSIGN_OR_RETURN(Json out, IdempotentLocked("CreateFileSystemFromBackup", r, [&] { return NewFileSystemLocked(request); }));
  return Json{{"FileSystem", out["Resource"]}};
}

}  // namespace ckpt::emulator
