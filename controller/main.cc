// ckpt-operator: the daemon. Parses flags (options.h), configures logging, the Kubernetes client
// and the FSx client, wires both controllers (operator.h) and hands them to the Manager, which
// starts probes and metrics first, then the caches, then the controllers once this replica holds
// the leader Lease. SIGTERM/SIGINT drain in-flight reconciles and release the Lease; exit codes:
// 0 clean stop, 1 runtime failure (lost lease, caches never synced, bad configuration), 2 usage.
#include <malloc.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <random>

#include "ckpt/aws/credentials.h"
#include "ckpt/common/encoding.h"
#include "ckpt/kube/config.h"
#include "ckpt/runtime/logging.h"
#include "operator.h"

namespace ckpt::operator_main {
namespace {

std::string RandomSuffix() {
  std::random_device rd;
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", rd());
  return buf;
}

// Fills what defaults to the environment: identity, lease namespace, region.
void ApplyEnvironmentDefaults(OperatorOptions& o) {
  if (o.identity.empty()) {
    const char* pod = std::getenv("POD_NAME");
    char host[256] = "ckpt-operator";
    if (!pod) gethostname(host, sizeof host - 1);
    o.identity = std::string(pod ? pod : host) + "_" + RandomSuffix();
  }
  if (o.lease_namespace.empty()) o.lease_namespace = "ckpt-system";
  if (o.aws_region.empty()) o.aws_region = aws::RegionFromEnvironment([](const char* n) {
    const char* v = std::getenv(n);
    return std::string(v ? v : "");
  });
}

StatusOr<kube::ClientConfig> KubeConfig(const OperatorOptions& o, runtime::Metrics& metrics) {
  auto config = o.kubeconfig.empty() ? kube::LoadInClusterConfig() : kube::LoadKubeconfig(o.kubeconfig, o.context);
  if (!config.ok()) return config.status();
  config->qps = o.qps;
  config->burst = o.burst;
  config->on_request = [&metrics](std::string_view method, int code, double seconds) {
    metrics.RestRequest(method, code, seconds);
  };
  return config;
}

aws::FsxClientPtr FsxClient(const OperatorOptions& o, aws::CredentialsProvider& credentials, runtime::Metrics& metrics) {
  aws::JsonRpcOptions r;
  r.endpoint = o.aws_endpoint_url;
  r.region = o.aws_region;
  r.credentials = &credentials;
  r.retry.max_attempts = o.aws_max_attempts;
  r.on_attempt = [&metrics](std::string_view op, std::string_view code) { metrics.FsxRequest(op, code); };
  return aws::NewFsxClient(std::move(r));
}

runtime::ManagerOptions ManagerOptionsFrom(const OperatorOptions& o) {
  runtime::ManagerOptions m;
  m.probe_address = o.probe_address;
  m.cache_sync_timeout = std::max(std::chrono::seconds(1), std::chrono::duration_cast<std::chrono::seconds>(o.cache_sync_timeout));
  // The same address twice means one server for both (a ":0" port is a fresh port each time).
  const bool shared = o.metrics_address == o.probe_address && !o.probe_address.ends_with(":0");
  m.metrics_address = shared ? "" : o.metrics_address;
  if (o.leader_elect)
    m.leader_election = runtime::LeaderElectionOptions{o.lease_namespace, o.lease_name, o.identity, o.lease_duration,
                                                       o.renew_deadline, o.retry_period};
  return m;
}

void LogStartup(const OperatorOptions& o, const aws::CredentialsProvider& credentials) {
  std::string namespaces;
  for (const auto& ns : o.namespaces) namespaces += (namespaces.empty() ? "" : ",") + ns;
  spdlog::info("ckpt-operator {} starting: identity={} namespaces={} leader_election={} lease={}/{}", CKPT_VERSION,
               o.identity, namespaces.empty() ? "<all>" : namespaces, o.leader_elect, o.lease_namespace, o.lease_name);
  spdlog::info("fsx: region={} endpoint={} credentials={} max_attempts={}", o.aws_region,
               o.aws_endpoint_url.empty() ? "<aws>" : o.aws_endpoint_url, credentials.source(), o.aws_max_attempts);
}

int Run(OperatorOptions o, std::stop_token stop) {
  ApplyEnvironmentDefaults(o);
  runtime::Metrics metrics;
  auto config = KubeConfig(o, metrics);
  if (!config.ok()) {
    spdlog::critical("kubernetes config: {} (pass --kubeconfig, or run in a pod)", config.status().ToString());
    return 1;
  }
  if (o.aws_region.empty()) {
    spdlog::critical("no AWS region: pass --aws-region or set AWS_REGION");
    return 1;
  }
  auto credentials = aws::NewDefaultCredentialsChain({.region = o.aws_region});
  if (!credentials.ok()) {
    spdlog::critical("aws credentials: {}", credentials.status().ToString());
    return 1;
  }
  LogStartup(o, **credentials);
  auto client = kube::NewRestClient(*config);
  auto fsx = FsxClient(o, **credentials, metrics);
  Operator op(o, *client, *fsx, metrics, SystemClock());
  runtime::Manager manager(ManagerOptionsFrom(o), *client, SystemClock(), metrics);
  op.Register(manager);
  return manager.Run(stop);
}

}  // namespace
}  // namespace ckpt::operator_main

int main(int argc, char** argv) {
  using namespace ckpt;
  auto parsed = operator_main::ParseOptions(argc, argv);
  if (!parsed.options) return parsed.exit_code;
  // Before any thread starts: signals go to one waiting thread; glibc's per-thread malloc arenas
  // (8 x cores by default) would multiply the footprint of a mostly idle daemon.
  std::stop_source stop;
  runtime::StopOnSignals(stop);
  mallopt(M_ARENA_MAX, 2);
  if (auto s = runtime::ConfigureLogging(parsed.options->log_level, parsed.options->log_json); !s.ok()) {
    std::fprintf(stderr, "ckpt-operator: %s\n", s.ToString().c_str());
    return 2;
  }
  return operator_main::Run(std::move(*parsed.options), stop.get_token());
}
