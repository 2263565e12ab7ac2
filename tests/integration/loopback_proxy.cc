// A loopback TCP proxy that can be cut (see loopback_proxy.h).
#include "integration/loopback_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

namespace ckpt::testing {

LoopbackProxy::LoopbackProxy(int upstream_port) : upstream_port_(upstream_port) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  listen(listen_fd_, 64);
  socklen_t len = sizeof addr;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  accept_ = std::jthread([this] { AcceptLoop(); });
}

LoopbackProxy::~LoopbackProxy() {
  stopping_ = true;
  accept_.join();  // first: it is the only one that adds pumps
  for (auto& t : pumps_) t.join();
  for (int fd : fds_) close(fd);
  close(listen_fd_);
}

void LoopbackProxy::AcceptLoop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    int client = accept(listen_fd_, nullptr, nullptr);
    if (client < 0) continue;
    int upstream = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(upstream_port_));
    if (connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      close(client);
      close(upstream);
      continue;
    }
    // A pump that ends shuts both sockets down, so the other pump ends too; the destructor closes them.
    fds_.push_back(client);
    fds_.push_back(upstream);
    pumps_.emplace_back([this, client, upstream] { Pump(client, upstream); });
    pumps_.emplace_back([this, client, upstream] { Pump(upstream, client); });
  }
}

// Copies `from` to `to` while not cut; while cut, bytes are read and dropped (the peer sees no
// answer and no error). Ends when either side closes or the proxy stops.
void LoopbackProxy::Pump(int from, int to) {
  char buf[16384];
  while (!stopping_) {
    pollfd p{from, POLLIN, 0};
    int ready = poll(&p, 1, 100);
    if (ready == 0) continue;
    if (ready < 0) break;
    ssize_t n = read(from, buf, sizeof buf);
    if (n <= 0) break;
    if (cut_) continue;
    for (ssize_t sent = 0; sent < n;) {
      ssize_t w = write(to, buf + sent, static_cast<size_t>(n - sent));
      if (w <= 0) {
        n = -1;
        break;
      }
      sent += w;
    }
    if (n < 0) break;
  }
  shutdown(to, SHUT_RDWR);
  shutdown(from, SHUT_RDWR);
}

}  // namespace ckpt::testing
