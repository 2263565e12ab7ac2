// Service-model validation (see model_validator.h). Member paths use lowerCamel names as AWS's
// messages do; list members are "<path>.<index>.member".
#include "emulator/model_validator.h"

#include <fstream>
#include <regex>

namespace ckpt::emulator {
namespace {

std::string LowerCamel(const std::string& s) {
  std::string out = s;
  if (!out.empty()) out[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[0])));
  return out;
}

std::string Join(const std::string& path, const std::string& member) {
  return path.empty() ? LowerCamel(member) : path + "." + LowerCamel(member);
}

std::string Value(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

// botocore patterns are Java regular expressions; std::regex (ECMAScript) lacks the Unicode
// classes. Inside character classes, approximate \p{L} (letters), \p{Z} (separators) and
// \p{N} (digits) with their ASCII members, so ASCII input is judged exactly as AWS does.
std::string EcmaPattern(std::string p) {
  const std::pair<const char*, const char*> classes[] = {{"\\p{L}", "a-zA-Z"}, {"\\p{Z}", " "}, {"\\p{N}", "0-9"}};
  for (const auto& [from, to] : classes) {
    std::string f = std::string(from).substr(1);  // one backslash
    for (size_t pos; (pos = p.find(f)) != std::string::npos;) p.replace(pos, f.size(), to);
  }
  return p;
}

// True when `p` has a bounded repeat like {1,4096}: std::regex expands it into thousands of
// states and recurses per character when matching. Such patterns restate the shape's min/max
// length, which the validator checks anyway, so they are left to those checks.
bool HasLargeRepeat(const std::string& p) {
  for (size_t i = p.find('{'); i != std::string::npos; i = p.find('{', i + 1)) {
    size_t end = p.find('}', i);
    if (end == std::string::npos) return false;
    std::string inner = p.substr(i + 1, end - i - 1);
    size_t comma = inner.rfind(',');
    std::string bound = comma == std::string::npos ? inner : inner.substr(comma + 1);
    if (!bound.empty() && bound.find_first_not_of("0123456789") == std::string::npos && std::stoul(bound) > 256)
      return true;
  }
  return false;
}

std::string Violation(const Json& v, const std::string& path, const std::string& constraint) {
  return "Value " + (v.is_null() ? std::string("null") : "'" + Value(v) + "'") + " at '" + path +
         "' failed to satisfy constraint: " + constraint;
}

}  // namespace

StatusOr<ModelValidator> ModelValidator::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound("service model not found: " + path);
  ModelValidator v;
  v.model_ = Json::parse(in, nullptr, false);
  if (v.model_.is_discarded() || !v.model_.contains("shapes")) return InvalidArgument("not a service model: " + path);
  auto patterns = std::make_shared<std::map<std::string, std::optional<std::regex>>>();
  for (const auto& [name, shape] : v.model_["shapes"].items()) {
    if (!shape.contains("pattern")) continue;
    std::string p = shape["pattern"];
    if (patterns->count(p)) continue;
    if (HasLargeRepeat(p)) {
      (*patterns)[p] = std::nullopt;
      continue;
    }
    try {
      (*patterns)[p] = std::regex(EcmaPattern(p));
    } catch (const std::regex_error&) {
      (*patterns)[p] = std::nullopt;
    }
  }
  v.patterns_ = std::move(patterns);
  return v;
}

std::string ModelValidator::Summarize(const std::vector<std::string>& violations) {
  std::string s = std::to_string(violations.size()) + " validation error" + (violations.size() == 1 ? "" : "s") +
                  " detected: ";
  for (size_t i = 0; i < violations.size(); ++i) s += (i ? "; " : "") + violations[i];
  return s;
}

std::vector<std::string> ModelValidator::Validate(const std::string& op, const Json& request) const {
  std::vector<std::string> out;
  const Json& input = model_["operations"][op]["input"];
  if (input.is_object()) Check(input["shape"], request, "", out);
  return out;
}

