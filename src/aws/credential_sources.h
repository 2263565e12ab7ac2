// Remote sources of temporary AWS credentials, each fetched fresh on demand (the cache in
// credentials.cc decides when): STS AssumeRoleWithWebIdentity, the EKS Pod Identity agent, and
// IMDSv2. Internal to src/aws.
#pragma once

#include <memory>
#include <string>

#include "ckpt/aws/credentials.h"

namespace ckpt::aws {

struct SourceContext {
  GetEnv getenv;
  http::HttpTransport* transport;
  Clock& clock;
  std::string region;
  std::shared_ptr<http::HttpTransport> owned_transport;
};

class CredentialSource {
 public:
  virtual ~CredentialSource() = default;
  virtual StatusOr<Credentials> Fetch() = 0;
  virtual std::string name() const = 0;
};

StatusOr<std::unique_ptr<CredentialSource>> NewWebIdentitySource(const SourceContext& ctx);
std::unique_ptr<CredentialSource> NewPodIdentitySource(const SourceContext& ctx);
std::unique_ptr<CredentialSource> NewImdsSource(const SourceContext& ctx);

// The text between <tag> and </tag> in an XML document (first occurrence), or "".
std::string XmlText(std::string_view xml, std::string_view tag);

}  // namespace ckpt::aws
