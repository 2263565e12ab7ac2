// AWS SigV4 header signing (see include/ckpt/aws/signer.h).
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <mutex>
#include <vector>

#include "ckpt/aws/signer.h"
#include "ckpt/common/encoding.h"

namespace ckpt::aws {
namespace {

bool Unreserved(unsigned char c) { return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~'; }

std::string UriEncode(std::string_view s, bool keep_slash) {
  std::string out;
  for (unsigned char c : s) {
    if (Unreserved(c) || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string UriDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(s[i + 1]) && std::isxdigit(s[i + 2])) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i] == '+' ? ' ' : s[i]);
    }
  }
  return out;
}

// Removes "." and ".." segments and empty segments; keeps a trailing slash.
std::string NormalizePath(std::string_view path) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string_view::npos) next = path.size();
    std::string_view seg = path.substr(pos, next - pos);
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
    } else if (!seg.empty() && seg != ".") {
      out.push_back(seg);
    }
    pos = next + 1;
  }
  std::string result;
  for (auto seg : out) (result += '/') += seg;
  bool trailing = !path.empty() && (path.back() == '/' || path.ends_with("/.") || path.ends_with("/.."));
  if (result.empty() || trailing) result += '/';
  return result;
}

std::string CanonicalQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  size_t pos = 0;
  while (pos < query.size()) {
    size_t amp = query.find('&', pos);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view kv = query.substr(pos, amp - pos);
    size_t eq = kv.find('=');
    std::string k = UriEncode(UriDecode(kv.substr(0, eq)), false);
    std::string v = eq == std::string_view::npos ? "" : UriEncode(UriDecode(kv.substr(eq + 1)), false);
    if (!kv.empty()) params.emplace_back(std::move(k), std::move(v));
    pos = amp + 1;
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [k, v] : params) (((out += out.empty() ? "" : "&") += k) += '=') += v;
  return out;
}

// Trims, turns folded lines into spaces and collapses runs of spaces.
std::string CanonicalHeaderValue(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    bool blank = c == ' ' || c == '\t' || c == '\n' || c == '\r';
    if (blank) {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

struct ParsedUrl {
  std::string host, path, query;
};

StatusOr<ParsedUrl> ParseUrl(const std::string& url) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) return InvalidArgument("sigv4: URL without scheme: " + url);
  size_t path_start = url.find('/', scheme + 3);
  ParsedUrl p;
  p.host = url.substr(scheme + 3, path_start == std::string::npos ? std::string::npos : path_start - scheme - 3);
  std::string rest = path_start == std::string::npos ? "/" : url.substr(path_start);
  size_t q = rest.find('?');
  p.path = rest.substr(0, q);
  if (q != std::string::npos) p.query = rest.substr(q + 1);
  if (p.host.empty()) return InvalidArgument("sigv4: URL without host: " + url);
  return p;
}

void SetHeader(http::Headers& headers, const std::string& name, const std::string& value) {
  std::erase_if(headers, [&](const auto& h) { return AsciiLower(h.first) == AsciiLower(name); });
  headers.emplace_back(name, value);
}

class SigV4Signer final : public Signer {
 public:
  SigV4Signer(Clock& clock, SigV4Options options) : clock_(clock), options_(options) {}

  Status Sign(http::HttpRequest& request, const Credentials& creds, const std::string& region,
              const std::string& service, SigningDetails* details) const override;

 private:
  // The derived key changes once a day per region/service/secret; the SDKs cache it too.
  std::string SigningKey(const std::string& secret, const std::string& date, const std::string& region,
                         const std::string& service) const;

  Clock& clock_;
  const SigV4Options options_;
  mutable std::mutex mu_;
  mutable std::string cached_scope_, cached_key_;  // guarded by mu_; scope includes a secret digest
};

std::string SigV4Signer::SigningKey(const std::string& secret, const std::string& date, const std::string& region,
                                    const std::string& service) const {
  std::string scope = date + "/" + region + "/" + service + "/" + Sha256(secret);
  std::lock_guard<std::mutex> l(mu_);
  if (scope != cached_scope_) {
    std::string key = HmacSha256("AWS4" + secret, date);
    cached_key_ = HmacSha256(HmacSha256(HmacSha256(key, region), service), "aws4_request");
    cached_scope_ = scope;
  }
  return cached_key_;
}

Status SigV4Signer::Sign(http::HttpRequest& request, const Credentials& creds, const std::string& region,
                         const std::string& service, SigningDetails* details) const {
  ASSIGN_OR_RETURN(ParsedUrl url, ParseUrl(request.url));
  std::string amz_date = FormatRfc3339(clock_.Now());  // 2015-08-30T12:36:00Z -> 20150830T123600Z
  std::erase_if(amz_date, [](char c) { return c == '-' || c == ':'; });
  std::string date = amz_date.substr(0, 8);
  std::erase_if(request.headers, [](const auto& h) { return AsciiLower(h.first) == "authorization"; });
  SetHeader(request.headers, "X-Amz-Date", amz_date);
  bool has_host = std::any_of(request.headers.begin(), request.headers.end(),
                              [](const auto& h) { return AsciiLower(h.first) == "host"; });
  if (!has_host) request.headers.emplace_back("Host", url.host);
  if (!creds.session_token.empty() && options_.sign_security_token)
    SetHeader(request.headers, "X-Amz-Security-Token", creds.session_token);

  std::map<std::string, std::string> canonical;  // sorted by lower-case name
  for (const auto& [k, v] : request.headers) {
    auto& slot = canonical[AsciiLower(k)];
    slot += (slot.empty() ? "" : ",") + CanonicalHeaderValue(v);
  }
  std::string signed_headers, header_block;
  for (const auto& [k, v] : canonical) {
    (((header_block += k) += ':') += v) += '\n';
    (signed_headers += signed_headers.empty() ? "" : ";") += k;
  }
  std::string creq = request.method + "\n" + UriEncode(NormalizePath(url.path), true) + "\n" +
                     CanonicalQuery(url.query) + "\n" + header_block + "\n" + signed_headers + "\n" +
                     HexEncode(Sha256(request.body));
  std::string scope = date + "/" + region + "/" + service + "/aws4_request";
  std::string sts = "AWS4-HMAC-SHA256\n" + amz_date + "\n" + scope + "\n" + HexEncode(Sha256(creq));
  std::string key = SigningKey(creds.secret_access_key, date, region, service);
  std::string authz = "AWS4-HMAC-SHA256 Credential=" + creds.access_key_id + "/" + scope +
                      ", SignedHeaders=" + signed_headers + ", Signature=" + HexEncode(HmacSha256(key, sts));
  request.headers.emplace_back("Authorization", authz);
  if (!creds.session_token.empty() && !options_.sign_security_token)
    SetHeader(request.headers, "X-Amz-Security-Token", creds.session_token);
  if (details) *details = {std::move(creq), std::move(sts), std::move(authz)};
  return Status::Ok();
}

}  // namespace

std::unique_ptr<Signer> NewSigV4Signer(Clock& clock, SigV4Options options) {
  return std::make_unique<SigV4Signer>(clock, options);
}

}  // namespace ckpt::aws
