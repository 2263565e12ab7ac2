// Loads a kubeconfig file (yaml-cpp) or the in-cluster service-account mount into a ClientConfig.
// Supports: current or named context, certificate-authority(-data), client-certificate(-data),
// client-key(-data), token, tokenFile, insecure-skip-tls-verify, the context's namespace.
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "ckpt/common/encoding.h"
#include "ckpt/kube/config.h"

namespace ckpt::kube {
namespace {

namespace fs = std::filesystem;

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The `field` of the entry called `name` in a kubeconfig list (contexts, clusters, users).
std::optional<YAML::Node> FindNamed(const YAML::Node& list, const std::string& name, const char* field) {
  if (!list || !list.IsSequence()) return std::nullopt;
  for (const auto& item : list)
    if (item["name"] && item["name"].as<std::string>() == name && item[field].IsMap()) return item[field];
  return std::nullopt;
}

std::string Str(const YAML::Node& n, const char* key) {
  return n && n[key] && n[key].IsScalar() ? n[key].as<std::string>() : "";
}

std::string Resolve(const fs::path& base, const std::string& p) {
  if (p.empty() || fs::path(p).is_absolute()) return p;
  return (base / p).string();
}

// Fills `pem` from "<key>-data" (base64) or `file` from "<key>" (a path).
Status PemOrFile(const YAML::Node& n, const std::string& key, const fs::path& base, std::string& pem,
                 std::string& file) {
  std::string data = Str(n, (key + "-data").c_str());
  if (!data.empty()) {
    ASSIGN_OR_RETURN(pem, Base64Decode(data));
    return Status::Ok();
  }
  file = Resolve(base, Str(n, key.c_str()));
  return Status::Ok();
}

Status ParseExec(const YAML::Node& n, const fs::path& base, ExecConfig& exec) {
  if (!n || !n.IsMap()) return Status::Ok();
  exec.command = Str(n, "command");
  if (exec.command.empty()) return InvalidArgument("kubeconfig exec plugin has no command");
  // A command with a path separator is relative to the kubeconfig's folder (as kubectl does).
  if (exec.command.find('/') != std::string::npos) exec.command = Resolve(base, exec.command);
  if (!Str(n, "apiVersion").empty()) exec.api_version = Str(n, "apiVersion");
  if (n["args"] && n["args"].IsSequence())
    for (const auto& a : n["args"]) exec.args.push_back(a.as<std::string>());
  if (n["env"] && n["env"].IsSequence())
    for (const auto& e : n["env"]) exec.env.emplace_back(Str(e, "name"), Str(e, "value"));
  return Status::Ok();
}

StatusOr<ClientConfig> Parse(const YAML::Node& root, const fs::path& base, std::string context) {
  if (context.empty()) context = Str(root, "current-context");
  if (context.empty()) return InvalidArgument("kubeconfig has no current-context");
  auto found_ctx = FindNamed(root["contexts"], context, "context");
  if (!found_ctx) return NotFound("kubeconfig context \"" + context + "\" not found");
  const YAML::Node& ctx = *found_ctx;
  auto found_cluster = FindNamed(root["clusters"], Str(ctx, "cluster"), "cluster");
  if (!found_cluster) return NotFound("kubeconfig cluster \"" + Str(ctx, "cluster") + "\" not found");
  const YAML::Node& cluster = *found_cluster;
  auto user_node = FindNamed(root["users"], Str(ctx, "user"), "user");

  ClientConfig c;
  c.server = Str(cluster, "server");
  while (!c.server.empty() && c.server.back() == '/') c.server.pop_back();
  if (c.server.empty()) return InvalidArgument("kubeconfig cluster has no server");
  if (!Str(ctx, "namespace").empty()) c.default_namespace = Str(ctx, "namespace");
  c.tls.insecure_skip_verify = Str(cluster, "insecure-skip-tls-verify") == "true";
  RETURN_IF_ERROR(PemOrFile(cluster, "certificate-authority", base, c.tls.ca_pem, c.tls.ca_file));
  if (user_node) {
    const YAML::Node& user = *user_node;
    RETURN_IF_ERROR(PemOrFile(user, "client-certificate", base, c.tls.client_cert_pem, c.tls.client_cert_file));
    RETURN_IF_ERROR(PemOrFile(user, "client-key", base, c.tls.client_key_pem, c.tls.client_key_file));
    c.bearer_token = Str(user, "token");
    c.token_file = Resolve(base, Str(user, "tokenFile"));
    RETURN_IF_ERROR(ParseExec(user["exec"], base, c.exec));
  }
  return c;
}

}  // namespace

StatusOr<ClientConfig> LoadKubeconfig(const std::string& path, const std::string& context) {
  std::string p = path;
  if (p.empty() && std::getenv("KUBECONFIG")) p = std::getenv("KUBECONFIG");
  if (p.empty() && std::getenv("HOME")) p = std::string(std::getenv("HOME")) + "/.kube/config";
  auto pos = p.find(':');  // KUBECONFIG may list several files; the first one wins here
  if (pos != std::string::npos) p = p.substr(0, pos);
  ASSIGN_OR_RETURN(std::string text, ReadFile(p));
  auto parsed = ParseKubeconfig(text, fs::path(p).parent_path().string(), context);
  if (!parsed.ok()) return parsed.status().WithContext("kubeconfig " + p);
  return parsed;
}

StatusOr<ClientConfig> ParseKubeconfig(const std::string& text, const std::string& base_dir, const std::string& context) {
  try {
    return Parse(YAML::Load(text), base_dir, context);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(e.what());
  }
}

StatusOr<ClientConfig> LoadInClusterConfig(const std::string& root) {
  std::string dir = root.empty() ? "/var/run/secrets/kubernetes.io/serviceaccount" : root;
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (!host || !port) return NotFound("not running in a cluster: KUBERNETES_SERVICE_HOST/PORT unset");
  ClientConfig c;
  std::string h = host;
  if (h.find(':') != std::string::npos) h = "[" + h + "]";  // IPv6
  c.server = "https://" + h + ":" + port;
  c.tls.ca_file = dir + "/ca.crt";
  c.token_file = dir + "/token";
  auto ns = ReadFile(dir + "/namespace");
  if (ns.ok() && !ns->empty()) c.default_namespace = *ns;
  return c;
}

}  // namespace ckpt::kube
