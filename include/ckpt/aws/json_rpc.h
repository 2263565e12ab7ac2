// AwsJsonClient: the awsJson1_1 protocol (POST "/", X-Amz-Target: <prefix>.<Operation>, JSON
// in and out) with SigV4 signing, the standard retry mode and typed errors. An error reply
// {"__type": "...#FileSystemNotFound", "Message": "..."} becomes a Status whose reason() is the
// error code and whose message is the service's own. Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "ckpt/aws/credentials.h"
#include "ckpt/aws/retry.h"
#include "ckpt/aws/signer.h"

namespace ckpt::aws {

using Json = nlohmann::json;

struct JsonRpcOptions {
  std::string endpoint;       // "https://fsx.us-east-1.amazonaws.com" or an override
  std::string region;
  std::string signing_name;   // "fsx"
  std::string target_prefix;  // "AWSSimbaAPIService_v20180301"
  CredentialsProvider* credentials = nullptr;  // REQUIRED, outlives the client
  http::HttpTransport* transport = nullptr;    // defaults to libcurl
  Clock* clock = nullptr;                      // defaults to SystemClock()
  RetryOptions retry;
  // Called once per attempt with the operation and its outcome ("OK" or the error code).
  std::function<void(std::string_view op, std::string_view code)> on_attempt;
};

// Maps an AWS error code and HTTP status onto a StatusCode (throttling -> kTooManyRequests,
// *NotFound -> kNotFound, auth -> kUnauthenticated/kForbidden, 5xx -> kUnavailable, ...).
StatusCode CodeForAwsError(std::string_view code, int http_status);

class AwsJsonClient {
 public:
  explicit AwsJsonClient(JsonRpcOptions options);
  StatusOr<Json> Call(const std::string& operation, const Json& request);

 private:
  StatusOr<http::HttpResponse> Attempt(const std::string& operation, const std::string& body);

  JsonRpcOptions options_;
  std::shared_ptr<http::HttpTransport> owned_transport_;
  std::unique_ptr<Signer> signer_;
  RetryStrategy retry_;
};

}  // namespace ckpt::aws
