// libFuzzer target: kubeconfig parsing (ParseKubeconfig) on arbitrary bytes. Any input must give a
// ClientConfig or an error, never a crash, a leak or undefined behaviour; relative file
// references resolve against a directory that does not exist, so nothing is read.
#include <cstddef>
#include <cstdint>
#include <string>

#include "ckpt/kube/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)ckpt::kube::ParseKubeconfig(text, "/nonexistent-fuzz-dir");
  (void)ckpt::kube::ParseKubeconfig(text, "/nonexistent-fuzz-dir", "other-context");
  return 0;
}
