// Least privilege, checked from evidence: the integration tests that run the operator as its
// ServiceAccount (the controller tests and the daemon end to end) each saved the distinct API
// calls it made, from the API server's audit log. Every one of them must be granted by
// deploy/rbac, and every grant in deploy/rbac must have been used by at least one of them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "integration/rbac_audit.h"

namespace ckpt::testing {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kExpectedRuns = {
    "checkpointstore_controller_test-v2.3.0", "trainrun_controller_test-v2.1.0", "trainrun_controller_test-v2.3.0",
    "operator_e2e_test-v2.3.0"};

std::set<ApiCall> Granted() {
  const std::string dir = std::string(CKPT_SOURCE_DIR) + "/deploy/rbac/";
  auto g = GrantedByRbac({dir + "cluster_role.yaml", dir + "leader_election_role.yaml"});
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  return g.ok() ? *g : std::set<ApiCall>{};
}

// run name -> the calls it made
std::map<std::string, std::set<ApiCall>> Recorded() {
  std::map<std::string, std::set<ApiCall>> out;
  const char* dir = std::getenv("CKPT_RBAC_USAGE_DIR");
  if (!dir || !fs::exists(dir)) return out;
  for (const auto& f : fs::directory_iterator(dir)) {
    std::ifstream in(f.path());
    std::string line;
    while (std::getline(in, line))
      if (!line.empty()) out[f.path().stem().string()].insert(ApiCall::Parse(line));
  }
  return out;
}

TEST(RbacLeastPrivilegeTest, EveryOperatorRunRecordedItsCalls) {
  auto recorded = Recorded();
  for (const auto& run : kExpectedRuns)
    EXPECT_TRUE(recorded.count(run)) << run << " saved no calls: run the whole integration label "
                                     << "(ctest -L integration) so every run records its evidence";
}

TEST(RbacLeastPrivilegeTest, EveryCallTheOperatorMadeIsGranted) {
  auto granted = Granted();
  for (const auto& [run, calls] : Recorded())
    for (const auto& c : calls) EXPECT_TRUE(granted.count(c)) << run << " made a call deploy/rbac does not grant: " << c.ToString();
}

TEST(RbacLeastPrivilegeTest, NothingIsGrantedThatNoTestUsed) {
  std::set<ApiCall> used;
  for (const auto& [run, calls] : Recorded()) used.insert(calls.begin(), calls.end());
  ASSERT_FALSE(used.empty());
  size_t unused = 0;
  for (const auto& g : Granted()) {
    if (used.count(g)) continue;
    ++unused;
    ADD_FAILURE() << "deploy/rbac grants " << g.ToString() << " but no integration test made that call";
  }
  std::cerr << "[rbac] " << used.size() << " distinct calls used; " << unused << " grants unused\n";
}

}  // namespace
}  // namespace ckpt::testing