void ModelValidator::Check(const std::string& shape_name, const Json& value, const std::string& path,
                           std::vector<std::string>& out) const {
  const Json& shape = model_["shapes"][shape_name];
  const std::string type = shape.value("type", "");
  if (type == "structure") return CheckStructure(shape, value, path, out);
  if (type == "list") {
    if (!value.is_array()) return out.push_back(Violation(value, path, "Member must be a list"));
    if (shape.contains("min") && value.size() < shape["min"].get<size_t>())
      out.push_back(Violation(value, path, "Member must have length greater than or equal to " + shape["min"].dump()));
    if (shape.contains("max") && value.size() > shape["max"].get<size_t>())
      out.push_back(Violation(value, path, "Member must have length less than or equal to " + shape["max"].dump()));
    for (size_t i = 0; i < value.size(); ++i)
      Check(shape["member"]["shape"], value[i], path + "." + std::to_string(i + 1) + ".member", out);
    return;
  }
  if (type == "map") {
    if (!value.is_object()) return out.push_back(Violation(value, path, "Member must be a map"));
    for (const auto& [k, v] : value.items()) Check(shape["value"]["shape"], v, path + "." + k, out);
    return;
  }
  CheckScalar(shape, value, path, out);
}

void ModelValidator::CheckStructure(const Json& shape, const Json& value, const std::string& path,
                                    std::vector<std::string>& out) const {
  if (!value.is_object()) return out.push_back(Violation(value, path, "Member must be a structure"));
  for (const auto& req : shape.value("required", Json::array())) {
    if (!value.contains(req.get<std::string>()) || value[req.get<std::string>()].is_null())
      out.push_back(Violation(Json(), Join(path, req), "Member must not be null"));
  }
  for (const auto& [name, member] : shape["members"].items()) {
    if (value.contains(name) && !value[name].is_null()) Check(member["shape"], value[name], Join(path, name), out);
  }
}

void ModelValidator::CheckScalar(const Json& shape, const Json& value, const std::string& path,
                                 std::vector<std::string>& out) const {
  const std::string type = shape.value("type", "");
  if (type == "string") {
    if (!value.is_string()) return out.push_back(Violation(value, path, "Member must be a string"));
    const std::string s = value.get<std::string>();
    if (shape.contains("enum") && std::find(shape["enum"].begin(), shape["enum"].end(), s) == shape["enum"].end()) {
      std::string set;
      for (const auto& e : shape["enum"]) set += (set.empty() ? "" : ", ") + e.get<std::string>();
      out.push_back(Violation(value, path, "Member must satisfy enum value set: [" + set + "]"));
    }
    if (shape.contains("min") && s.size() < shape["min"].get<size_t>())
      out.push_back(Violation(value, path, "Member must have length greater than or equal to " + shape["min"].dump()));
    if (shape.contains("max") && s.size() > shape["max"].get<size_t>())
      out.push_back(Violation(value, path, "Member must have length less than or equal to " + shape["max"].dump()));
    if (shape.contains("pattern")) {
      auto it = patterns_->find(shape["pattern"].get<std::string>());
      if (it != patterns_->end() && it->second && !std::regex_search(s, *it->second))
        out.push_back(Violation(value, path, "Member must satisfy regular expression pattern: " + shape["pattern"].get<std::string>()));
    }
  } else if (type == "integer" || type == "long") {
    if (!value.is_number_integer()) return out.push_back(Violation(value, path, "Member must be an integer"));
    auto n = value.get<int64_t>();
    if (shape.contains("min") && n < shape["min"].get<int64_t>())
      out.push_back(Violation(value, path, "Member must have value greater than or equal to " + shape["min"].dump()));
    if (shape.contains("max") && n > shape["max"].get<int64_t>())
      out.push_back(Violation(value, path, "Member must have value less than or equal to " + shape["max"].dump()));
  } else if (type == "boolean" && !value.is_boolean()) {
    out.push_back(Violation(value, path, "Member must be a boolean"));
  }
}

}  // namespace ckpt::emulator
