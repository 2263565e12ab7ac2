// civetweb-backed HttpServer (see include/ckpt/http/server.h).
#include "ckpt/http/server.h"
#include "ckpt/common/encoding.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <thread>

#include <algorithm>
#include <mutex>

namespace ckpt::http {
namespace {

const char* Reason(int code) {
  switch (code) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

ServerRequest ReadRequest(mg_connection* conn) {
  const mg_request_info* info = mg_get_request_info(conn);
  ServerRequest r;
  r.method = info->request_method ? info->request_method : "";
  r.path = info->local_uri ? info->local_uri : "";
  r.query = info->query_string ? info->query_string : "";
  for (int i = 0; i < info->num_headers; ++i)
    r.headers.emplace_back(AsciiLower(info->http_headers[i].name), info->http_headers[i].value);
  char buf[8192];
  int n;
  while ((n = mg_read(conn, buf, sizeof buf)) > 0) r.body.append(buf, static_cast<size_t>(n));
  return r;
}

}  // namespace

std::string_view ServerRequest::Header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers)
    if (k == lower_name) return v;
  return {};
}

int HttpServer::Dispatch(mg_connection* conn, void* self_ptr) {
  auto* self = static_cast<HttpServer*>(self_ptr);
  ServerRequest request = ReadRequest(conn);
  // civetweb's worker threads have a small stack fixed when the library was built; handlers parse
  // JSON and match regular expressions, so each runs on a thread with the default stack.
  HttpResponse resp = std::async(std::launch::async, [&] { return self->handler_(request); }).get();
  std::string head = "HTTP/1.1 " + std::to_string(resp.status) + " " + Reason(resp.status) + "\r\n";
  bool has_type = false;
  for (const auto& [k, v] : resp.headers) {
    head += k + ": " + v + "\r\n";
    has_type |= AsciiLower(k) == "content-type";
  }
  if (!has_type) head += "Content-Type: text/plain\r\n";
  head += "Content-Length: " + std::to_string(resp.body.size()) + "\r\n\r\n";
  mg_write(conn, head.data(), head.size());
  mg_write(conn, resp.body.data(), resp.body.size());
  return static_cast<int>(resp.status);
}

StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& address, ServerHandler handler,
                                                        int threads) {
  static std::once_flag init;
  std::call_once(init, [] { mg_init_library(0); });
  std::unique_ptr<HttpServer> s(new HttpServer());
  s->handler_ = std::move(handler);
  std::string nthreads = std::to_string(threads);
  // ":8080" (Go style, every interface) is "8080" to civetweb.
  const std::string ports_option = address.starts_with(':') ? address.substr(1) : address;
  const char* options[] = {"listening_ports", ports_option.c_str(), "num_threads", nthreads.c_str(),
                           "enable_keep_alive", "yes", "keep_alive_timeout_ms", "500", nullptr};
  s->ctx_ = mg_start(nullptr, nullptr, options);
  if (!s->ctx_) return Unavailable("cannot listen on " + address);
  mg_set_request_handler(s->ctx_, "/", &HttpServer::Dispatch, s.get());
  mg_server_port ports[1];
  if (mg_get_server_ports(s->ctx_, 1, ports) > 0) s->port_ = ports[0].port;
  return s;
}

namespace {
void Poke(int port) {  // opens and closes one loopback connection
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  (void)connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  close(fd);
}
}  // namespace

HttpServer::~HttpServer() {
  if (!ctx_) return;
  // civetweb's accept loop polls with a 2 s quantum; poking the listening port wakes it so that
  // stopping takes milliseconds instead of up to 2 s.
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    mg_stop(ctx_);
    stopped = true;
  });
  for (int i = 0; i < 400 && !stopped; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (port_ > 0 && !stopped) Poke(port_);
  }
  stopper.join();
}

}  // namespace ckpt::http
