// Informer: one resource's cache kept current by a Reflector on its own thread (one per
// namespace when it covers a list of namespaces), plus the handlers that turn cache changes into
// work (see runtime/handlers.h for the usual mappings).
#pragma once

#include <memory>
#include <thread>

#include "ckpt/kube/reflector.h"
#include "ckpt/kube/store.h"

namespace ckpt::kube {

struct InformerOptions {
  std::map<std::string, IndexFunc> indexers;
  TransformFunc transform = StripManagedFields;
  // Several namespaces in one cache: one list/watch each (ReflectorOptions::namespace_ unused).
  // Empty: the single namespace (or all namespaces) the ReflectorOptions name.
  std::vector<std::string> namespaces;
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
  const Reflector& reflector() const { return *reflectors_.front(); }

 private:
  Writer writer_;
  std::vector<std::unique_ptr<Reflector>> reflectors_;
  std::vector<std::jthread> threads_;
};

using InformerPtr = std::unique_ptr<Informer>;

}  // namespace ckpt::kube
