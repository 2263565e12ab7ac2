// WatchDecoder: turns the chunked body of a Kubernetes watch response (one JSON event per line)
// into WatchEvents as bytes arrive, holding at most one partial line. Lines longer than the
// limit, malformed JSON and unknown event types become errors instead of crashes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "ckpt/common/status.h"
#include "ckpt/kube/client.h"

namespace ckpt::kube {

class WatchDecoder {
 public:
  explicit WatchDecoder(size_t max_line_bytes = 64u << 20) : max_line_bytes_(max_line_bytes) {}

  // Feeds one chunk; calls `on_event` for each complete event. Returns an error (and keeps
  // returning it) on a bad line; returns kCancelled once `on_event` returns false.
  Status Feed(std::string_view chunk, const WatchCallback& on_event);

  // Bytes of an incomplete trailing line still held.
  size_t pending() const { return partial_.size(); }

 private:
  Status DecodeLine(std::string_view line, const WatchCallback& on_event);

  const size_t max_line_bytes_;
  std::string partial_;
  Status failed_;
};

// Parses one watch event line.
StatusOr<WatchEvent> DecodeWatchEvent(std::string_view line);

}  // namespace ckpt::kube
