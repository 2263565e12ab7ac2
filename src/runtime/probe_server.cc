// civetweb-backed probe and metrics endpoint (see probe_server.h).
#include "runtime/probe_server.h"

#include <civetweb.h>

#include <cstring>

namespace ckpt::runtime {
namespace {

void Reply(mg_connection* conn, int code, const char* type, const std::string& body) {
  mg_printf(conn, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", code,
            code == 200 ? "OK" : code == 404 ? "Not Found" : "Service Unavailable", type, body.size());
  mg_write(conn, body.data(), body.size());
}

}  // namespace

int ProbeServer::Handle(mg_connection* conn, void* self_ptr) {
  auto* self = static_cast<ProbeServer*>(self_ptr);
  const mg_request_info* info = mg_get_request_info(conn);
  std::string uri = info->local_uri ? info->local_uri : "";
  if (uri == "/healthz" || uri == "/livez") {
    Reply(conn, 200, "text/plain", "ok");
  } else if (uri == "/readyz") {
    bool ok = self->ready_ && self->ready_();
    Reply(conn, ok ? 200 : 503, "text/plain", ok ? "ok" : "caches not synced");
  } else if (uri == "/metrics" && self->metrics_) {
    Reply(conn, 200, "text/plain; version=0.0.4", self->metrics_());
  } else {
    Reply(conn, 404, "text/plain", "not found");
  }
  return 1;
}

StatusOr<std::unique_ptr<ProbeServer>> ProbeServer::Start(const std::string& address, std::function<bool()> ready,
                                                          std::function<std::string()> metrics) {
  std::unique_ptr<ProbeServer> s(new ProbeServer());
  s->ready_ = std::move(ready);
  s->metrics_ = std::move(metrics);
  mg_init_library(0);
  const char* options[] = {"listening_ports", address.c_str(), "num_threads", "2", nullptr};
  s->ctx_ = mg_start(nullptr, nullptr, options);
  if (!s->ctx_) return Unavailable("cannot listen on " + address + " for probes/metrics");
  mg_set_request_handler(s->ctx_, "/", &ProbeServer::Handle, s.get());
  mg_server_port ports[1];
  if (mg_get_server_ports(s->ctx_, 1, ports) > 0) s->port_ = ports[0].port;
  return s;
}

ProbeServer::~ProbeServer() {
  if (ctx_) mg_stop(ctx_);
}

}  // namespace ckpt::runtime
