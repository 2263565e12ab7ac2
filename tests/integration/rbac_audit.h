// RBAC evidence for the least-privilege test: which API calls the operator's ServiceAccount made
// (read from the API server's audit log, which tests/envtest/control-plane.sh writes for the
// ckpt-system service accounts) and which ones deploy/rbac grants. A call is (API group,
// resource[/subresource], verb), the unit RBAC rules are written in.
#pragma once

#include <compare>
#include <set>
#include <string>
#include <vector>

#include "ckpt/common/status.h"

namespace ckpt::testing {

inline constexpr char kOperatorUser[] = "system:serviceaccount:ckpt-system:ckpt-operator";

struct ApiCall {
  std::string group, resource, verb;
  auto operator<=>(const ApiCall&) const = default;
  std::string ToString() const;   // "trainops.io checkpointstores/status patch" (core group: "core")
  static ApiCall Parse(const std::string& line);  // the inverse
};

struct AuditSummary {
  std::set<ApiCall> allowed;          // authorized calls (whatever the response code)
  std::vector<std::string> denied;    // forbidden calls, described for the failure message
  // Forbidden calls that the same user made in the same namespace and was allowed both before and
  // after: granted, but refused while a restarted API server's authorizer loaded its roles.
  std::vector<std::string> refused_while_granted;
};

// Reads a JSON-lines audit log, keeping `user`'s requests that reached authorization.
StatusOr<AuditSummary> ReadAudit(const std::string& audit_log, const std::string& user);

// Every call the (Cluster)Role rules in these manifests allow. Wildcards are refused (an error):
// least privilege means naming each group, resource and verb.
StatusOr<std::set<ApiCall>> GrantedByRbac(const std::vector<std::string>& manifest_files);

}  // namespace ckpt::testing
