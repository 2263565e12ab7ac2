// Where AWS credentials come from, in the SDKs' order: environment variables; IRSA web identity
// (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE, exchanged at the regional STS endpoint with
// AssumeRoleWithWebIdentity; the token file is re-read on every refresh); EKS Pod Identity
// (AWS_CONTAINER_CREDENTIALS_FULL_URI + AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE); IMDSv2.
// Temporary credentials are cached and refreshed 5 minutes before they expire; if a refresh
// fails while the cached ones are still valid, those keep being used. Secrets are never logged:
// Credentials has no printer and errors never include them. Providers are thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "ckpt/aws/signer.h"
#include "ckpt/common/clock.h"
#include "ckpt/http/transport.h"

namespace ckpt::aws {

class CredentialsProvider {
 public:
  virtual ~CredentialsProvider() = default;
  virtual StatusOr<Credentials> Get() = 0;
  // Where credentials come from, for logs: "environment", "web-identity", "pod-identity", "imds".
  virtual std::string source() const = 0;
};

using CredentialsProviderPtr = std::unique_ptr<CredentialsProvider>;
using GetEnv = std::function<std::string(const char* name)>;  // "" when unset

struct CredentialsOptions {
  std::string region;            // for the regional STS endpoint
  GetEnv getenv;                 // defaults to the process environment
  http::HttpTransport* transport = nullptr;  // defaults to a libcurl transport
  Clock* clock = nullptr;        // defaults to SystemClock()
};

// The first source the environment configures, wrapped in the refreshing cache.
// Fails with kNotFound naming what was looked for when none is configured.
StatusOr<CredentialsProviderPtr> NewDefaultCredentialsChain(CredentialsOptions options);

// The region from AWS_REGION, then AWS_DEFAULT_REGION; "" when neither is set.
std::string RegionFromEnvironment(const GetEnv& getenv);

}  // namespace ckpt::aws
