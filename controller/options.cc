// Command-line and environment parsing for the daemon (see options.h), on CLI11.
#include "options.h"

#include <CLI/CLI.hpp>

#include <iostream>

#ifndef CKPT_VERSION
#define CKPT_VERSION "dev"
#endif

namespace ckpt::operator_main {

StatusOr<Millis> ParseDuration(const std::string& text) {
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  const std::string unit = text.substr(used);
  double scale = unit == "ms" ? 1 : unit == "s" || unit.empty() ? 1e3 : unit == "m" ? 6e4 : unit == "h" ? 3.6e6 : -1;
  if (used == 0 || scale < 0 || value < 0)
    return InvalidArgument("duration \"" + text + "\": want a number with ms, s, m or h (e.g. 10s)");
  return Millis(static_cast<int64_t>(value * scale));
}

namespace {

std::string Show(Millis d) {
  if (d.count() % 1000) return std::to_string(d.count()) + "ms";
  if (d.count() % 60000 || d.count() < 60000) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count() / 60000) + "m";
}

void AddDuration(CLI::App& app, const char* group, const std::string& flag, Millis& out, const std::string& env,
                 const std::string& help) {
  app.add_option_function<std::string>(flag, [&out, flag](const std::string& v) {
       auto d = ParseDuration(v);
       if (!d.ok()) throw CLI::ValidationError(flag, d.status().message());
       out = *d;
     }, help)
      ->envname(env)
      ->default_str(Show(out))
      ->type_name("DURATION")
      ->group(group);
}

void AddKubernetes(CLI::App& app, OperatorOptions& o) {
  const char* g = "Kubernetes API";
  app.add_option("--kubeconfig", o.kubeconfig, "kubeconfig file; unset = in-cluster service account")->envname("KUBECONFIG")->group(g);
  app.add_option("--context", o.context, "kubeconfig context (default: the current one)")->group(g);
  app.add_option("--namespaces", o.namespaces, "comma-separated namespaces to watch (default: all)")
      ->envname("WATCH_NAMESPACES")->delimiter(',')->group(g);
  app.add_option("--kube-api-qps", o.qps, "client-side request rate limit; 0 or -1 = none (rely on API priority and fairness)")
      ->envname("CKPT_KUBE_API_QPS")->capture_default_str()->group(g);
  app.add_option("--kube-api-burst", o.burst, "client-side burst (with --kube-api-qps > 0)")->envname("CKPT_KUBE_API_BURST")
      ->check(CLI::PositiveNumber)->capture_default_str()->group(g);
  AddDuration(app, g, "--cache-sync-timeout", o.cache_sync_timeout, "CKPT_CACHE_SYNC_TIMEOUT",
              "exit 1 if the caches have not listed by then (RBAC, missing CRDs)");
}

void AddControllers(CLI::App& app, OperatorOptions& o) {
  const char* g = "Controllers";
  app.add_option("--controllers", o.controllers, "controllers to run (without trainrun, Kubeflow Trainer is not needed)")
      ->envname("CKPT_CONTROLLERS")->delimiter(',')->check(CLI::IsMember({"checkpointstore", "trainrun"}))
      ->default_str("checkpointstore,trainrun")->group(g);
  app.add_option("--checkpointstore-workers", o.store_workers, "concurrent CheckpointStore reconciles")
      ->envname("CKPT_CHECKPOINTSTORE_WORKERS")->check(CLI::Range(1, 64))->capture_default_str()->group(g);
  app.add_option("--trainrun-workers", o.trainrun_workers, "concurrent TrainRun reconciles")
      ->envname("CKPT_TRAINRUN_WORKERS")->check(CLI::Range(1, 64))->capture_default_str()->group(g);
  AddDuration(app, g, "--fsx-poll-interval", o.fsx_poll, "CKPT_FSX_POLL_INTERVAL", "FSx poll while a file system or association is changing");
  AddDuration(app, g, "--fsx-resync-interval", o.fsx_resync, "CKPT_FSX_RESYNC_INTERVAL", "FSx re-check of a Ready store (drift)");
  AddDuration(app, g, "--fsx-refusal-retry", o.fsx_refusal_retry, "CKPT_FSX_REFUSAL_RETRY", "retry after FSx refused a change");
  AddDuration(app, g, "--trainrun-poll-interval", o.trainrun_poll, "CKPT_TRAINRUN_POLL_INTERVAL", "resync of a running TrainRun (restarts arrive by watch)");
}

void AddLeaderElection(CLI::App& app, OperatorOptions& o) {
  const char* g = "Leader election";
  app.add_option("--leader-elect", o.leader_elect, "run controllers only while holding the Lease (true|false)")
      ->envname("CKPT_LEADER_ELECT")->default_str("true")->type_name("BOOL")->group(g);
  app.add_option("--leader-election-namespace", o.lease_namespace, "Lease namespace (default: $POD_NAMESPACE, else ckpt-system)")
      ->envname("POD_NAMESPACE")->group(g);
  app.add_option("--leader-election-id", o.lease_name, "Lease name")->envname("CKPT_LEADER_ELECTION_ID")->capture_default_str()->group(g);
  app.add_option("--leader-election-identity", o.identity, "this replica's identity (default: $POD_NAME_<random>)")->group(g);
  AddDuration(app, g, "--lease-duration", o.lease_duration, "CKPT_LEASE_DURATION", "how long a Lease holds without renewal");
  AddDuration(app, g, "--renew-deadline", o.renew_deadline, "CKPT_RENEW_DEADLINE", "the leader gives up (exits) after failing to renew this long");
  AddDuration(app, g, "--retry-period", o.retry_period, "CKPT_RETRY_PERIOD", "wait between Lease attempts");
}

void AddServing(CLI::App& app, OperatorOptions& o) {
  const char* g = "Endpoints and logging";
  app.add_option("--health-probe-bind-address", o.probe_address, "/healthz and /readyz address (\"0\" = off)")
      ->envname("CKPT_HEALTH_PROBE_BIND_ADDRESS")->capture_default_str()->group(g);
  app.add_option("--metrics-bind-address", o.metrics_address, "Prometheus /metrics address (\"0\" = off)")
      ->envname("CKPT_METRICS_BIND_ADDRESS")->capture_default_str()->group(g);
  app.add_option("--log-level", o.log_level, "log verbosity")->envname("CKPT_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))->capture_default_str()->group(g);
  app.add_flag("--log-json", o.log_json, "one JSON object per log line")->envname("CKPT_LOG_JSON")->group(g);
}

void AddAws(CLI::App& app, OperatorOptions& o) {
  const char* g = "AWS";
  app.add_option("--aws-region", o.aws_region, "FSx region (default: $AWS_REGION, $AWS_DEFAULT_REGION)")->group(g);
  app.add_option("--aws-endpoint-url", o.aws_endpoint_url, "FSx endpoint override (e.g. the FSx emulator)")
      ->envname("CKPT_AWS_ENDPOINT_URL")->group(g);
  app.add_option("--aws-max-attempts", o.aws_max_attempts, "attempts per FSx call (standard retry mode)")
      ->envname("AWS_MAX_ATTEMPTS")->check(CLI::Range(1, 10))->capture_default_str()->group(g);
}

// Cross-field checks CLI11 cannot express.
std::string Validate(const OperatorOptions& o) {
  if (o.leader_elect && !(o.retry_period < o.renew_deadline && o.renew_deadline < o.lease_duration))
    return "leader election needs --retry-period < --renew-deadline < --lease-duration";
  for (const auto& ns : o.namespaces)
    if (ns.empty()) return "--namespaces: empty namespace name in the list";
  if (o.controllers.empty()) return "--controllers: name at least one of checkpointstore, trainrun";
  return "";
}

}  // namespace

ParsedOptions ParseOptions(int argc, const char* const* argv) {
  OperatorOptions o;
  CLI::App app("ckpt-operator: runs CheckpointStores (FSx for Lustre + S3 associations + PV/PVC) and "
               "TrainRuns (Kubeflow Trainer v2 TrainJobs that checkpoint to them).\n"
               "Every flag can also be set by the environment variable shown next to it.",
               "ckpt-operator");
  app.set_version_flag("--version", std::string("ckpt-operator ") + CKPT_VERSION);
  app.get_formatter()->column_width(44);
  AddKubernetes(app, o);
  AddControllers(app, o);
  AddLeaderElection(app, o);
  AddServing(app, o);
  AddAws(app, o);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return {std::nullopt, code == 0 ? 0 : 2};
  }
  if (auto problem = Validate(o); !problem.empty()) {
    std::cerr << "ckpt-operator: " << problem << "\n";
    return {std::nullopt, 2};
  }
  return {std::move(o), 0};
}

}  // namespace ckpt::operator_main
