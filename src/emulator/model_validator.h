// ModelValidator: checks a request against the botocore service model (required members, types,
// enums, string lengths and patterns, numeric ranges, list and map sizes) and reports violations
// the way AWS's JSON services do: "2 validation errors detected: Value null at 'storageCapacity'
// failed to satisfy constraint: Member must not be null; ...".
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ckpt/common/status.h"

namespace ckpt::emulator {

using Json = nlohmann::json;

class ModelValidator {
 public:
  // Loads botocore's service-2.json.
  static StatusOr<ModelValidator> Load(const std::string& path);

  bool HasOperation(const std::string& op) const { return model_["operations"].contains(op); }
  // One message per violation; empty when the request is valid.
  std::vector<std::string> Validate(const std::string& op, const Json& request) const;
  // The "N validation error(s) detected: ..." message for `violations`.
  static std::string Summarize(const std::vector<std::string>& violations);

 private:
  void Check(const std::string& shape_name, const Json& value, const std::string& path,
             std::vector<std::string>& out) const;
  void CheckStructure(const Json& shape, const Json& value, const std::string& path, std::vector<std::string>& out) const;
  void CheckScalar(const Json& shape, const Json& value, const std::string& path, std::vector<std::string>& out) const;

  Json model_;
  // Every shape pattern, compiled once at Load on the caller's stack: std::regex compiles
  // recursively and would overflow a server worker thread's small stack on long patterns.
  // nullopt: a pattern std::regex cannot compile (only the length checks apply).
  std::shared_ptr<const std::map<std::string, std::optional<std::regex>>> patterns_;
};

}  // namespace ckpt::emulator
