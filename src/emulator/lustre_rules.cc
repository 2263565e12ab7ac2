// FSx for Lustre rules (see lustre_rules.h). Values follow the FSx for Lustre user guide:
// SSD capacity 1200, 2400, then steps of 2400 GiB; PERSISTENT_1 throughput 50/100/200 and
// PERSISTENT_2 125/250/500/1000 MB/s/TiB; SCRATCH takes neither throughput nor backups; up to 8
// data repository associations per file system, on PERSISTENT_2 (and 2.12+ others), with
// non-nested file system paths.
#include "emulator/lustre_rules.h"

#include <algorithm>

namespace ckpt::emulator {
namespace {

bool ValidCapacity(int64_t gib) { return gib == 1200 || (gib >= 2400 && gib % 2400 == 0); }

bool Nested(std::string a, std::string b) {  // "/a" contains "/a/b"; "/" contains everything
  if (a.back() != '/') a += '/';
  if (b.back() != '/') b += '/';
  return a.starts_with(b) || b.starts_with(a);
}

}  // namespace

Status FsxError(std::string code, std::string message) {
  StatusCode c = code == "IncompatibleParameterError" ? StatusCode::kConflict
                 : code.ends_with("NotFound")        ? StatusCode::kNotFound
                 : code == "InternalServerError"     ? StatusCode::kUnavailable
                 : code == "ThrottlingException"     ? StatusCode::kTooManyRequests
                                                     : StatusCode::kInvalidArgument;
  return Status(c, std::move(message)).SetReason(std::move(code));
}

Status CheckCreateLustre(const Json& r) {
  if (r.value("FileSystemType", "") != "LUSTRE")
    return FsxError("BadRequest", "This emulator implements FSx for Lustre only (FileSystemType LUSTRE).");
  const Json lc = r.value("LustreConfiguration", Json::object());
  std::string type = lc.value("DeploymentType", "SCRATCH_1");
  if (!r.contains("StorageCapacity"))
    return FsxError("BadRequest", "StorageCapacity is required for FSx for Lustre file systems with SSD storage.");
  int64_t capacity = r.value("StorageCapacity", 0);
  if (!ValidCapacity(capacity))
    return FsxError("BadRequest", "StorageCapacity " + std::to_string(capacity) + " GiB is not valid for " + type +
                                      " file systems with SSD storage: use 1200 GiB, 2400 GiB, or a multiple of 2400 GiB.");
  bool scratch = type.starts_with("SCRATCH");
  if (lc.contains("PerUnitStorageThroughput")) {
    int64_t t = lc["PerUnitStorageThroughput"];
    std::vector<int64_t> ok = type == "PERSISTENT_1" ? std::vector<int64_t>{50, 100, 200}
                              : type == "PERSISTENT_2" ? std::vector<int64_t>{125, 250, 500, 1000}
                                                       : std::vector<int64_t>{};
    if (std::find(ok.begin(), ok.end(), t) == ok.end())
      return FsxError("InvalidPerUnitStorageThroughput",
                      "PerUnitStorageThroughput " + std::to_string(t) + " is not valid for " + type + " file systems.");
  } else if (!scratch) {
    return FsxError("BadRequest", "PerUnitStorageThroughput is required for " + type + " file systems.");
  }
  if (scratch && lc.value("AutomaticBackupRetentionDays", 0) > 0)
    return FsxError("BadRequest", "Automatic backups are not supported on " + type + " file systems.");
  if (lc.value("EfaEnabled", false) && type != "PERSISTENT_2")
    return FsxError("BadRequest", "EFA can be enabled only on PERSISTENT_2 file systems.");
  if (type == "PERSISTENT_2" && (lc.contains("ImportPath") || lc.contains("ExportPath") || lc.contains("AutoImportPolicy")))
    return FsxError("BadRequest", "ImportPath, ExportPath and AutoImportPolicy are not supported on PERSISTENT_2 "
                                  "file systems; use data repository associations.");
  if (r.value("SubnetIds", Json::array()).size() != 1)
    return FsxError("BadRequest", "FSx for Lustre file systems take exactly one subnet.");
  return Status::Ok();
}

Status CheckUpdateLustre(const Json& current, const Json& r) {
  if (current.value("Lifecycle", "") != "AVAILABLE")
    return FsxError("BadRequest", "The file system " + current.value("FileSystemId", "") + " is " +
                                      current.value("Lifecycle", "") + "; only AVAILABLE file systems can be updated.");
  const Json& lc = current["LustreConfiguration"];
  std::string type = lc.value("DeploymentType", "");
  if (r.contains("StorageCapacity")) {
    int64_t want = r["StorageCapacity"], have = current.value("StorageCapacity", 0);
    if (want <= have) return FsxError("BadRequest", "Storage capacity can only be increased (now " + std::to_string(have) + " GiB).");
    if (!ValidCapacity(want)) return FsxError("BadRequest", "StorageCapacity " + std::to_string(want) + " GiB is not valid.");
  }
  const Json u = r.value("LustreConfiguration", Json::object());
  if (u.contains("PerUnitStorageThroughput") && type != "PERSISTENT_2")
    return FsxError("BadRequest", "Throughput can be changed only on PERSISTENT_2 file systems.");
  if (u.contains("PerUnitStorageThroughput")) {
    Json probe = {{"FileSystemType", "LUSTRE"}, {"StorageCapacity", 1200}, {"SubnetIds", {"s"}},
                  {"LustreConfiguration", {{"DeploymentType", type}, {"PerUnitStorageThroughput", u["PerUnitStorageThroughput"]}}}};
    RETURN_IF_ERROR(CheckCreateLustre(probe));
  }
  if (type.starts_with("SCRATCH") && u.value("AutomaticBackupRetentionDays", 0) > 0)
    return FsxError("BadRequest", "Automatic backups are not supported on " + type + " file systems.");
  return Status::Ok();
}

Status CheckCreateAssociation(const Json& fs, const std::vector<Json>& existing, const Json& r) {
  const Json& lc = fs["LustreConfiguration"];
  std::string type = lc.value("DeploymentType", ""), version = fs.value("FileSystemTypeVersion", "2.10");
  if (type == "SCRATCH_1" || version == "2.10")
    return FsxError("BadRequest", "Data repository associations are not supported on " + type + " file systems with "
                                  "Lustre version " + version + ".");
  if (fs.value("Lifecycle", "") != "AVAILABLE")
    return FsxError("BadRequest", "The file system " + fs.value("FileSystemId", "") + " is not AVAILABLE.");
  if (existing.size() >= 8) return FsxError("ServiceLimitExceeded", "A file system can have at most 8 data repository associations.");
  std::string path = r.value("FileSystemPath", "/");
  if (path.empty() || path[0] != '/') return FsxError("BadRequest", "FileSystemPath must start with '/'.");
  if (!r.value("DataRepositoryPath", "").starts_with("s3://"))
    return FsxError("BadRequest", "DataRepositoryPath must be an s3:// path.");
  for (const auto& a : existing) {
    if (Nested(a.value("FileSystemPath", ""), path))
      return FsxError("BadRequest", "FileSystemPath " + path + " overlaps the association " +
                                        a.value("AssociationId", "") + " at " + a.value("FileSystemPath", "") + ".");
    if (a.value("DataRepositoryPath", "") == r.value("DataRepositoryPath", ""))
      return FsxError("BadRequest", "DataRepositoryPath " + r.value("DataRepositoryPath", "") + " is already linked.");
  }
  return Status::Ok();
}

}  // namespace ckpt::emulator
