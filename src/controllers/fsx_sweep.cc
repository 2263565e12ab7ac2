// FSx sweep planning (see fsx_sweep.h).
#include "controllers/fsx_sweep.h"

#include <algorithm>

namespace ckpt::controllers {
namespace {

size_t Pages(size_t items) { return std::max<size_t>(1, (items + kAssociationsPerPage - 1) / kAssociationsPerPage); }

size_t Known(const std::map<std::string, size_t>& known, const std::string& id) {
  auto it = known.find(id);
  return it == known.end() ? 0 : it->second;
}

std::vector<std::vector<std::string>> Chunks(const std::vector<std::string>& ids, size_t size) {
  std::vector<std::vector<std::string>> out;
  for (size_t i = 0; i < ids.size(); i += size)
    out.emplace_back(ids.begin() + i, ids.begin() + std::min(ids.size(), i + size));
  return out;
}

}  // namespace

size_t ExpectedAssociationPages(const SweepPlan& plan, const std::map<std::string, size_t>& known) {
  if (plan.all_associations) {
    size_t total = 0;
    for (const auto& [id, n] : known) total += n;
    return Pages(total);
  }
  size_t pages = 0;
  for (const auto& chunk : plan.association_chunks) {
    size_t items = 0;
    for (const auto& id : chunk) items += Known(known, id);
    pages += Pages(items);
  }
  return pages;
}

SweepPlan PlanSweep(const std::vector<std::string>& watched, const std::map<std::string, size_t>& known) {
  SweepPlan filtered{Chunks(watched, kFileSystemIdsPerCall), false, Chunks(watched, kFilterValuesPerFilter)};
  SweepPlan unfiltered{filtered.file_system_batches, true, {}};
  if (watched.empty()) return filtered;
  return ExpectedAssociationPages(unfiltered, known) < ExpectedAssociationPages(filtered, known) ? unfiltered : filtered;
}

}  // namespace ckpt::controllers
