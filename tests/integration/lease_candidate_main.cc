// lease_candidate: a Manager process with leader election and one controller, for the
// multi-process tests. The controller runs only on the leader; its reconciler creates
// <state-dir>/<identity>.leading. SIGTERM stops the manager gracefully (drain, release the
// lease, exit 0).
//   lease_candidate KUBECONFIG STATE_DIR IDENTITY LEASE_NAME
#include <fstream>
#include <iostream>

#include "ckpt/kube/client.h"
#include "ckpt/runtime/manager.h"

namespace {

class MarkLeader final : public ckpt::runtime::Reconciler {
 public:
  explicit MarkLeader(std::string path) : path_(std::move(path)) {}
  ckpt::StatusOr<ckpt::runtime::Action> Reconcile(const std::string&) override {
    std::ofstream(path_) << "leading";
    return ckpt::runtime::Action::AwaitChange();
  }

 private:
  std::string path_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: lease_candidate KUBECONFIG STATE_DIR IDENTITY LEASE_NAME\n";
    return 2;
  }
  std::stop_source stop;
  ckpt::runtime::StopOnSignals(stop);
  auto config = ckpt::kube::LoadKubeconfig(argv[1]);
  if (!config.ok()) {
    std::cerr << config.status().ToString() << "\n";
    return 2;
  }
  auto client = ckpt::kube::NewRestClient(*config);
  ckpt::runtime::Metrics metrics;
  MarkLeader reconciler(std::string(argv[2]) + "/" + argv[3] + ".leading");
  ckpt::runtime::Controller controller({"marker", 1}, reconciler, ckpt::SystemClock(), &metrics);
  controller.queue().Add("leader");
  ckpt::runtime::ManagerOptions options{.probe_address = "0", .leader_election = ckpt::runtime::LeaderElectionOptions{"default", argv[4], argv[3]}};
  ckpt::runtime::Manager manager(options, *client, ckpt::SystemClock(), metrics);
  manager.AddController(&controller);
  return manager.Run(stop.get_token());
}
