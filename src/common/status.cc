// Names and formatting for ckpt::Status (see include/ckpt/common/status.h).
#include "ckpt/common/status.h"

namespace ckpt {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kInvalidArgument: return "Invalid";
    case StatusCode::kNotFound: return "NotFound";
    case StatusCode::kAlreadyExists: return "AlreadyExists";
    case StatusCode::kConflict: return "Conflict";
    case StatusCode::kGone: return "Gone";
    case StatusCode::kTooManyRequests: return "TooManyRequests";
    case StatusCode::kUnauthenticated: return "Unauthorized";
    case StatusCode::kForbidden: return "Forbidden";
    case StatusCode::kTimeout: return "Timeout";
    case StatusCode::kUnavailable: return "Unavailable";
    case StatusCode::kCancelled: return "Cancelled";
    case StatusCode::kInternal: return "Internal";
  }
  return "Unknown";
}

Status Status::WithContext(std::string_view context) const {
  Status s = *this;
  s.message_ = std::string(context) + ": " + message_;
  return s;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s(StatusCodeName(code_));
  if (!reason_.empty() && reason_ != s) s += " (" + reason_ + ")";
  s += ": ";
  s += message_;
  if (terminal_) s += " (terminal)";
  return s;
}

}  // namespace ckpt
