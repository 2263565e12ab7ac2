// lease_candidate: a process that campaigns for a Lease with LeaderElector, for the two-process
// leader election test. While it leads it keeps the file <state-dir>/<identity>.leading present.
//   lease_candidate KUBECONFIG STATE_DIR IDENTITY LEASE_NAME
#include <fstream>
#include <iostream>
#include <thread>

#include "ckpt/kube/client.h"
#include "ckpt/runtime/leader_election.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: lease_candidate KUBECONFIG STATE_DIR IDENTITY LEASE_NAME\n";
    return 2;
  }
  auto config = ckpt::kube::LoadKubeconfig(argv[1]);
  if (!config.ok()) {
    std::cerr << config.status().ToString() << "\n";
    return 2;
  }
  auto client = ckpt::kube::NewRestClient(*config);
  std::string marker = std::string(argv[2]) + "/" + argv[3] + ".leading";
  ckpt::runtime::LeaderElector elector(*client, {"default", argv[4], argv[3]}, ckpt::SystemClock());
  std::stop_source never;
  elector.Run(never.get_token(), [&] { std::ofstream(marker) << argv[3]; }, [] { std::_Exit(1); });
  return 0;
}
