// HttpServer: a small embedded HTTP server (civetweb) that hands each request to one handler
// function. Used by the probe/metrics endpoint, the FSx emulator, and tests that play AWS
// endpoints (STS, IMDS, the EKS Pod Identity agent). The handler may be called from several
// server threads at once.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "ckpt/common/status.h"
#include "ckpt/http/transport.h"

struct mg_context;
struct mg_connection;

namespace ckpt::http {

struct ServerRequest {
  std::string method;
  std::string path;   // without the query
  std::string query;  // without '?'
  Headers headers;    // names lower-cased
  std::string body;

  std::string_view Header(std::string_view lower_name) const;
};

using ServerHandler = std::function<HttpResponse(const ServerRequest&)>;

class HttpServer {
 public:
  // Listens on `address` ("127.0.0.1:0" picks a free port; ":8080" is every interface) with `threads` worker threads.
  static StatusOr<std::unique_ptr<HttpServer>> Start(const std::string& address, ServerHandler handler,
                                                     int threads = 4);
  ~HttpServer();  // stops the server, waiting for in-flight requests

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  HttpServer() = default;
  static int Dispatch(::mg_connection* conn, void* self);

  ::mg_context* ctx_ = nullptr;
  int port_ = 0;
  ServerHandler handler_;
};

}  // namespace ckpt::http
