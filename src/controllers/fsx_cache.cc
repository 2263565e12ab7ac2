// The shared FSx view (see fsx_cache.h): reads, write-through, sweeps and wake-ups.
#include "controllers/fsx_cache.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "controllers/fsx_sweep.h"
#include "controllers/store_plan.h"

namespace ckpt::controllers {

using aws::Json;

namespace {

void SortById(std::vector<Json>& associations) {
  std::sort(associations.begin(), associations.end(), [](const Json& a, const Json& b) {
    return a.value("AssociationId", "") < b.value("AssociationId", "");
  });
}

}  // namespace

FsxCache::FsxCache(aws::FsxClient& fsx, Clock& clock, FsxCacheOptions options)
    : fsx_(fsx), clock_(clock), options_(options) {}

Status FsxCache::EnsureFresh() {
  auto fresh = [&] { return full_sweep_at_ && clock_.Monotonic() - *full_sweep_at_ <= options_.max_age; };
  {
    std::lock_guard<std::mutex> l(mu_);
    if (fresh()) return Status::Ok();
  }
  std::lock_guard<std::mutex> s(sweep_mu_);
  {
    std::lock_guard<std::mutex> l(mu_);
    if (fresh()) return Status::Ok();  // another reader swept while we waited
  }
  return SweepAll();
}

// Every file system and association in the account and Region. REQUIRES: sweep_mu_ held.
Status FsxCache::SweepAll() {
  uint64_t epoch;
  {
    std::lock_guard<std::mutex> l(mu_);
    epoch = ++epoch_;
  }
  ASSIGN_OR_RETURN(std::vector<Json> file_systems, fsx_.DescribeFileSystems({}));
  ASSIGN_OR_RETURN(std::vector<Json> associations, fsx_.DescribeDataRepositoryAssociations(Json::array()));
  ByFileSystem by_fs;
  for (auto& a : associations) by_fs[a.value("FileSystemId", "")].push_back(std::move(a));
  Merge(std::nullopt, file_systems, std::move(by_fs), epoch);
  std::lock_guard<std::mutex> l(mu_);
  full_sweep_at_ = clock_.Monotonic();
  ++full_sweeps_;
  return Status::Ok();
}

Status FsxCache::SweepWaiting() {
  std::lock_guard<std::mutex> s(sweep_mu_);
  std::vector<std::string> waited = Waited();
  std::map<std::string, size_t> known;
  uint64_t epoch;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [id, e] : entries_) known[id] = e.associations.size();
    epoch = ++epoch_;
  }
  if (waited.empty()) return Status::Ok();
  SweepPlan plan = PlanSweep(waited, known);
  std::vector<Json> file_systems;
  for (const auto& batch : plan.file_system_batches) {
    auto described = fsx_.DescribeFileSystems(batch);
    // One id FSx no longer has fails the whole batch (FileSystemNotFound): list them all instead.
    if (described.status().IsNotFound()) described = fsx_.DescribeFileSystems({});
    RETURN_IF_ERROR(described.status());
    file_systems.insert(file_systems.end(), described->begin(), described->end());
  }
  ByFileSystem by_fs;
  auto collect = [&](const Json& filters) -> Status {
    ASSIGN_OR_RETURN(std::vector<Json> found, fsx_.DescribeDataRepositoryAssociations(filters));
    for (auto& a : found) by_fs[a.value("FileSystemId", "")].push_back(std::move(a));
    return Status::Ok();
  };
  if (plan.all_associations) RETURN_IF_ERROR(collect(Json::array()));
  for (const auto& chunk : plan.association_chunks)
    RETURN_IF_ERROR(collect(Json::array({{{"Name", "file-system-id"}, {"Values", chunk}}})));
  Merge(waited, file_systems, std::move(by_fs), epoch);
  spdlog::debug("swept {} file systems stores wait on: {} DescribeFileSystems calls, associations {}", waited.size(),
                plan.file_system_batches.size(), plan.all_associations ? "all" : std::to_string(plan.association_chunks.size()) + " filtered");
  std::lock_guard<std::mutex> l(mu_);
  ++partial_sweeps_;
  return Status::Ok();
}

// Replaces what a sweep of `scope` (nullopt: everything) saw, except entries we wrote through
// while it ran (ours are newer); counts and wakes the changes.
void FsxCache::Merge(const std::optional<std::vector<std::string>>& scope, const std::vector<Json>& file_systems,
                     ByFileSystem associations, uint64_t epoch) {
  std::map<std::string, const Json*> seen;
  for (const auto& fs : file_systems) seen[fs.value("FileSystemId", "")] = &fs;
  std::set<std::string> ids;
  std::vector<std::string> woken;
  std::unique_lock<std::mutex> l(mu_);
  if (scope) ids.insert(scope->begin(), scope->end());
  else {
    for (const auto& [id, e] : entries_) ids.insert(id);
    for (const auto& [id, fs] : seen) ids.insert(id);
    for (const auto& [id, a] : associations) ids.insert(id);
  }
  for (const auto& id : ids) {
    Entry& e = entries_[id];
    if (e.put_epoch == epoch) continue;
    auto it = seen.find(id);
    std::optional<Json> fs = it == seen.end() ? std::nullopt : std::optional<Json>(*it->second);
    std::vector<Json>& found = associations[id];
    SortById(found);
    if (e.fs == fs && e.associations == found) continue;
    e.fs = std::move(fs);
    e.associations = std::move(found);
    ++e.version;
    if (auto w = waiters_.find(id); w != waiters_.end()) {
      woken.insert(woken.end(), w->second.begin(), w->second.end());
      waiters_.erase(w);
    }
  }
  std::erase_if(entries_, [](const auto& kv) { return !kv.second.fs && kv.second.associations.empty() && kv.second.version == 0; });
  l.unlock();
  if (wake_)
    for (const auto& key : woken) wake_(key);
}

