// FsxCache: the operator's one view of FSx, shared by every CheckpointStore reconcile, so FSx
// calls grow with what changes, not with the number of stores or workers.
//   - Reads never call FSx while the view is younger than `max_age` (the resync interval); an
//     older view is swept first, once, by whichever reader gets there (the others wait for it).
//   - Our own writes go through: a create, update or delete puts FSx's answer into the view, so
//     the next reconcile sees it without a Describe. (A create whose answer was lost is found by
//     its ClientRequestToken: FSx returns the existing file system for a repeated token.)
//   - A store waiting on a lifecycle registers with WakeOnChange; Run() sweeps only the file
//     systems someone waits on, at most once per poll interval (batched by fsx_sweep.h), and wakes
//     the stores whose file system or associations changed. Nobody waiting: no calls.
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <vector>

#include "ckpt/aws/fsx_client.h"
#include "ckpt/common/clock.h"

namespace ckpt::controllers {

struct FsxCacheOptions {
  std::chrono::nanoseconds poll_interval = std::chrono::seconds(10);  // sweep period while stores wait
  std::chrono::nanoseconds max_age = std::chrono::minutes(10);        // reads older than this sweep all
};

class FsxCache {
 public:
  using Wake = std::function<void(const std::string& key)>;
  FsxCache(aws::FsxClient& fsx, Clock& clock, FsxCacheOptions options = {});

  // Called with a waiting store's key when its file system or associations change.
  // REQUIRES: before Run() and the first WakeOnChange.
  void SetWake(Wake wake) { wake_ = std::move(wake); }

  // The file system; nullopt when FSx does not have it (a miss in the view is asked of FSx by id).
  StatusOr<std::optional<aws::Json>> FileSystem(const std::string& id);
  // The file system tagged as owned by the store with `uid` (store_plan.h OwnedBy), if any.
  StatusOr<std::optional<aws::Json>> FileSystemOwnedBy(const std::string& uid);
  // The associations of file system `fs_id`, sorted by id.
  StatusOr<std::vector<aws::Json>> Associations(const std::string& fs_id);
  // Counts the changes sweeps saw on `fs_id`; read it before reading the data a wait depends on.
  uint64_t Version(const std::string& fs_id) const;

  // Write-through of FSx's answers to our own calls.
  void PutFileSystem(const aws::Json& fs);
  void PutAssociation(const std::string& fs_id, const aws::Json& association);

  // Wakes `key` once when a sweep sees `fs_id` change after `seen_version` (at once if it already did).
  void WakeOnChange(const std::string& fs_id, const std::string& key, uint64_t seen_version);

  // Sweeps what stores wait on, every poll interval while anyone waits, until `stop`.
  void Run(std::stop_token stop);
  // One sweep of what stores wait on now (Run's step; tests call it directly).
  Status SweepWaiting();

  uint64_t full_sweeps() const;
  uint64_t partial_sweeps() const;

 private:
  struct Entry {
    std::optional<aws::Json> fs;
    std::vector<aws::Json> associations;  // sorted by AssociationId
    uint64_t version = 0;
    uint64_t put_epoch = 0;  // the sweep epoch during which we last wrote through
  };
  using ByFileSystem = std::map<std::string, std::vector<aws::Json>>;
  Status EnsureFresh();
  Status SweepAll();
  void Merge(const std::optional<std::vector<std::string>>& scope, const std::vector<aws::Json>& file_systems,
             ByFileSystem associations, uint64_t epoch);
  std::vector<std::string> Waited() const;
  Entry& EntryLocked(const std::string& fs_id) { return entries_[fs_id]; }

  aws::FsxClient& fsx_;
  Clock& clock_;
  const FsxCacheOptions options_;
  Wake wake_;
  std::mutex sweep_mu_;  // one sweep at a time; readers of a stale view share it
  mutable std::mutex mu_;
  std::condition_variable_any waiters_cv_;
  std::map<std::string, Entry> entries_;                    // by file system id
  std::map<std::string, std::set<std::string>> waiters_;   // file system id -> store keys
  std::optional<Clock::MonoTime> full_sweep_at_;
  uint64_t epoch_ = 0, full_sweeps_ = 0, partial_sweeps_ = 0;
};

}  // namespace ckpt::controllers
