// ProbeServer: the small HTTP endpoint for kubelet probes and Prometheus scraping, on civetweb:
// /healthz (200 while the process serves), /readyz (200 once caches are synced), /metrics.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "ckpt/common/status.h"

struct mg_context;
struct mg_connection;

namespace ckpt::runtime {

class ProbeServer {
 public:
  // `address` is host:port (port 0 picks a free one).
  static StatusOr<std::unique_ptr<ProbeServer>> Start(const std::string& address, std::function<bool()> ready,
                                                      std::function<std::string()> metrics);
  ~ProbeServer();
  int port() const { return port_; }

 private:
  ProbeServer() = default;
  static int Handle(::mg_connection* conn, void* self);

  mg_context* ctx_ = nullptr;
  int port_ = 0;
  std::function<bool()> ready_;
  std::function<std::string()> metrics_;
};

}  // namespace ckpt::runtime
