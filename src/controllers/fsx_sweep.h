// FSx sweep planning, pure: which Describe calls refresh a set of file systems most cheaply.
// FSx's API reference (and the vendored service model, third_party/aws-models) fixes the limits:
//   - DescribeFileSystems takes at most 50 FileSystemIds per call (shape FileSystemIds, max 50);
//     unfiltered it pages at "the minimum of MaxResults and the service's internal maximum".
//   - DescribeDataRepositoryAssociations pages at most 25 (shape LimitedMaxResults, max 25) and a
//     filter carries at most 20 values (shape FilterValues, max 20); "If you don't use filters, the
//     response returns all data repository associations owned by your Amazon Web Services
//     account in the Amazon Web Services Region" (API reference, DescribeDataRepositoryAssociations).
// So refreshing W watched file systems costs ceil(W / 50) DescribeFileSystems calls, and their
// associations either one unfiltered paginated sweep or chunks of 20 file-system ids, whichever
// takes fewer pages given the associations already known.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace ckpt::controllers {

inline constexpr size_t kFileSystemIdsPerCall = 50;
inline constexpr size_t kAssociationsPerPage = 25;
inline constexpr size_t kFilterValuesPerFilter = 20;

struct SweepPlan {
  std::vector<std::vector<std::string>> file_system_batches;  // DescribeFileSystems by id
  bool all_associations = false;                              // one unfiltered paginated sweep
  std::vector<std::vector<std::string>> association_chunks;   // else: file-system-id filters
};

// `watched`: the file systems stores wait on (sorted, unique). `known_associations`: how many
// associations each known file system had at the last sweep (to estimate the pages).
SweepPlan PlanSweep(const std::vector<std::string>& watched, const std::map<std::string, size_t>& known_associations);

// Pages a plan's association calls are expected to take (for tests and the choice above).
size_t ExpectedAssociationPages(const SweepPlan& plan, const std::map<std::string, size_t>& known_associations);

}  // namespace ckpt::controllers
