// STS web identity, Pod Identity agent and IMDSv2 credential sources (see credential_sources.h).
#include "aws/credential_sources.h"

#include <curl/curl.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace ckpt::aws {
namespace {

using nlohmann::json;

StatusOr<std::string> ReadTrimmed(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string FormEscape(std::string_view s) {
  char* e = curl_easy_escape(nullptr, s.data(), static_cast<int>(s.size()));
  std::string out(e);
  curl_free(e);
  return out;
}

// Parses the JSON the Pod Identity agent and IMDS return.
StatusOr<Credentials> FromJson(std::string_view body, const std::string& who) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Unavailable(who + ": response is not JSON");
  Credentials c{j.value("AccessKeyId", ""), j.value("SecretAccessKey", ""), j.value("Token", ""), std::nullopt};
  if (c.access_key_id.empty() || c.secret_access_key.empty()) return Unavailable(who + ": response has no credentials");
  Clock::WallTime t;
  if (ParseRfc3339(j.value("Expiration", ""), t)) c.expiration = t;
  return c;
}

class WebIdentitySource final : public CredentialSource {
 public:
  explicit WebIdentitySource(const SourceContext& ctx) : ctx_(ctx) {}
  std::string name() const override { return "web-identity"; }

  StatusOr<Credentials> Fetch() override {
    // The projected token rotates (kubelet refreshes it): read it on every refresh.
    ASSIGN_OR_RETURN(std::string token, ReadTrimmed(ctx_.getenv("AWS_WEB_IDENTITY_TOKEN_FILE")));
    std::string session = ctx_.getenv("AWS_ROLE_SESSION_NAME");
    if (session.empty()) session = "ckpt-operator-" + std::to_string(ctx_.clock.Now().time_since_epoch().count() / 1000000000);
    std::string body = "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=" +
                       FormEscape(ctx_.getenv("AWS_ROLE_ARN")) + "&RoleSessionName=" + FormEscape(session) +
                       "&WebIdentityToken=" + FormEscape(token);
    http::HttpRequest req{"POST", Endpoint(), {{"Content-Type", "application/x-www-form-urlencoded"}}, body};
    ASSIGN_OR_RETURN(http::HttpResponse resp, ctx_.transport->Send(req));
    if (resp.status != 200) {
      Status s(resp.status == 400 || resp.status == 403 ? StatusCode::kUnauthenticated : StatusCode::kUnavailable,
               "STS AssumeRoleWithWebIdentity: " + XmlText(resp.body, "Message"));
      return s.SetReason(XmlText(resp.body, "Code"));
    }
    Credentials c{XmlText(resp.body, "AccessKeyId"), XmlText(resp.body, "SecretAccessKey"),
                  XmlText(resp.body, "SessionToken"), std::nullopt};
    if (c.access_key_id.empty()) return Unavailable("STS AssumeRoleWithWebIdentity: no credentials in response");
    Clock::WallTime t;
    if (ParseRfc3339(XmlText(resp.body, "Expiration"), t)) c.expiration = t;
    return c;
  }

 private:
  std::string Endpoint() const {
    std::string e = ctx_.getenv("AWS_ENDPOINT_URL_STS");
    if (e.empty()) e = ctx_.getenv("AWS_ENDPOINT_URL");
    return e.empty() ? "https://sts." + ctx_.region + ".amazonaws.com/" : e;
  }
  SourceContext ctx_;
};

class PodIdentitySource final : public CredentialSource {
 public:
  explicit PodIdentitySource(const SourceContext& ctx) : ctx_(ctx) {}
  std::string name() const override { return "pod-identity"; }

  StatusOr<Credentials> Fetch() override {
    std::string auth = ctx_.getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    std::string file = ctx_.getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    if (!file.empty()) {
      ASSIGN_OR_RETURN(auth, ReadTrimmed(file));  // re-read on every fetch: the token rotates
    }
    http::HttpRequest req{"GET", ctx_.getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI"), {}, ""};
    if (!auth.empty()) req.headers.emplace_back("Authorization", auth);
    req.timeout = std::chrono::seconds(5);
    ASSIGN_OR_RETURN(http::HttpResponse resp, ctx_.transport->Send(req));
    if (resp.status != 200)
      return Status(StatusCode::kUnavailable, "Pod Identity agent: HTTP " + std::to_string(resp.status));
    return FromJson(resp.body, "Pod Identity agent");
  }

 private:
  SourceContext ctx_;
};

class ImdsSource final : public CredentialSource {
 public:
  explicit ImdsSource(const SourceContext& ctx) : ctx_(ctx) {}
  std::string name() const override { return "imds"; }

  StatusOr<Credentials> Fetch() override {
    std::string base = ctx_.getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    if (base.empty()) base = "http://169.254.169.254";
    while (!base.empty() && base.back() == '/') base.pop_back();
    http::HttpRequest put{"PUT", base + "/latest/api/token", {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}}, ""};
    put.timeout = std::chrono::seconds(1);
    ASSIGN_OR_RETURN(http::HttpResponse token, ctx_.transport->Send(put));
    if (token.status != 200) return Unavailable("IMDSv2 token: HTTP " + std::to_string(token.status));
    auto get = [&](const std::string& path) -> StatusOr<std::string> {
      http::HttpRequest r{"GET", base + path, {{"X-aws-ec2-metadata-token", token.body}}, ""};
      r.timeout = std::chrono::seconds(1);
      ASSIGN_OR_RETURN(http::HttpResponse resp, ctx_.transport->Send(r));
      if (resp.status != 200) return Unavailable("IMDS " + path + ": HTTP " + std::to_string(resp.status));
      return resp.body;
    };
    ASSIGN_OR_RETURN(std::string roles, get("/latest/meta-data/iam/security-credentials/"));
    std::string role = roles.substr(0, roles.find('\n'));
    if (role.empty()) return Unavailable("IMDS: no instance role attached");
    ASSIGN_OR_RETURN(std::string body, get("/latest/meta-data/iam/security-credentials/" + role));
    return FromJson(body, "IMDS");
  }

 private:
  SourceContext ctx_;
};

}  // namespace

std::string XmlText(std::string_view xml, std::string_view tag) {
  std::string open = "<" + std::string(tag) + ">", close = "</" + std::string(tag) + ">";
  size_t a = xml.find(open);
  if (a == std::string_view::npos) return "";
  a += open.size();
  size_t b = xml.find(close, a);
  return b == std::string_view::npos ? "" : std::string(xml.substr(a, b - a));
}

StatusOr<std::unique_ptr<CredentialSource>> NewWebIdentitySource(const SourceContext& ctx) {
  if (ctx.region.empty() && ctx.getenv("AWS_ENDPOINT_URL_STS").empty() && ctx.getenv("AWS_ENDPOINT_URL").empty())
    return InvalidArgument("IRSA needs a region for the regional STS endpoint: set AWS_REGION or --aws-region");
  return std::unique_ptr<CredentialSource>(new WebIdentitySource(ctx));
}

std::unique_ptr<CredentialSource> NewPodIdentitySource(const SourceContext& ctx) {
  return std::make_unique<PodIdentitySource>(ctx);
}

std::unique_ptr<CredentialSource> NewImdsSource(const SourceContext& ctx) { return std::make_unique<ImdsSource>(ctx); }

}  // namespace ckpt::aws
