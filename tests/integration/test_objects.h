// Object builders and polling helpers shared by the integration tests.
#pragma once

#include <chrono>
#include <string>
#include <thread>

#include "ckpt/kube/client.h"

namespace ckpt::testing {

using namespace std::chrono_literals;

// A valid CheckpointStore; `pad` bytes of tags make objects of a chosen size.
inline kube::Json CheckpointStoreObject(const std::string& ns, const std::string& name, size_t pad = 0) {
  kube::Json tags = {{"team", "ml"}};
  for (size_t i = 0; pad > 0; ++i) {
    size_t n = std::min<size_t>(pad, 200);
    tags["pad" + std::to_string(i)] = std::string(n, 'x');
    pad -= n;
  }
  return {{"apiVersion", "trainops.io/v1alpha1"},
          {"kind", "CheckpointStore"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec",
           {{"fileSystem",
             {{"deploymentType", "PERSISTENT_2"},
              {"storageCapacityGiB", 2400},
              {"perUnitStorageThroughput", 250},
              {"subnetId", "subnet-0123456789abcdef0"},
              {"tags", tags}}},
            {"volume", {{"claimName", name}}}}}};
}

// Polls `fn` every `every` until it returns true or `timeout` passes.
template <typename Fn>
bool Eventually(Fn fn, std::chrono::milliseconds timeout = 30s, std::chrono::milliseconds every = 50ms) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (fn()) return true;
    std::this_thread::sleep_for(every);
  }
  return fn();
}

}  // namespace ckpt::testing
