// FsxSnapshot: one shared view of every file system in the account, refreshed by a single
// paginated DescribeFileSystems call instead of one call per CheckpointStore. A reconcile asks
// for data no older than it needs (seconds while a lifecycle is in flight, minutes in steady
// state); concurrent askers share one refresh. Writes (create, update, delete) invalidate it.
// Thread-safe.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <vector>

#include "ckpt/aws/fsx_client.h"
#include "ckpt/common/clock.h"

namespace ckpt::controllers {

class FsxSnapshot {
 public:
  FsxSnapshot(aws::FsxClient& fsx, Clock& clock) : fsx_(fsx), clock_(clock) {}

  // Every file system, as of at most `max_age` ago.
  StatusOr<std::vector<aws::Json>> All(std::chrono::nanoseconds max_age);
  // One file system (nullopt when FSx no longer has it), as of at most `max_age` ago.
  StatusOr<std::optional<aws::Json>> Get(const std::string& id, std::chrono::nanoseconds max_age);
  // The next read refreshes.
  void Invalidate();
  uint64_t refreshes() const;

 private:
  aws::FsxClient& fsx_;
  Clock& clock_;
  mutable std::mutex mu_;  // held across a refresh so concurrent readers share it
  std::vector<aws::Json> all_;
  std::optional<Clock::MonoTime> taken_at_;
  uint64_t refreshes_ = 0;
};

}  // namespace ckpt::controllers
