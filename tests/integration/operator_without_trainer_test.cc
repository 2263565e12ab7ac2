// A cluster without Kubeflow Trainer: only `kubectl apply -k deploy/default` (our CRDs) is
// installed. With --controllers=checkpointstore the daemon needs nothing else and runs the sample
// store to Ready; with both controllers it says which resource is missing and exits 1 instead of
// hanging unready.
#include <signal.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <cstdlib>

#include "ckpt/emulator/fsx_emulator.h"
#include "integration/envtest.h"
#include "integration/operator_process.h"
#include "integration/test_objects.h"

namespace ckpt {
namespace {

namespace res = kube::resources;
using namespace std::chrono_literals;
const std::string kSource = CKPT_SOURCE_DIR;

using testing::ReadFile;

pid_t StartOperator(const std::string& fsx_url, const std::string& log, std::vector<std::string> extra) {
  auto kubeconfig = testing::Envtest().OperatorKubeconfig();
  EXPECT_TRUE(kubeconfig.ok()) << kubeconfig.status().ToString();
  std::vector<std::string> args = testing::DaemonArgs(kubeconfig.ok() ? *kubeconfig : "", fsx_url, {"--leader-elect=false"});
  args.insert(args.end(), extra.begin(), extra.end());
  pid_t pid = testing::SpawnOperator(CKPT_OPERATOR_BINARY, args, log);
  EXPECT_GT(pid, 0);
  return pid;
}

class WithoutTrainerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto& cp = testing::Envtest();
    auto applied = cp.Kubectl("apply -k " + kSource + "/deploy/default");
    ASSERT_TRUE(applied.ok()) << applied.status().ToString();
    ASSERT_TRUE(cp.Kubectl("wait --for condition=Established --timeout 60s crd/checkpointstores.trainops.io "
                           "crd/trainruns.trainops.io").ok());
    emulator::FsxEmulatorOptions o;
    o.create_time = o.update_time = o.delete_time = o.association_time = 1s;
    emulator_ = std::move(emulator::StartFsxEmulator(o)).value().release();
  }
  static inline emulator::FsxEmulator* emulator_ = nullptr;
};

TEST_F(WithoutTrainerTest, BothControllersSayWhatIsMissingAndExit) {
  const std::string log = testing::Envtest().dir() + "/both.log";
  pid_t pid = StartOperator(emulator_->url(), log, {"--cache-sync-timeout", "3s"});
  int wstatus = 0;
  ASSERT_TRUE(testing::Eventually([&] { return waitpid(pid, &wstatus, WNOHANG) == pid; }, 30s)) << ReadFile(log);
  EXPECT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 1);
  std::string text = ReadFile(log);
  EXPECT_NE(text.find("list trainjobs in all namespaces: NotFound"), std::string::npos) << text;
}

TEST_F(WithoutTrainerTest, TheStoreControllerAloneRunsTheSampleStore) {
  auto client = testing::Envtest().NewClient();
  ASSERT_TRUE(testing::Envtest().Kubectl("apply -f " + kSource + "/deploy/samples/checkpointstore.yaml").ok());
  const std::string log = testing::Envtest().dir() + "/stores-only.log";
  pid_t pid = StartOperator(emulator_->url(), log, {"--controllers", "checkpointstore"});
  auto ready = [&] {
    auto s = client->Get(res::CheckpointStores(), "default", "workshop");
    return s.ok() && s->value("/status/phase"_json_pointer, std::string()) == "Ready";
  };
  EXPECT_TRUE(testing::Eventually(ready, 60s)) << ReadFile(log);
  EXPECT_EQ(testing::StopOperator(pid), 0) << ReadFile(log);
}

}  // namespace
}  // namespace ckpt

int main(int argc, char** argv) {
  setenv("CKPT_ENVTEST_NO_CRDS", "1", 1);  // this binary's control plane starts without any CRD
  return ckpt::testing::RunWithEnvtest(argc, argv);
}
