// Informer: a Writer + Reflector pair on a jthread (see include/ckpt/kube/informer.h).
#include "ckpt/kube/informer.h"

namespace ckpt::kube {

Informer::Informer(KubeClient& client, ReflectorOptions options, Clock& clock, InformerOptions io)
    : writer_(std::move(io.indexers), std::move(io.transform)),
      reflector_(client, std::move(options), writer_, clock, reinterpret_cast<uintptr_t>(this)) {}

Informer::~Informer() { Stop(); }

void Informer::Start() {
  thread_ = std::jthread([this](std::stop_token stop) { reflector_.Run(stop); });
}

void Informer::Stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  thread_.join();
}

}  // namespace ckpt::kube
