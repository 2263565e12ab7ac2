// Informer: one resource's cache kept current by a Reflector on its own thread, plus the
// handlers that turn cache changes into work (see runtime/handlers.h for the usual mappings).
#pragma once

#include <memory>
#include <thread>

#include "ckpt/kube/reflector.h"
#include "ckpt/kube/store.h"

namespace ckpt::kube {

struct InformerOptions {
  std::map<std::string, IndexFunc> indexers;
  TransformFunc transform = StripManagedFields;
};

class Informer {
 public:
  Informer(KubeClient& client, ReflectorOptions options, Clock& clock, InformerOptions informer_options = {});
  ~Informer();  // stops the thread

  Store store() const { return writer_.store(); }
  // REQUIRES: before Start().
  void AddHandler(EventHandler h) { writer_.AddHandler(std::move(h)); }
  // Starts the list/watch thread; it runs until Stop() or destruction.
  void Start();
  void Stop();
  const Reflector& reflector() const { return reflector_; }

 private:
  Writer writer_;
  Reflector reflector_;
  std::jthread thread_;
};

using InformerPtr = std::unique_ptr<Informer>;

}  // namespace ckpt::kube
