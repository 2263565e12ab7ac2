// TokenSource: where the client's bearer token comes from. Static tokens, token files (re-read
// at most once a minute so rotated service-account tokens are used) and exec credential plugins
// (run again when the credential nears expiry or the server answers 401). Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "ckpt/common/clock.h"
#include "ckpt/common/status.h"
#include "ckpt/kube/config.h"

namespace ckpt::kube {

class TokenSource {
 public:
  virtual ~TokenSource() = default;
  // The token to send; "" means send none.
  virtual StatusOr<std::string> Token() = 0;
  // The server refused the last token (401): fetch a fresh one next time.
  virtual void Invalidate() {}
};

using TokenSourcePtr = std::unique_ptr<TokenSource>;

// Picks the source for `config`: exec plugin, then token file, then static token.
TokenSourcePtr NewTokenSource(const ClientConfig& config, Clock& clock);

}  // namespace ckpt::kube
