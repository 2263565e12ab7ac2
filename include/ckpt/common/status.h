// Status and StatusOr<T>: how every ckpt-operator module reports failure without exceptions.
// A leveldb-sized clone of absl::Status with the codes this operator branches on: the HTTP
// outcomes that Kubernetes and AWS clients must tell apart (NotFound, AlreadyExists, Conflict,
// Gone, TooManyRequests, Unauthenticated, ...) plus a `terminal` flag for errors that retrying
// cannot fix (controller-runtime's TerminalError). Throttling errors may carry a server-given
// retry delay (HTTP Retry-After). Both types are cheap to move and [[nodiscard]].
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace ckpt {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,   // the request (or user input) is malformed; HTTP 400/422
  kNotFound,          // HTTP 404
  kAlreadyExists,     // HTTP 409 with reason AlreadyExists
  kConflict,          // HTTP 409 otherwise: stale resourceVersion, SSA field conflict
  kGone,              // HTTP 410: resourceVersion too old, relist
  kTooManyRequests,   // HTTP 429 and AWS throttling
  kUnauthenticated,   // HTTP 401
  kForbidden,         // HTTP 403
  kTimeout,           // request or server timeout (HTTP 504, curl timeout)
  kUnavailable,       // transport errors and 5xx: worth retrying
  kCancelled,         // the caller asked to stop
  kInternal,          // a bug or an unexpected answer
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  bool IsNotFound() const { return code_ == StatusCode::kNotFound; }
  bool IsAlreadyExists() const { return code_ == StatusCode::kAlreadyExists; }
  bool IsConflict() const { return code_ == StatusCode::kConflict; }
  bool IsGone() const { return code_ == StatusCode::kGone; }
  bool IsTooManyRequests() const { return code_ == StatusCode::kTooManyRequests; }
  bool IsUnauthenticated() const { return code_ == StatusCode::kUnauthenticated; }
  bool IsForbidden() const { return code_ == StatusCode::kForbidden; }
  bool IsInvalid() const { return code_ == StatusCode::kInvalidArgument; }
  bool IsTimeout() const { return code_ == StatusCode::kTimeout; }
  bool IsUnavailable() const { return code_ == StatusCode::kUnavailable; }

  // Terminal errors are reported and counted but never retried.
  bool terminal() const { return terminal_; }
  Status& MarkTerminal() & { terminal_ = true; return *this; }
  Status&& MarkTerminal() && { terminal_ = true; return std::move(*this); }

  // The delay the server asked for before a retry (HTTP Retry-After), if any.
  std::optional<std::chrono::milliseconds> retry_after() const { return retry_after_; }
  Status& SetRetryAfter(std::chrono::milliseconds d) { retry_after_ = d; return *this; }

  // A machine-readable reason from the remote service ("FileSystemNotFound", "AlreadyExists").
  const std::string& reason() const { return reason_; }
  Status& SetReason(std::string r) & { reason_ = std::move(r); return *this; }
  Status&& SetReason(std::string r) && { reason_ = std::move(r); return std::move(*this); }

  // Returns a copy whose message is "<context>: <message>".
  Status WithContext(std::string_view context) const;

  // "NotFound: trainruns \"x\" not found".
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::string reason_;
  bool terminal_ = false;
  std::optional<std::chrono::milliseconds> retry_after_;
};

inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }

// Holds either a T or a non-OK Status. REQUIRES: value() only when ok().
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    if (status_.ok()) status_ = Internal("StatusOr constructed from an OK Status without a value");
  }
  StatusOr(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design

  bool ok() const { return status_.ok(); }
  const Status& status() const& { return status_; }
  Status status() && { return std::move(status_); }

  const T& value() const& { return *value_; }
  T& value() & { return *value_; }
  T&& value() && { return std::move(*value_); }
  const T& operator*() const& { return *value_; }
  T& operator*() & { return *value_; }
  const T* operator->() const { return &*value_; }
  T* operator->() { return &*value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace ckpt

#define CKPT_CONCAT_INNER_(a, b) a##b
#define CKPT_CONCAT_(a, b) CKPT_CONCAT_INNER_(a, b)

#define RETURN_IF_ERROR(expr)                 \
  do {                                        \
    ::ckpt::Status ckpt_status_ = (expr);     \
    if (!ckpt_status_.ok()) return ckpt_status_; \
  } while (0)

#define ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                           \
  if (!tmp.ok()) return std::move(tmp).status(); \
  lhs = std::move(tmp).value()

#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(CKPT_CONCAT_(ckpt_statusor_, __LINE__), lhs, expr)
