// RunCommand: runs a program (no shell) with extra environment variables and returns its stdout.
// Used for kubeconfig exec credential plugins such as `aws eks get-token`.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "ckpt/common/status.h"

namespace ckpt {

// Fails with the program's stderr (truncated) when it cannot start or exits non-zero.
StatusOr<std::string> RunCommand(const std::vector<std::string>& argv,
                                 const std::vector<std::pair<std::string, std::string>>& extra_env);

}  // namespace ckpt
