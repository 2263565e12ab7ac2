// The ckpt-operator daemon as a child process of an integration test: spawned with the FSx
// emulator's test credentials, its stdout and stderr in a log file the test can read.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace ckpt::testing {

// Starts CKPT_OPERATOR_BINARY-like `binary` with `args`; output goes to `log`. Returns the pid (0 on failure).
pid_t SpawnOperator(const std::string& binary, const std::vector<std::string>& args, const std::string& log);

// Sends SIGTERM and waits: the exit code, or -1 when the process died of a signal or was not ours.
int StopOperator(pid_t pid);

// A whole file ("" when missing).
std::string ReadFile(const std::string& path);

}  // namespace ckpt::testing
