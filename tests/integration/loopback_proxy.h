// LoopbackProxy: a TCP proxy on 127.0.0.1 that the integration tests put between a process and
// the API server, to cut the path the way a network partition does: after Cut(), connections
// stay open and new ones are accepted, but no byte goes through in either direction, so requests
// hang instead of failing (the case a request deadline exists for). Resume() lets bytes through
// again. TLS passes through untouched.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace ckpt::testing {

class LoopbackProxy {
 public:
  // Forwards 127.0.0.1:<port()> to 127.0.0.1:`upstream_port`.
  explicit LoopbackProxy(int upstream_port);
  ~LoopbackProxy();
  int port() const { return port_; }
  void Cut() { cut_ = true; }
  void Resume() { cut_ = false; }

 private:
  void AcceptLoop();
  void Pump(int from, int to);

  const int upstream_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> cut_{false};
  std::atomic<bool> stopping_{false};
  std::vector<int> fds_;               // accepted and upstream sockets; only the accept loop adds
  std::jthread accept_;
  std::vector<std::jthread> pumps_;  // two per connection; only the accept loop adds
};

}  // namespace ckpt::testing
