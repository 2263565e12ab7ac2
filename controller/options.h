// OperatorOptions: every knob of the ckpt-operator daemon, from flags or their environment
// variables (flags win). Defaults match controller-runtime's where one exists (lease 15s/10s/2s,
// probes on :8081, metrics on :8080), so the operator behaves the way platform teams already
// expect. As in controller-runtime since v0.21 (kubernetes-sigs/controller-runtime#3119, on SIG API
// Machinery's advice) there is no client-side rate limit by default: the API server's priority and
// fairness protects it, and a 429 it sends is retried after its Retry-After. 8 store workers let
// 1,000 stores converge at the API server's pace (docs/install.md, sizing; bench/scale/RESULTS.md).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "ckpt/common/status.h"

namespace ckpt::operator_main {

using Millis = std::chrono::milliseconds;

struct OperatorOptions {
  // Kubernetes API
  std::string kubeconfig;            // "" = in-cluster config
  std::string context;
  std::vector<std::string> namespaces;  // empty = every namespace
  double qps = 0;    // <= 0: no client-side limit (controller-runtime's QPS -1)
  int burst = 400;  // used only with qps > 0
  Millis cache_sync_timeout{120'000};  // give up (exit 1) when caches cannot list by then
  // Controllers
  std::vector<std::string> controllers{"checkpointstore", "trainrun"};  // trainrun needs Kubeflow Trainer's CRDs
  int store_workers = 8;
  int trainrun_workers = 2;
  Millis fsx_poll{10'000};
  Millis fsx_resync{600'000};
  Millis fsx_refusal_retry{300'000};
  Millis trainrun_poll{30'000};
  // Leader election
  bool leader_elect = true;
  std::string lease_namespace;  // default: the pod's namespace, else ckpt-system
  std::string lease_name = "ckpt-operator";
  std::string identity;         // default: the pod (host) name plus a random suffix
  Millis lease_duration{15'000};
  Millis renew_deadline{10'000};
  Millis retry_period{2'000};
  // Endpoints
  std::string probe_address = ":8081";
  std::string metrics_address = ":8080";
  // Logging
  std::string log_level = "info";
  bool log_json = false;
  // AWS
  std::string aws_region;        // default: AWS_REGION / AWS_DEFAULT_REGION
  std::string aws_endpoint_url;  // FSx endpoint override (the emulator, a VPC endpoint)
  int aws_max_attempts = 3;
};

// Parses argv. Returns the options, or an exit code when the process should stop at once:
// 0 after --help or --version (printed to stdout), 2 after a usage error (printed to stderr).
struct ParsedOptions {
  std::optional<OperatorOptions> options;
  int exit_code = 0;
};
ParsedOptions ParseOptions(int argc, const char* const* argv);

// "500ms", "10s", "5m", "1h" (or a plain number of seconds).
StatusOr<Millis> ParseDuration(const std::string& text);

}  // namespace ckpt::operator_main
