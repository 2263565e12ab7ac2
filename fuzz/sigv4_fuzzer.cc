// libFuzzer target: the SigV4 canonicalizer. The input is an HTTP request written as text (the
// SigV4 test suite's .req format: method, path and query, headers, body); it is signed with the
// suite's credentials. Any request must be signed or refused, never crash; signing twice must give
// the same canonical request.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "ckpt/aws/signer.h"
#include "ckpt/common/clock.h"
#include "fakes/http_request_text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static ckpt::FakeClock clock;
  static auto signer = ckpt::aws::NewSigV4Signer(clock);
  const ckpt::aws::Credentials creds{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "", std::nullopt};
  const ckpt::http::HttpRequest parsed = ckpt::testing::ParseRequestText(std::string(reinterpret_cast<const char*>(data), size));
  ckpt::http::HttpRequest first = parsed, second = parsed;
  ckpt::aws::SigningDetails a, b;
  const bool signed_first = signer->Sign(first, creds, "us-east-1", "service", &a).ok();
  const bool signed_second = signer->Sign(second, creds, "us-east-1", "service", &b).ok();
  if (signed_first != signed_second || a.canonical_request != b.canonical_request) std::abort();
  return 0;
}
