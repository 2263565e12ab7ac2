// SigV4 verification for the emulator (see sigv4_verifier.h): re-signs a copy of the request,
// restricted to its signed headers, with a clock fixed at the request's X-Amz-Date.
#include "emulator/sigv4_verifier.h"

#include <regex>

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

}  // namespace

Status VerifySigV4(const http::ServerRequest& req, const std::map<std::string, std::string>& secrets,
                   const std::string& service, Clock& clock, std::chrono::seconds max_skew) {
  std::string auth(req.Header("authorization"));
  static const std::regex kAuth(
      R"(AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64}))");
  std::smatch m;
  if (auth.empty()) return AuthError("MissingAuthenticationTokenException", "Missing Authentication Token");
  if (!std::regex_match(auth, m, kAuth))
    return AuthError("IncompleteSignatureException", "Authorization header requires Credential, SignedHeaders and Signature.");
  auto secret = secrets.find(m[1]);
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
  std::string signed_headers = m[5];
  for (size_t pos = 0; pos <= signed_headers.size();) {
    size_t semi = signed_headers.find(';', pos);
    std::string name = signed_headers.substr(pos, semi == std::string::npos ? std::string::npos : semi - pos);
    if (name != "x-amz-date" && name != "x-amz-security-token") copy.headers.emplace_back(name, std::string(req.Header(name)));
    if (semi == std::string::npos) break;
    pos = semi + 1;
  }
  FakeClock at(when);
  aws::Credentials creds{m[1], secret->second, std::string(req.Header("x-amz-security-token")), std::nullopt};
  aws::SigningDetails d;
  RETURN_IF_ERROR(aws::NewSigV4Signer(at)->Sign(copy, creds, m[3], m[4], &d));
  if (d.authorization.substr(d.authorization.rfind('=') + 1) != std::string(m[6]) || m[4] != service)
    return AuthError("InvalidSignatureException",
                     "The request signature we calculated does not match the signature you provided. Check your AWS "
                     "Secret Access Key and signing method. Consult the service documentation for details.");
  return Status::Ok();
}

}  // namespace ckpt::emulator
