// SigV4 verification for the emulator (see sigv4_verifier.h): re-signs a copy of the request,
// restricted to its signed headers, with a clock fixed at the request's X-Amz-Date.
#include "emulator/sigv4_verifier.h"

#include <optional>


#include "ckpt/aws/signer.h"
#include "emulator/lustre_rules.h"

namespace ckpt::emulator {
namespace {

Status AuthError(std::string code, std::string message) {
  return Status(code == "UnrecognizedClientException" || code == "InvalidSignatureException"
                    ? StatusCode::kUnauthenticated
                    : StatusCode::kInvalidArgument,
                std::move(message))
      .SetReason(std::move(code));
}

bool ParseAmzDate(const std::string& s, Clock::WallTime& out) {
  if (s.size() != 16) return false;  // 20150830T123600Z
  return ParseRfc3339(s.substr(0, 4) + "-" + s.substr(4, 2) + "-" + s.substr(6, 2) + "T" + s.substr(9, 2) + ":" +
                          s.substr(11, 2) + ":" + s.substr(13, 2) + "Z",
                      out);
}

struct AuthHeader {
  std::string key, date, region, service, signed_headers, signature;
};

// Parses "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request,
// SignedHeaders=a;b, Signature=<64 hex>" (plain string work: no std::regex on server threads).
std::optional<AuthHeader> ParseAuth(std::string_view h) {
  constexpr std::string_view kScheme = "AWS4-HMAC-SHA256 ";
  if (!h.starts_with(kScheme)) return std::nullopt;
  h.remove_prefix(kScheme.size());
  auto field = [&](std::string_view name) -> std::string {
    size_t at = h.find(name);
    if (at == std::string_view::npos) return "";
    size_t start = at + name.size(), end = h.find(',', start);
    return std::string(h.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
  };
  AuthHeader a;
  std::string credential = field("Credential="), parts[5];
  a.signed_headers = field("SignedHeaders=");
  a.signature = field("Signature=");
  size_t pos = 0;
  for (int i = 0; i < 5; ++i) {
    size_t slash = credential.find('/', pos);
    parts[i] = credential.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
    if (slash == std::string::npos && i < 4) return std::nullopt;
    pos = slash + 1;
  }
  if (parts[4] != "aws4_request" || a.signed_headers.empty() || a.signature.size() != 64) return std::nullopt;
  a.key = parts[0];
  a.date = parts[1];
  a.region = parts[2];
  a.service = parts[3];
  return a;
}

}  // namespace

Status VerifySigV4(const http::ServerRequest& req, const std::map<std::string, std::string>& secrets,
                   const std::string& service, Clock& clock, std::chrono::seconds max_skew) {
  std::string auth(req.Header("authorization"));
  if (auth.empty()) return AuthError("MissingAuthenticationTokenException", "Missing Authentication Token");
  auto m = ParseAuth(auth);
  if (!m)
    return AuthError("IncompleteSignatureException", "Authorization header requires Credential, SignedHeaders and Signature.");
  auto secret = secrets.find(m->key);
  if (secret == secrets.end())
    return AuthError("UnrecognizedClientException", "The security token included in the request is invalid.");
  Clock::WallTime when;
  std::string amz_date(req.Header("x-amz-date"));
  if (!ParseAmzDate(amz_date, when)) return AuthError("IncompleteSignatureException", "X-Amz-Date is missing or malformed.");
  auto skew = std::chrono::abs(clock.Now() - when);
  if (skew > max_skew)
    return AuthError("InvalidSignatureException", "Signature expired: " + amz_date + " is now earlier or later than the "
                                                  "server time by more than 5 minutes.");
  // Re-sign a copy that carries exactly the signed headers.
  http::HttpRequest copy{req.method, "https://" + std::string(req.Header("host")) + req.path +
                                         (req.query.empty() ? "" : "?" + req.query), {}, req.body};
  std::string signed_headers = m->signed_headers;
  for (size_t pos = 0; pos <= signed_headers.size();) {
    size_t semi = signed_headers.find(';', pos);
    std::string name = signed_headers.substr(pos, semi == std::string::npos ? std::string::npos : semi - pos);
    if (name != "x-amz-date" && name != "x-amz-security-token") copy.headers.emplace_back(name, std::string(req.Header(name)));
    if (semi == std::string::npos) break;
    pos = semi + 1;
  }
  FakeClock at(when);
  aws::Credentials creds{m->key, secret->second, std::string(req.Header("x-amz-security-token")), std::nullopt};
  aws::SigningDetails d;
  RETURN_IF_ERROR(aws::NewSigV4Signer(at)->Sign(copy, creds, m->region, m->service, &d));
  if (d.authorization.substr(d.authorization.rfind('=') + 1) != m->signature || m->service != service)
    return AuthError("InvalidSignatureException",
                     "The request signature we calculated does not match the signature you provided. Check your AWS "
                     "Secret Access Key and signing method. Consult the service documentation for details.");
  return Status::Ok();
}

}  // namespace ckpt::emulator
