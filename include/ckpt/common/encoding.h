// Small encoding helpers over OpenSSL: base64, hex and SHA-256, shared by the kube and aws layers.
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

}  // namespace ckpt
