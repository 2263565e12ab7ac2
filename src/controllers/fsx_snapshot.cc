// Shared DescribeFileSystems snapshot (see fsx_snapshot.h).
#include "controllers/fsx_snapshot.h"

namespace ckpt::controllers {

StatusOr<std::vector<aws::Json>> FsxSnapshot::All(std::chrono::nanoseconds max_age) {
  std::lock_guard<std::mutex> l(mu_);
  auto now = clock_.Monotonic();
  if (taken_at_ && now - *taken_at_ <= max_age) return all_;
  ASSIGN_OR_RETURN(all_, fsx_.DescribeFileSystems({}));
  taken_at_ = clock_.Monotonic();
  ++refreshes_;
  return all_;
}

StatusOr<std::optional<aws::Json>> FsxSnapshot::Get(const std::string& id, std::chrono::nanoseconds max_age) {
  ASSIGN_OR_RETURN(std::vector<aws::Json> all, All(max_age));
  for (auto& fs : all)
    if (fs.value("FileSystemId", "") == id) return std::optional<aws::Json>(std::move(fs));
  return std::optional<aws::Json>();
}

void FsxSnapshot::Invalidate() {
  std::lock_guard<std::mutex> l(mu_);
  taken_at_.reset();
}

uint64_t FsxSnapshot::refreshes() const {
  std::lock_guard<std::mutex> l(mu_);
  return refreshes_;
}

}  // namespace ckpt::controllers
