// HttpTransport: the only seam through which ckpt-operator talks HTTP. The Kubernetes and AWS
// clients build HttpRequests and read HttpResponses; the libcurl implementation (src/http/)
// owns sockets, TLS and connection reuse. Tests substitute fakes or a forwarding wrapper that
// injects faults. Both calls are thread-safe and may run concurrently on one transport.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ckpt/common/status.h"

namespace ckpt::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  Headers headers;
  std::string body;
  // Whole-request limit for Send(). For Stream() it is the idle limit: no byte for this long
  // ends the stream with kTimeout.
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
};

struct HttpResponse {
  int status = 0;
  Headers headers;  // names lower-cased
  std::string body;

  // First header with this lower-case name, or "" when absent.
  std::string_view Header(std::string_view lower_name) const;
};

// TLS settings for one transport. PEM strings win over file paths when both are set.
struct TlsOptions {
  std::string ca_pem, ca_file;
  std::string client_cert_pem, client_cert_file;
  std::string client_key_pem, client_key_file;
  bool insecure_skip_verify = false;  // honoured only when set explicitly (kubeconfig)
};

// Receives a streamed response: once with the status and headers, then with each body chunk as it
// arrives. Returning false from on_data stops the stream; Stream() then returns OK.
struct StreamHandler {
  std::function<void(int status, const Headers& headers)> on_headers;
  std::function<bool(std::string_view chunk)> on_data;
  // Polled about once a second even while no bytes arrive; true ends the stream (kCancelled).
  std::function<bool()> cancelled;
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;

  // Sends one request and reads the whole response. Non-2xx statuses are not errors here:
  // the caller maps them. Fails with kUnavailable/kTimeout on transport errors.
  virtual StatusOr<HttpResponse> Send(const HttpRequest& request) = 0;

  // Sends one request and hands the body to `handler` chunk by chunk without buffering it.
  // Returns the HTTP status once the server ends the response or the handler stops it.
  virtual StatusOr<int> Stream(const HttpRequest& request, const StreamHandler& handler) = 0;
};

using HttpTransportPtr = std::unique_ptr<HttpTransport>;

// A transport backed by libcurl that keeps connections alive across requests.
HttpTransportPtr NewCurlTransport(TlsOptions tls);

// Forwards every call to another transport; tests override one method to inject faults.
class HttpTransportWrapper : public HttpTransport {
 public:
  explicit HttpTransportWrapper(HttpTransport& target) : target_(target) {}
  StatusOr<HttpResponse> Send(const HttpRequest& r) override { return target_.Send(r); }
  StatusOr<int> Stream(const HttpRequest& r, const StreamHandler& h) override {
    return target_.Stream(r, h);
  }

 private:
  HttpTransport& target_;
};

}  // namespace ckpt::http
