// Small encoding helpers shared by the http, kube and aws layers: base64, hex, SHA-256 and HMAC over
// OpenSSL, and ASCII lower-casing (HTTP header names).
#pragma once

#include <string>
#include <string_view>

#include "ckpt/common/status.h"

namespace ckpt {

StatusOr<std::string> Base64Decode(std::string_view in);
std::string Base64Encode(std::string_view in);
std::string HexEncode(std::string_view bytes);
std::string Sha256(std::string_view data);  // raw 32 bytes
std::string HmacSha256(std::string_view key, std::string_view data);  // raw 32 bytes
std::string AsciiLower(std::string_view s);

}  // namespace ckpt
