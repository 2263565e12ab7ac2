// FsxService: the emulator's in-memory FSx for Lustre. Holds file systems, data repository
// associations, backups, tasks and tags; runs each lifecycle on the injected clock (CREATING ->
// AVAILABLE, UPDATING -> AVAILABLE, DELETING -> gone, tasks PENDING -> EXECUTING -> SUCCEEDED /
// FAILED, CANCELING -> CANCELED); honours ClientRequestToken idempotency
// (same token and parameters: the same resource; other parameters: IncompatibleParameterError).
// Requests reaching it are already authenticated and model-valid. Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <string>

#include "ckpt/common/clock.h"
#include "emulator/lustre_rules.h"

namespace ckpt::emulator {

struct LifecycleTimes {
  std::chrono::milliseconds create{2000}, update{1000}, remove{1000}, association{1000}, backup{1000}, task{1000};
};

// FSx timestamps: seconds since the epoch, as a JSON number.
inline double EpochSeconds(Clock::WallTime t) { return std::chrono::duration<double>(t.time_since_epoch()).count(); }

class FsxService {
 public:
  FsxService(Clock& clock, LifecycleTimes times, std::string region, std::string account);

  // Runs `op`; the result is the response body or an FSx error (reason() = error code).
  StatusOr<Json> Handle(const std::string& op, const Json& request);
  // While set, resources stay in their transitional lifecycle (a "stuck" fault).
  void SetStuck(bool stuck);
  // While set, data repository tasks created end FAILED (with FailureDetails and a failed count).
  void SetFailTasks(bool fail);
  size_t FileSystemCount() const;

 private:
  struct Resource {
    Json desc;
    std::string next;  // lifecycle after settle_at; "" = removed
    Clock::MonoTime settle_at{};
    bool settling = false;
    std::string then;                   // a second transition after `next` (tasks: EXECUTING -> end)
    std::chrono::milliseconds then_after{0};
    Json then_fields;                   // merged into desc when `then` is reached (EndTime, Status, ...)
  };
  using Table = std::map<std::string, Resource>;

  void AdvanceLocked();
  std::string NewId(const std::string& prefix);
  void StartLocked(Resource& r, const std::string& now, const std::string& next, std::chrono::milliseconds d);
  StatusOr<Json> IdempotentLocked(const std::string& op, const Json& request, const std::function<StatusOr<Json>()>& create);
  static Json Page(const std::vector<const Json*>& items, const Json& request, const char* field);
  // Stores a new resource and returns {"Id": id, "Desc": description} for IdempotentLocked.
  static Json Insert(Table& table, const std::string& id, Resource r);
  // One page of `table`'s descriptions named in request[ids_field] (all when absent) and
  // matching request["Filters"].
  static Json Matching(const Table& table, const Json& request, const char* ids_field, const char* out_field);

  StatusOr<Json> CreateFileSystem(const Json& r);
  StatusOr<Json> DescribeFileSystems(const Json& r);
  StatusOr<Json> UpdateFileSystem(const Json& r);
  StatusOr<Json> DeleteFileSystem(const Json& r);
  StatusOr<Json> CreateAssociation(const Json& r);
  StatusOr<Json> DescribeAssociations(const Json& r);
  StatusOr<Json> UpdateAssociation(const Json& r);
  StatusOr<Json> DeleteAssociation(const Json& r);
  StatusOr<Json> NewFileSystemLocked(const Json& r);
  StatusOr<Json> CreateBackup(const Json& r);
  StatusOr<Json> CreateFromBackup(const Json& r);
  StatusOr<Json> DescribeBackups(const Json& r);
  StatusOr<Json> CreateTask(const Json& r);
  StatusOr<Json> DescribeTasks(const Json& r);
  StatusOr<Json> CancelTask(const Json& r);
  // Whether a task of file system `fs_id` is PENDING or EXECUTING (FSx allows one at a time).
  bool TaskActiveLocked(const std::string& fs_id) const;
  // The file system's associations that are not being deleted (it is "linked" when any exist).
  std::vector<Json> LinksLocked(const std::string& fs_id) const;
  // How a new export task over `paths` ends: SUCCEEDED, or FAILED with FailureDetails.
  Json TaskOutcomeLocked(const Json& paths, const std::vector<Json>& links) const;
  StatusOr<Json> TagResource(const Json& r);
  StatusOr<Json> ListTags(const Json& r);
  Json* FindByArnLocked(const std::string& arn);
  // The file system or association with `id`, or FSx's NotFound error for it.
  StatusOr<Table::iterator> FileSystemLocked(const std::string& id);
  StatusOr<Table::iterator> AssociationLocked(const std::string& id);

  Clock& clock_;
  const LifecycleTimes times_;
  const std::string region_, account_;
  mutable std::mutex mu_;
  // State below is protected by mu_.
  Table file_systems_, associations_, backups_, tasks_;
  std::map<std::string, std::pair<std::string, std::string>> tokens_;  // token -> (op+params, id)
  // Seeded per instance: FSx ids are unique across accounts and time, so two emulators (one per
  // test) must not hand out the same fs-/dra- ids either.
  std::mt19937_64 rng_{std::random_device{}()};
  bool stuck_ = false;
  bool fail_tasks_ = false;
};

}  // namespace ckpt::emulator
