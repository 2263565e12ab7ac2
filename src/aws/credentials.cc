// Credential sources and the refreshing cache (see include/ckpt/aws/credentials.h).
#include "ckpt/aws/credentials.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>

#include "aws/credential_sources.h"

namespace ckpt::aws {
namespace {

constexpr auto kRefreshWindow = std::chrono::minutes(5);

class EnvProvider final : public CredentialsProvider {
 public:
  explicit EnvProvider(Credentials c) : creds_(std::move(c)) {}
  StatusOr<Credentials> Get() override { return creds_; }
  std::string source() const override { return "environment"; }

 private:
  const Credentials creds_;
};

// Caches a temporary-credential source; refreshes inside the window before expiry.
class CachingProvider final : public CredentialsProvider {
 public:
  CachingProvider(std::unique_ptr<CredentialSource> src, Clock& clock) : src_(std::move(src)), clock_(clock) {}

  StatusOr<Credentials> Get() override {
    std::lock_guard<std::mutex> l(mu_);
    auto now = clock_.Now();
    bool fresh = cached_ && (!cached_->expiration || now + kRefreshWindow < *cached_->expiration);
    if (fresh) return *cached_;
    auto got = src_->Fetch();
    if (got.ok()) {
      cached_ = *got;
      return *cached_;
    }
    if (cached_ && cached_->expiration && now < *cached_->expiration) {
      spdlog::warn("aws credentials ({}): refresh failed, using cached ones until they expire: {}", source(),
                   got.status().ToString());
      return *cached_;
    }
    return got.status();
  }
  std::string source() const override { return src_->name(); }

 private:
  std::unique_ptr<CredentialSource> src_;
  Clock& clock_;
  std::mutex mu_;
  std::optional<Credentials> cached_;  // guarded by mu_
};

}  // namespace

std::string RegionFromEnvironment(const GetEnv& getenv) {
  std::string r = getenv("AWS_REGION");
  return r.empty() ? getenv("AWS_DEFAULT_REGION") : r;
}

StatusOr<CredentialsProviderPtr> NewDefaultCredentialsChain(CredentialsOptions o) {
  if (!o.getenv) o.getenv = [](const char* n) { const char* v = std::getenv(n); return std::string(v ? v : ""); };
  Clock& clock = o.clock ? *o.clock : SystemClock();
  SourceContext ctx{o.getenv, o.transport, clock, o.region.empty() ? RegionFromEnvironment(o.getenv) : o.region};
  if (!o.transport) {
    ctx.owned_transport = std::shared_ptr<http::HttpTransport>(http::NewCurlTransport({}));
    ctx.transport = ctx.owned_transport.get();
  }
  std::string key = o.getenv("AWS_ACCESS_KEY_ID"), secret = o.getenv("AWS_SECRET_ACCESS_KEY");
  if (!key.empty() && !secret.empty())
    return CredentialsProviderPtr(new EnvProvider({key, secret, o.getenv("AWS_SESSION_TOKEN"), std::nullopt}));
  std::unique_ptr<CredentialSource> src;
  if (!o.getenv("AWS_ROLE_ARN").empty() && !o.getenv("AWS_WEB_IDENTITY_TOKEN_FILE").empty()) {
    ASSIGN_OR_RETURN(src, NewWebIdentitySource(ctx));
  } else if (!o.getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI").empty()) {
    src = NewPodIdentitySource(ctx);
  } else if (o.getenv("AWS_EC2_METADATA_DISABLED") != "true") {
    src = NewImdsSource(ctx);
  } else {
    return NotFound("no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, IRSA (AWS_ROLE_ARN + "
                    "AWS_WEB_IDENTITY_TOKEN_FILE), Pod Identity (AWS_CONTAINER_CREDENTIALS_FULL_URI), or enable IMDS");
  }
  return CredentialsProviderPtr(new CachingProvider(std::move(src), clock));
}

}  // namespace ckpt::aws
