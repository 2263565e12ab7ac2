// HTTP status + metav1.Status body -> ckpt::Status (see include/ckpt/kube/api_error.h).
#include "ckpt/kube/api_error.h"

#include <charconv>

namespace ckpt::kube {
namespace {

StatusCode CodeFor(int http, std::string_view reason) {
  switch (http) {
    case 400: return StatusCode::kInvalidArgument;
    case 401: return StatusCode::kUnauthenticated;
    case 403: return StatusCode::kForbidden;
    case 404: return StatusCode::kNotFound;
    case 409: return reason == "AlreadyExists" ? StatusCode::kAlreadyExists : StatusCode::kConflict;
    case 410: return StatusCode::kGone;
    case 422: return StatusCode::kInvalidArgument;
    case 429: return StatusCode::kTooManyRequests;
    case 504: return StatusCode::kTimeout;
    default: break;
  }
  if (reason == "Timeout" || reason == "ServerTimeout") return StatusCode::kTimeout;
  if (reason == "Expired") return StatusCode::kGone;
  return http >= 500 || http == 0 ? StatusCode::kUnavailable : StatusCode::kInternal;
}

std::string MessageOf(const nlohmann::json& s, int http) {
  std::string msg = s.value("message", "");
  if (msg.empty()) msg = "HTTP " + std::to_string(http);
  // Invalid errors list each offending field; keep them even if the message omits some.
  auto details = s.find("details");
  if (details != s.end() && details->is_object() && details->contains("causes")) {
    for (const auto& c : (*details)["causes"]) {
      std::string field = c.value("field", "");
      std::string cm = c.value("message", "");
      if (!cm.empty() && msg.find(cm) == std::string::npos) msg += "; " + (field.empty() ? "" : field + ": ") + cm;
    }
  }
  return msg;
}

}  // namespace

Status StatusFromApiStatus(const nlohmann::json& s) {
  if (!s.is_object()) return Internal("malformed API Status");
  try {
    int http = s.value("code", 0);
    return Status(CodeFor(http, s.value("reason", "")), MessageOf(s, http)).SetReason(s.value("reason", ""));
  } catch (const nlohmann::json::exception& e) {  // a field of the wrong type
    return Internal(std::string("malformed API Status: ") + e.what());
  }
}

Status StatusFromResponse(const http::HttpResponse& response) {
  nlohmann::json body = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object() || body.value("kind", "") != "Status") {
    std::string text = response.body.substr(0, 512);
    body = nlohmann::json{{"code", response.status}, {"message", text.empty() ? "" : text}};
  }
  body["code"] = response.status;
  Status status = StatusFromApiStatus(body);
  std::string_view retry = response.Header("retry-after");
  int seconds = 0;
  if (!retry.empty() && std::from_chars(retry.data(), retry.data() + retry.size(), seconds).ec == std::errc())
    status.SetRetryAfter(std::chrono::seconds(seconds));
  return status;
}

}  // namespace ckpt::kube
