// ClientConfig: where the API server is and how to authenticate to it, loaded from a kubeconfig
// file (current or named context) or from the in-cluster service-account mount. Bearer tokens
// read from a file (in-cluster, `tokenFile`) are re-read by the client so rotation just works.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ckpt/common/status.h"
#include "ckpt/http/transport.h"

namespace ckpt::kube {

// A kubeconfig `exec` credential plugin (client.authentication.k8s.io ExecCredential).
struct ExecConfig {
  std::string command;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  std::string api_version = "client.authentication.k8s.io/v1";
  bool enabled() const { return !command.empty(); }
};

struct ClientConfig {
  std::string server;        // https://host:port, no trailing slash
  http::TlsOptions tls;
  std::string bearer_token;  // static token, or
  std::string token_file;    // a file re-read when it changes (projected SA tokens rotate)
  ExecConfig exec;            // a credential plugin, run when its token expires or is refused
  std::string default_namespace = "default";

  double qps = 20;           // client-side rate limit (controller-runtime's defaults); <= 0: none
  int burst = 30;
  // Called after every request with the verb, HTTP status (0 on transport error) and seconds.
  std::function<void(std::string_view method, int code, double seconds)> on_request;
};

// Loads `path` (or $KUBECONFIG, then ~/.kube/config when empty) and resolves `context`
// (the current-context when empty). Relative file references resolve against the file's folder.
StatusOr<ClientConfig> LoadKubeconfig(const std::string& path, const std::string& context = "");
// The same from the file's text; relative file references resolve against `base_dir`.
StatusOr<ClientConfig> ParseKubeconfig(const std::string& text, const std::string& base_dir,
                                       const std::string& context = "");

// Builds the in-cluster config from KUBERNETES_SERVICE_HOST/PORT and the service-account mount
// (`root` overrides /var/run/secrets/kubernetes.io/serviceaccount for tests).
StatusOr<ClientConfig> LoadInClusterConfig(const std::string& root = "");

}  // namespace ckpt::kube