StatusOr<std::optional<Json>> FsxCache::FileSystem(const std::string& id) {
  RETURN_IF_ERROR(EnsureFresh());
  {
    std::lock_guard<std::mutex> l(mu_);
    if (auto it = entries_.find(id); it != entries_.end() && it->second.fs) return it->second.fs;
  }
  // Not in the view (created by someone else since the sweep, or gone): FSx by id decides.
  auto described = fsx_.DescribeFileSystems({id});
  if (described.status().IsNotFound() || (described.ok() && described->empty())) return std::optional<Json>();
  RETURN_IF_ERROR(described.status());
  PutFileSystem(described->front());
  return std::optional<Json>(described->front());
}

StatusOr<std::optional<Json>> FsxCache::FileSystemOwnedBy(const std::string& uid) {
  RETURN_IF_ERROR(EnsureFresh());
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& [id, e] : entries_)
    if (e.fs && OwnedBy(*e.fs, uid)) return e.fs;
  return std::optional<Json>();
}

StatusOr<std::vector<Json>> FsxCache::Associations(const std::string& fs_id) {
  RETURN_IF_ERROR(EnsureFresh());
  std::lock_guard<std::mutex> l(mu_);
  auto it = entries_.find(fs_id);
  return it == entries_.end() ? std::vector<Json>() : it->second.associations;
}

uint64_t FsxCache::Version(const std::string& fs_id) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = entries_.find(fs_id);
  return it == entries_.end() ? 0 : it->second.version;
}

void FsxCache::PutFileSystem(const Json& fs) {
  std::lock_guard<std::mutex> l(mu_);
  Entry& e = EntryLocked(fs.value("FileSystemId", ""));
  if (e.fs) e.fs->update(fs);  // a delete answers with the id and lifecycle only
  else e.fs = fs;
  e.put_epoch = epoch_;
}

// FSx answers a create or update with the whole description and a delete with the id and the
// new lifecycle only: either is merged onto what the view has for that file system.
void FsxCache::PutAssociation(const std::string& fs_id, const Json& association) {
  std::lock_guard<std::mutex> l(mu_);
  Entry& e = EntryLocked(fs_id);
  e.put_epoch = epoch_;
  const std::string id = association.value("AssociationId", "");
  for (auto& a : e.associations)
    if (a.value("AssociationId", "") == id) return a.update(association);
  if (!association.contains("FileSystemId")) return;  // a delete of something the view never had
  e.associations.push_back(association);
  SortById(e.associations);
}

void FsxCache::WakeOnChange(const std::string& fs_id, const std::string& key, uint64_t seen_version) {
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = entries_.find(fs_id);
    if ((it == entries_.end() ? 0 : it->second.version) == seen_version) {
      waiters_[fs_id].insert(key);
      waiters_cv_.notify_all();
      return;
    }
  }
  if (wake_) wake_(key);  // it changed between the reconcile's read and now
}

std::vector<std::string> FsxCache::Waited() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<std::string> ids;
  for (const auto& [id, keys] : waiters_) ids.push_back(id);
  return ids;
}

void FsxCache::Run(std::stop_token stop) {
  auto delay = options_.poll_interval;
  Clock::MonoTime next = clock_.Monotonic();
  while (!stop.stop_requested()) {
    {
      std::unique_lock<std::mutex> l(mu_);
      if (!waiters_cv_.wait(l, stop, [&] { return !waiters_.empty(); })) return;
      // At most one sweep per poll interval, start to start: a change is seen within one interval
      // plus the sweep's own time, and the waits of many stores batch up into one sweep.
      waiters_cv_.wait_for(l, stop, next - clock_.Monotonic(), [] { return false; });
      if (stop.stop_requested()) return;
    }
    Clock::MonoTime started = clock_.Monotonic();
    Status swept = SweepWaiting();
    if (!swept.ok()) spdlog::warn("FSx sweep failed, retrying in {}s: {}", delay.count() / 1'000'000'000, swept.ToString());
    delay = swept.ok() ? options_.poll_interval : std::min(delay * 2, options_.poll_interval * 8);
    next = started + delay;
  }
}

uint64_t FsxCache::full_sweeps() const {
  std::lock_guard<std::mutex> l(mu_);
  return full_sweeps_;
}

uint64_t FsxCache::partial_sweeps() const {
  std::lock_guard<std::mutex> l(mu_);
  return partial_sweeps_;
}

}  // namespace ckpt::controllers
