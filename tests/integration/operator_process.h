// The ckpt-operator daemon as a child process of an integration test: spawned with the FSx
// emulator's test credentials, its stdout and stderr in a log file the test can read.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "ckpt/http/transport.h"

namespace ckpt::testing {

// The flags every test daemon takes: `kubeconfig`, the FSx emulator at `fsx_url` (us-east-1), a
// 300 ms FSx poll, and probe and metrics servers on free loopback ports (logged with their port),
// followed by `extra`.
std::vector<std::string> DaemonArgs(const std::string& kubeconfig, const std::string& fsx_url,
                                    const std::vector<std::string>& extra = {});

// Starts CKPT_OPERATOR_BINARY-like `binary` with `args`; output goes to `log`. Returns the pid (0 on failure).
pid_t SpawnOperator(const std::string& binary, const std::vector<std::string>& args, const std::string& log);

// Sends SIGTERM and waits: the exit code, or -1 when the process died of a signal or was not ours.
int StopOperator(pid_t pid);

// A whole file ("" when missing).
std::string ReadFile(const std::string& path);

// The port the daemon logged for `what` ("probes on 127.0.0.1:0 (port 41234)" -> 41234), 0 if none.
int PortFromLog(const std::string& log, const std::string& what);
// GET http://127.0.0.1:<port><path>.
StatusOr<http::HttpResponse> HttpGet(int port, const std::string& path);
// The sum of every sample of `metric` whose labels contain `label_filter` ("" = all), from a
// Prometheus text exposition.
double MetricSum(const std::string& exposition, const std::string& metric, const std::string& label_filter = "");

}  // namespace ckpt::testing
