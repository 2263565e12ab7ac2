// Informer: a Writer fed by one Reflector per namespace, each on a jthread (see
// include/ckpt/kube/informer.h).
#include "ckpt/kube/informer.h"

namespace ckpt::kube {

Informer::Informer(KubeClient& client, ReflectorOptions options, Clock& clock, InformerOptions io)
    : writer_(std::move(io.indexers), std::move(io.transform)) {
  const uint64_t seed = reinterpret_cast<uintptr_t>(this);
  if (io.namespaces.empty()) {
    reflectors_.push_back(std::make_unique<Reflector>(client, std::move(options), writer_, clock, seed));
    return;
  }
  writer_.ExpectScopes(io.namespaces);
  for (const auto& ns : io.namespaces) {
    ReflectorOptions one = options;
    one.namespace_ = ns;
    reflectors_.push_back(std::make_unique<Reflector>(client, std::move(one), writer_, clock, seed + reflectors_.size()));
  }
}

Informer::~Informer() { Stop(); }

void Informer::Start() {
  for (auto& r : reflectors_)
    threads_.emplace_back([reflector = r.get()](std::stop_token stop) { reflector->Run(stop); });
}

void Informer::Stop() {
  for (auto& t : threads_) t.request_stop();
  threads_.clear();  // joins
}

}  // namespace ckpt::kube
