// libFuzzer target: the watch-stream decoder on arbitrary bytes, fed in two chunks split where the
// first byte says (so partial lines across chunk boundaries are exercised), with a small line
// limit. Every event it hands out must be one of the four watch types with an object.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ckpt/kube/watch_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t split = input.empty() ? 0 : data[0] % (input.size() + 1);
  ckpt::kube::WatchDecoder decoder(4096);
  auto check = [](const ckpt::kube::WatchEvent& e) {
    if (!e.object.is_object()) std::abort();
    return true;
  };
  if (decoder.Feed(input.substr(0, split), check).ok()) (void)decoder.Feed(input.substr(split), check);
  (void)ckpt::kube::DecodeWatchEvent(input);
  return 0;
}
