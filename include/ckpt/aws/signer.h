// AWS Signature Version 4 (header signing) for the FSx and STS clients. The signer adds
// X-Amz-Date, X-Amz-Security-Token (for temporary credentials) and Authorization to a request;
// it takes the time from an injected Clock so tests can sign with the upstream vectors' fixed
// date. Canonicalisation follows the SigV4 rules for non-S3 services: the URI path is normalised
// (dot segments and repeated slashes removed) and encoded once, query parameters are sorted and
// RFC 3986-encoded, header values are trimmed with folded lines and inner spaces collapsed, and
// repeated headers are joined with commas in their original order.
#pragma once

#include <memory>
#include <string>

#include "ckpt/common/clock.h"
#include "ckpt/common/status.h"
#include "ckpt/http/transport.h"

namespace ckpt::aws {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // non-empty for temporary credentials (IRSA, Pod Identity, IMDS)
  std::optional<Clock::WallTime> expiration;
};

// The intermediate products of one signature, for tests and debugging (never logged: the
// signature itself is a credential-derived secret for 5 minutes).
struct SigningDetails {
  std::string canonical_request;
  std::string string_to_sign;
  std::string authorization;
};

class Signer {
 public:
  virtual ~Signer() = default;
  // Signs `request` in place for `region`/`service` with `credentials`.
  // Fails with kInvalidArgument when the URL cannot be parsed.
  virtual Status Sign(http::HttpRequest& request, const Credentials& credentials, const std::string& region,
                      const std::string& service, SigningDetails* details = nullptr) const = 0;
};

struct SigV4Options {
  // Include X-Amz-Security-Token in the signed headers (all services ckpt-operator calls want
  // this); false adds it after signing, as a few legacy services expect.
  bool sign_security_token = true;
};

std::unique_ptr<Signer> NewSigV4Signer(Clock& clock, SigV4Options options = {});

}  // namespace ckpt::aws
