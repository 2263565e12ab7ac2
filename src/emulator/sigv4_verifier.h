// Verifies an incoming request's SigV4 Authorization header the way AWS does: a known access
// key, a signature that matches the one recomputed with that key's secret over the signed
// headers, and an X-Amz-Date within 5 minutes of the server's clock.
#pragma once

#include <chrono>
#include <map>
#include <string>

#include "ckpt/common/clock.h"
#include "ckpt/common/status.h"
#include "ckpt/http/server.h"

namespace ckpt::emulator {

// OK, or an error whose reason() is UnrecognizedClientException, InvalidSignatureException or
// IncompleteSignatureException, with AWS's messages.
Status VerifySigV4(const http::ServerRequest& request, const std::map<std::string, std::string>& secrets,
                   const std::string& service, Clock& clock, std::chrono::seconds max_skew = std::chrono::seconds(300));

}  // namespace ckpt::emulator
