// Audit-log and RBAC-manifest readers for the least-privilege test (see rbac_audit.h).
#include "integration/rbac_audit.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <map>
#include <tuple>
#include <nlohmann/json.hpp>
#include <sstream>

namespace ckpt::testing {

std::string ApiCall::ToString() const { return (group.empty() ? "core" : group) + " " + resource + " " + verb; }

ApiCall ApiCall::Parse(const std::string& line) {
  std::istringstream in(line);
  ApiCall c;
  in >> c.group >> c.resource >> c.verb;
  if (c.group == "core") c.group.clear();
  return c;
}

StatusOr<AuditSummary> ReadAudit(const std::string& audit_log, const std::string& user) {
  std::ifstream in(audit_log);
  if (!in) return NotFound("no audit log at " + audit_log);
  AuditSummary out;
  std::map<std::string, std::pair<size_t, size_t>> allowed_at;  // call + namespace -> first, last line
  std::vector<std::tuple<std::string, size_t, std::string>> denials;  // key, line, description
  std::string line;
  for (size_t n = 0; std::getline(in, line); ++n) {
    auto e = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!e.is_object() || e.value("/user/username"_json_pointer, std::string()) != user) continue;
    // Requests refused before authorization (e.g. 429 from priority and fairness) carry no decision.
    std::string decision = e.value("/annotations/authorization.k8s.io~1decision"_json_pointer, std::string());
    if (decision.empty()) continue;
    const auto ref = e.value("objectRef", nlohmann::json::object());
    std::string resource = ref.value("resource", "");
    if (ref.contains("subresource")) resource += "/" + ref.value("subresource", "");
    ApiCall call{ref.value("apiGroup", ""), resource, e.value("verb", "")};
    const std::string key = call.ToString() + " in " + ref.value("namespace", "");
    if (decision == "allow") {
      auto [it, fresh] = allowed_at.try_emplace(key, n, n);
      it->second.second = n;
      out.allowed.insert(call);
      // A server-side apply that creates the object is audited as `patch` but was authorized for
      // `create` too (the apply handler checks it separately): 201 is the evidence.
      if (call.verb == "patch" && e.value("/responseStatus/code"_json_pointer, 0) == 201)
        out.allowed.insert({call.group, call.resource, "create"});
    }
    else denials.emplace_back(key, n, call.ToString() + " (" + e.value("requestURI", "") + ")");
  }
  for (const auto& [key, n, what] : denials) {
    auto it = allowed_at.find(key);
    bool granted = it != allowed_at.end() && it->second.first < n && n < it->second.second;
    (granted ? out.refused_while_granted : out.denied).push_back(what);
  }
  return out;
}

StatusOr<std::set<ApiCall>> GrantedByRbac(const std::vector<std::string>& manifest_files) {
  std::set<ApiCall> granted;
  for (const auto& file : manifest_files) {
    for (const auto& doc : YAML::LoadAllFromFile(file)) {
      const std::string kind = doc["kind"] ? doc["kind"].as<std::string>() : "";
      if (kind != "ClusterRole" && kind != "Role") continue;
      for (const auto& rule : doc["rules"])
        for (const auto& group : rule["apiGroups"])
          for (const auto& resource : rule["resources"])
            for (const auto& verb : rule["verbs"]) {
              ApiCall c{group.as<std::string>(), resource.as<std::string>(), verb.as<std::string>()};
              if (c.group == "*" || c.resource == "*" || c.verb == "*")
                return InvalidArgument(file + ": wildcard in " + c.ToString());
              granted.insert(c);
            }
    }
  }
  return granted;
}

}  // namespace ckpt::testing
