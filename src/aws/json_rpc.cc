// awsJson1_1 calls with signing, retries and typed errors (see include/ckpt/aws/json_rpc.h).
#include "ckpt/aws/json_rpc.h"

#include <spdlog/spdlog.h>

namespace ckpt::aws {
namespace {

// "com.amazonaws.fsx#FileSystemNotFound" or "FileSystemNotFound:http://..." -> "FileSystemNotFound".
std::string StringAt(const Json& body, const char* key) {
  if (!body.is_object()) return "";
  auto it = body.find(key);
  return it != body.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string ErrorCode(const Json& body, const http::HttpResponse& resp) {
  std::string t = StringAt(body, "__type");
  if (t.empty()) t = std::string(resp.Header("x-amzn-errortype"));
  if (auto hash = t.rfind('#'); hash != std::string::npos) t = t.substr(hash + 1);
  if (auto colon = t.find(':'); colon != std::string::npos) t = t.substr(0, colon);
  return t;
}

Status ErrorFromResponse(const http::HttpResponse& resp) {
  Json body = Json::parse(resp.body, nullptr, false);
  std::string code = ErrorCode(body, resp);
  std::string message = StringAt(body, "Message");
  if (message.empty()) message = StringAt(body, "message");
  if (message.empty()) message = "HTTP " + std::to_string(resp.status);
  return Status(CodeForAwsError(code, resp.status), message).SetReason(code.empty() ? "HTTP" + std::to_string(resp.status) : code);
}

}  // namespace

StatusCode CodeForAwsError(std::string_view code, int http_status) {
  if (IsThrottlingError({http_status, std::string(code)})) return StatusCode::kTooManyRequests;
  if (code.ends_with("NotFound")) return StatusCode::kNotFound;
  if (code == "UnrecognizedClientException" || code == "InvalidSignatureException" || code == "ExpiredTokenException" ||
      code == "IncompleteSignature" || code == "MissingAuthenticationToken" || http_status == 401)
    return StatusCode::kUnauthenticated;
  if (code == "AccessDeniedException" || http_status == 403) return StatusCode::kForbidden;
  if (code == "IncompatibleParameterError") return StatusCode::kConflict;
  if (http_status >= 500 || http_status == 0) return StatusCode::kUnavailable;
  return StatusCode::kInvalidArgument;  // BadRequest, ServiceLimitExceeded, Invalid* ...
}

AwsJsonClient::AwsJsonClient(JsonRpcOptions options)
    : options_(std::move(options)), retry_(options_.retry) {
  if (!options_.transport) {
    owned_transport_ = std::shared_ptr<http::HttpTransport>(http::NewCurlTransport({}));
    options_.transport = owned_transport_.get();
  }
  if (!options_.clock) options_.clock = &SystemClock();
  signer_ = NewSigV4Signer(*options_.clock);
  while (!options_.endpoint.empty() && options_.endpoint.back() == '/') options_.endpoint.pop_back();
}

StatusOr<http::HttpResponse> AwsJsonClient::Attempt(const std::string& operation, const std::string& body) {
  ASSIGN_OR_RETURN(Credentials creds, options_.credentials->Get());
  http::HttpRequest req{"POST", options_.endpoint + "/",
                        {{"Content-Type", "application/x-amz-json-1.1"},
                         {"X-Amz-Target", options_.target_prefix + "." + operation}},
                        body};
  RETURN_IF_ERROR(signer_->Sign(req, creds, options_.region, options_.signing_name));
  return options_.transport->Send(req);
}

// Attempts the call until it succeeds, fails with a non-retryable error, or the retry strategy
// (attempt limit, retry quota) says stop; sleeps the strategy's full-jitter delay in between.
StatusOr<Json> AwsJsonClient::Call(const std::string& operation, const Json& request) {
  const std::string body = request.dump();
  int retries_cost = 0;
  for (int attempt = 1;; ++attempt) {
    auto resp = Attempt(operation, body);
    AttemptError err;
    Status failure;
    if (!resp.ok()) {
      if (resp.status().IsUnauthenticated() || resp.status().IsInvalid()) return resp.status();  // credentials
      err = {0, "", resp.status().IsTimeout()};
      failure = resp.status();
    } else if (resp->status == 200) {
      if (options_.on_attempt) options_.on_attempt(operation, "OK");
      retry_.OnSuccess(retries_cost);
      Json out = Json::parse(resp->body.empty() ? "{}" : resp->body, nullptr, false);
      if (out.is_discarded()) return Internal(operation + ": response is not JSON");
      return out;
    } else {
      failure = ErrorFromResponse(*resp);
      err = {resp->status, failure.reason(), false};
    }
    if (options_.on_attempt) options_.on_attempt(operation, err.code.empty() ? "TransportError" : err.code);
    auto delay = retry_.OnFailure(attempt, err);
    if (!delay) return failure.WithContext("fsx " + operation);
    retries_cost += RetryStrategy::CostOf(err);
    spdlog::debug("aws {}: attempt {} failed ({}); retrying in {}ms", operation, attempt, failure.ToString(), delay->count());
    (void)SleepFor(*options_.clock, *delay, std::stop_token());
  }
}

}  // namespace ckpt::aws
