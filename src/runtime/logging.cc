// Log formatters with the reconcile context (see include/ckpt/runtime/logging.h).
#include "ckpt/runtime/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <nlohmann/json.hpp>

namespace ckpt::runtime {
namespace {

thread_local LogContext current;

std::string Timestamp(spdlog::log_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms % 1000));
  return buf;
}

// "2026-11-22T21:55:46.123Z info  [checkpointstore ns/name #42] message"
class TextFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string line = Timestamp(msg.time);
    auto level = spdlog::level::to_string_view(msg.level);
    line.append(" ").append(level.data(), level.size()).append(level.size() < 5 ? 6 - level.size() : 1, ' ');
    if (!current.controller.empty())
      line.append("[").append(current.controller).append(" ").append(current.key).append(" #")
          .append(std::to_string(current.reconcile_id)).append("] ");
    line.append(msg.payload.data(), msg.payload.size()).append("\n");
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<TextFormatter>(); }
};

// {"ts":"...","level":"info","controller":"...","key":"ns/name","reconcile_id":42,"msg":"..."}
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    nlohmann::ordered_json j;
    j["ts"] = Timestamp(msg.time);
    auto level = spdlog::level::to_string_view(msg.level);
    j["level"] = std::string(level.data(), level.size());
    if (!current.controller.empty()) {
      j["controller"] = current.controller;
      j["key"] = current.key;
      j["reconcile_id"] = current.reconcile_id;
    }
    j["msg"] = std::string(msg.payload.data(), msg.payload.size());
    std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

}  // namespace

ScopedLogContext::ScopedLogContext(LogContext context) : previous_(current) { current = context; }
ScopedLogContext::~ScopedLogContext() { current = previous_; }

const LogContext& CurrentLogContext() { return current; }

Status ConfigureLogging(std::string_view level, bool json) {
  auto parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off")
    return InvalidArgument("log level \"" + std::string(level) + "\": want trace, debug, info, warn or error");
  spdlog::drop("ckpt-operator");  // reconfiguring replaces the logger
  auto logger = spdlog::stderr_logger_mt("ckpt-operator");
  if (json) logger->set_formatter(std::make_unique<JsonFormatter>());
  else logger->set_formatter(std::make_unique<TextFormatter>());
  logger->set_level(parsed);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  return Status::Ok();
}

}  // namespace ckpt::runtime
