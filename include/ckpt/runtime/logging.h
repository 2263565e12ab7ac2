// Logging: spdlog configured for an operator. Every line carries the controller, object key and
// reconcile id of the reconcile that wrote it (a thread-local context the Controller sets around
// each Reconcile), so `grep reconcile_id=42` follows one reconcile through every layer. Two
// formats: human text (default) and one JSON object per line for log pipelines.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ckpt/common/status.h"

namespace ckpt::runtime {

struct LogContext {
  std::string_view controller;  // "" outside a reconcile
  std::string_view key;
  uint64_t reconcile_id = 0;
};

// Sets the calling thread's context for its lifetime; restores the previous one after.
class ScopedLogContext {
 public:
  explicit ScopedLogContext(LogContext context);
  ~ScopedLogContext();
  ScopedLogContext(const ScopedLogContext&) = delete;
  ScopedLogContext& operator=(const ScopedLogContext&) = delete;

 private:
  LogContext previous_;
};

const LogContext& CurrentLogContext();

// Installs the formatter on the default logger (stderr). `level`: trace|debug|info|warn|error.
Status ConfigureLogging(std::string_view level, bool json);

}  // namespace ckpt::runtime
