// A real, throw-away Kubernetes control plane for C++ integration tests: etcd, kube-apiserver and
// kube-controller-manager started on loopback by tests/envtest/control-plane.sh with our CRDs and
// the upstream Kubeflow Trainer + JobSet CRDs installed. One line in a test file,
//   CKPT_ENVTEST_MAIN();
// starts it once for the binary; tests then call ckpt::testing::Envtest() for the kubeconfig,
// an admin client, or to restart the API server. The Trainer CRD version comes from
// $CKPT_TRAINER_VERSION (v2.1.0 or v2.3.0; default v2.3.0). With $CKPT_ENVTEST_NO_CRDS set, no CRDs
// are installed (a cluster without Kubeflow Trainer; the test installs what it needs). With
// $CKPT_ENVTEST_TRAINING_STACK set, the real training stack runs too: Trainer + JobSet controllers
// with their webhooks, kube-scheduler and kwok's simulated GPU nodes.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "ckpt/common/status.h"
#include "ckpt/kube/client.h"

namespace ckpt::testing {

class ControlPlane {
 public:
  struct Options {
    std::string trainer_version;  // "" = $CKPT_TRAINER_VERSION or v2.3.0
  };

  // Starts a control plane in a fresh temporary directory. Blocks until the API server is ready
  // and all CRDs are Established. The control plane stops when this object is destroyed, and a
  // watchdog stops it if the process dies first.
  static StatusOr<std::unique_ptr<ControlPlane>> Start(const Options& options);
  ~ControlPlane();

  const std::string& dir() const { return dir_; }
  std::string kubeconfig() const { return dir_ + "/kubeconfig"; }
  const std::string& trainer_version() const { return trainer_version_; }
  const std::string& api_url() const { return api_url_; }
  const std::string& etcd_url() const { return etcd_url_; }
  kube::ClientConfig client_config() const;
  // A new admin client for this control plane.
  kube::KubeClientPtr NewClient() const;

  // Stops and restarts kube-apiserver on the same port and etcd data.
  Status RestartApiServer();
  // An outage: kube-apiserver stopped (etcd and everything else keep running), then started again
  // on the same port, certificates and etcd data once it answers.
  Status StopApiServer();
  Status StartApiServer();
  // Compacts etcd's history up to its current revision (through etcd's JSON gateway) and returns
  // that revision: watches resuming from an older resourceVersion then get 410 Gone.
  StatusOr<int64_t> CompactEtcd() const;
  // Runs `kubectl <args>` against this control plane; returns its combined output.
  StatusOr<std::string> Kubectl(const std::string& args) const;

  // The operator's real identity: installs deploy/rbac (namespace ckpt-system, ServiceAccount
  // ckpt-operator and its roles) on first use, then returns a client, or a kubeconfig file for
  // the daemon binary, authenticated with a token of that ServiceAccount. Its calls are audited,
  // and RunWithEnvtest fails the binary if any was forbidden.
  StatusOr<kube::KubeClientPtr> NewOperatorClient();
  StatusOr<std::string> OperatorKubeconfig();
  // A kubeconfig file (in dir()) that authenticates with `token` instead of the admin's.
  StatusOr<std::string> KubeconfigWithToken(const std::string& token, const std::string& file_name) const;
  // A token for ServiceAccount ckpt-system/`name`, creating the namespace and account if missing.
  StatusOr<std::string> ServiceAccountToken(const std::string& name) const;
  // The operator's token if one was issued ("" otherwise).
  const std::string& KnownOperatorToken() const { return operator_token_; }

 private:
  ControlPlane() = default;
  StatusOr<std::string> OperatorToken();
  std::string dir_, trainer_version_, api_url_, etcd_url_, operator_token_;
};

// The control plane shared by all tests of one binary (see CKPT_ENVTEST_MAIN).
ControlPlane& Envtest();

// Runs the binary's tests against one shared control plane.
int RunWithEnvtest(int argc, char** argv);

}  // namespace ckpt::testing

#define CKPT_ENVTEST_MAIN() \
  int main(int argc, char** argv) { return ::ckpt::testing::RunWithEnvtest(argc, argv); }
