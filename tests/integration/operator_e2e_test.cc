// The shipped pieces end to end on a real API server: `kubectl apply -k deploy/default` installs
// the CRDs, namespace, RBAC, Deployment and Service; then the real ckpt-operator binary runs as
// the ServiceAccount that RBAC grants (leader election on, FSx emulator as its AWS endpoint), and
// the sample manifests from deploy/samples converge: store Ready with its claim Bound by the real
// PV binder, TrainRun Running once its pods run under the real Trainer and JobSet controllers on
// simulated GPU nodes (the control plane's training stack). It checks the probes, metrics, the Lease, log
// lines carrying the reconcile context, deletion, and a SIGTERM that exits 0 and frees the Lease.
#include <signal.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "ckpt/emulator/fsx_emulator.h"
#include "ckpt/http/transport.h"
#include "integration/envtest.h"
#include "integration/operator_process.h"
#include "integration/rbac_audit.h"
#include "integration/test_objects.h"

namespace ckpt {
namespace {

namespace fs = std::filesystem;
namespace res = kube::resources;
using kube::Json;
using testing::Eventually;
using namespace std::chrono_literals;

constexpr char kNs[] = "e2e";
// Resources only this test reads (the operator itself never touches them).
const kube::Resource kDeployments{"apps", "v1", "deployments", "Deployment", true};
const kube::Resource kServiceAccounts{"", "v1", "serviceaccounts", "ServiceAccount", true};
const kube::Resource kServices{"", "v1", "services", "Service", true};
const kube::Resource kClusterRoles{"rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false};
const std::string kSource = CKPT_SOURCE_DIR;

using testing::HttpGet;
using testing::PortFromLog;
using testing::ReadFile;

// The daemon as a child process, its stdout+stderr in `log`.
pid_t StartOperator(const std::string& kubeconfig, const std::string& fsx_url, const std::string& log,
                    std::vector<std::string> extra = {}, const std::string& identity = "e2e-operator") {
  std::vector<std::string> args = testing::DaemonArgs(
      kubeconfig, fsx_url, {"--trainrun-poll-interval", "1s", "--leader-election-identity", identity});
  args.insert(args.end(), extra.begin(), extra.end());
  pid_t pid = testing::SpawnOperator(CKPT_OPERATOR_BINARY, args, log);
  EXPECT_GT(pid, 0);
  return pid;
}

class OperatorEndToEndTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    emulator::FsxEmulatorOptions o;
    o.create_time = o.update_time = o.delete_time = o.association_time = 1s;
    emulator_ = std::move(emulator::StartFsxEmulator(o)).value().release();
    client_ = testing::Envtest().NewClient().release();
  }
  static void TearDownTestSuite() {
    if (pid_ > 0) kill(pid_, SIGKILL), waitpid(pid_, nullptr, 0);
  }
  static std::string Field(const kube::Resource& r, const std::string& name, const std::string& pointer) {
    auto o = client_->Get(r, kNs, name);
    return o.ok() ? o->value(Json::json_pointer(pointer), std::string()) : "";
  }
  static inline emulator::FsxEmulator* emulator_ = nullptr;
  static inline kube::KubeClient* client_ = nullptr;
  static inline pid_t pid_ = 0;
  static inline std::string log_;
};

TEST_F(OperatorEndToEndTest, KustomizeInstallsTheOperatorsObjects) {
  auto applied = testing::Envtest().Kubectl("apply -k " + kSource + "/deploy/default");
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  std::cerr << *applied;
  // ckpt-system enforces (and warns on) the "restricted" Pod Security level: our pod template passes.
  EXPECT_EQ(applied->find("would violate PodSecurity"), std::string::npos) << *applied;
  auto deploy = client_->Get(kDeployments, "ckpt-system", "ckpt-operator");
  ASSERT_TRUE(deploy.ok()) << deploy.status().ToString();
  EXPECT_EQ((*deploy)["spec"]["replicas"], 2);
  const Json& pod = (*deploy)["spec"]["template"]["spec"];
  EXPECT_EQ(pod["serviceAccountName"], "ckpt-operator");
  EXPECT_EQ(pod["securityContext"]["runAsNonRoot"], true);
  EXPECT_EQ(pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"], true);
  for (const auto& [r, ns, name] : {std::tuple{kServiceAccounts, "ckpt-system", "ckpt-operator"},
                                   {kServices, "ckpt-system", "ckpt-operator-metrics"},
                                   {kClusterRoles, "", "ckpt-operator"}})
    EXPECT_TRUE(client_->Get(r, ns, name).ok()) << name;

  // The example EKS overlay (image, region, IRSA role) renders and the API server accepts it.
  auto overlay = testing::Envtest().Kubectl("apply -k " + kSource + "/deploy/overlays/eks --dry-run=server");
  ASSERT_TRUE(overlay.ok()) << overlay.status().ToString();
  auto rendered = testing::Envtest().Kubectl("kustomize " + kSource + "/deploy/overlays/eks");
  ASSERT_TRUE(rendered.ok());
  EXPECT_NE(rendered->find("eks.amazonaws.com/role-arn: arn:aws:iam::"), std::string::npos);
  EXPECT_NE(rendered->find("image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/ckpt-operator:0.1.0"), std::string::npos);
}

TEST_F(OperatorEndToEndTest, BinaryRunsTheSamplesToConvergenceAsItsServiceAccount) {
  auto kubeconfig = testing::Envtest().OperatorKubeconfig();
  ASSERT_TRUE(kubeconfig.ok()) << kubeconfig.status().ToString();
  (void)client_->Create(res::Namespaces(), "", Json{{"metadata", {{"name", kNs}}}});
  log_ = testing::Envtest().dir() + "/operator.log";
  pid_ = StartOperator(*kubeconfig, emulator_->url(), log_);
  auto samples = testing::Envtest().Kubectl("apply -k " + kSource + "/deploy/samples -n " + kNs);
  ASSERT_TRUE(samples.ok()) << samples.status().ToString();

  ASSERT_TRUE(Eventually([] { return Field(res::CheckpointStores(), "workshop", "/status/phase") == "Ready"; }, 90s))
      << ReadFile(log_);
  EXPECT_TRUE(Eventually([] { return Field(res::PersistentVolumeClaims(), "workshop-ckpt", "/status/phase") == "Bound"; }, 30s));
  ASSERT_TRUE(Eventually([] { return Field(res::TrainRuns(), "llama-finetune", "/status/phase") == "Running"; }, 60s));
  EXPECT_EQ((*client_->Get(res::TrainRuns(), kNs, "llama-finetune"))["status"]["runningPods"], 2)
      << "the sample's two nodes run";
  auto job = client_->Get(res::TrainJobs(), kNs, "llama-finetune");
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(emulator_->FileSystemCount(), 1u);

  auto lease = client_->Get(res::Leases(), "ckpt-system", "ckpt-operator");
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ((*lease)["spec"]["holderIdentity"], "e2e-operator");
  EXPECT_NE(ReadFile(log_).find("[checkpointstore e2e/workshop #"), std::string::npos) << "log lines carry the reconcile";
  std::string status = ReadFile("/proc/" + std::to_string(pid_) + "/status");
  std::smatch rss;
  if (std::regex_search(status, rss, std::regex("VmRSS:\\s+(\\d+) kB")))
    std::cerr << "[e2e] operator RSS after converging 1 store + 1 run (8 caches, 2 controllers): "
              << std::stoi(rss[1]) / 1024.0 << " MB\n";
}

TEST_F(OperatorEndToEndTest, ProbesAndMetricsServe) {
  ASSERT_GT(pid_, 0);
  int probes = PortFromLog(log_, "probes"), metrics = PortFromLog(log_, "metrics");
  ASSERT_GT(probes, 0) << ReadFile(log_);
  ASSERT_GT(metrics, 0);
  auto ready = HttpGet(probes, "/readyz");
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(ready->status, 200);
  auto m = HttpGet(metrics, "/metrics");
  ASSERT_TRUE(m.ok());
  EXPECT_NE(m->body.find("fsx_api_requests_total{code=\"OK\",op=\"CreateFileSystem\"} 1"), std::string::npos) << m->body;
  EXPECT_NE(m->body.find("controller_runtime_reconcile_total{controller=\"trainrun\""), std::string::npos);
  EXPECT_NE(m->body.find("rest_client_requests_total"), std::string::npos);
  EXPECT_NE(m->body.find(R"(leader_election_master_status{name="ckpt-operator"} 1)"), std::string::npos);
  EXPECT_NE(m->body.find(R"(ckpt_objects{kind="CheckpointStore",phase="Ready"} 1)"), std::string::npos);
  EXPECT_NE(m->body.find(R"(ckpt_checkpointstore_ready{name="workshop",namespace=")"), std::string::npos) << m->body;
  EXPECT_NE(m->body.find(R"(ckpt_trainrun_restarts{name="llama-finetune",namespace=")"), std::string::npos);
  // docs/metrics.md stays true: every metric it lists is exposed.
  std::string doc = ReadFile(kSource + "/docs/metrics.md");
  std::regex row("\\n\\| `([a-z_]+)` \\|");
  int listed = 0;
  for (std::sregex_iterator it(doc.begin(), doc.end(), row), end; it != end; ++it, ++listed)
    EXPECT_NE(m->body.find("# TYPE " + (*it)[1].str() + " "), std::string::npos) << (*it)[1] << " is documented but not exposed";
  EXPECT_GE(listed, 15);
}

// The Deployment's second replica: warm caches, no reconciles while the first leads; SIGTERM of
// the leader releases the Lease and the standby takes over within its retry period.
TEST_F(OperatorEndToEndTest, AStandbyReplicaTakesOverWhenTheLeaderIsTerminated) {
  ASSERT_GT(pid_, 0);
  auto kubeconfig = testing::Envtest().OperatorKubeconfig();
  ASSERT_TRUE(kubeconfig.ok());
  const std::string standby_log = testing::Envtest().dir() + "/standby.log";
  pid_t standby = StartOperator(*kubeconfig, emulator_->url(), standby_log, {}, "e2e-standby");
  ASSERT_TRUE(Eventually([&] { return ReadFile(standby_log).find("caches synced") != std::string::npos; }, 30s));
  std::this_thread::sleep_for(3s);  // more than one retry period: it must stay a standby
  EXPECT_EQ(ReadFile(standby_log).find("became leader"), std::string::npos) << ReadFile(standby_log);
  EXPECT_EQ(ReadFile(standby_log).find("[checkpointstore"), std::string::npos) << "a standby does not reconcile";

  auto terminated_at = std::chrono::steady_clock::now();
  EXPECT_EQ(testing::StopOperator(pid_), 0) << ReadFile(log_);
  pid_ = standby;
  log_ = standby_log;
  ASSERT_TRUE(Eventually([] {
    auto lease = client_->Get(res::Leases(), "ckpt-system", "ckpt-operator");
    return lease.ok() && (*lease)["spec"].value("holderIdentity", "") == "e2e-standby";
  }, 14s)) << "a released lease is taken before it could have expired (15 s)";
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - terminated_at).count();
  std::cerr << "[e2e] handover to the standby after SIGTERM of the leader: " << took << "s\n";
}

TEST_F(OperatorEndToEndTest, DeletingTheRunThenTheStoreCleansUpAndSigtermFreesTheLease) {
  ASSERT_GT(pid_, 0);
  ASSERT_TRUE(client_->Delete(res::TrainRuns(), kNs, "llama-finetune").ok());
  auto store = client_->Patch(res::CheckpointStores(), kNs, "workshop", {kube::PatchType::kMerge},
                              R"({"spec": {"deletionPolicy": "Delete"}})");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE(client_->Delete(res::CheckpointStores(), kNs, "workshop").ok());
  EXPECT_TRUE(Eventually([] { return client_->Get(res::CheckpointStores(), kNs, "workshop").status().IsNotFound(); }, 60s))
      << ReadFile(log_);
  EXPECT_TRUE(Eventually([] { return emulator_->FileSystemCount() == 0; }, 30s));

  EXPECT_EQ(testing::StopOperator(pid_), 0) << ReadFile(log_);
  pid_ = 0;
  auto lease = client_->Get(res::Leases(), "ckpt-system", "ckpt-operator");
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ((*lease)["spec"].value("holderIdentity", ""), "") << "released on SIGTERM";
}

// The RBAC evidence is only as good as its detector: a forbidden call must show up as denied.
TEST_F(OperatorEndToEndTest, AuditDetectorSeesAForbiddenCall) {
  auto& cp = testing::Envtest();
  auto token = cp.ServiceAccountToken("rbac-probe");
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  kube::ClientConfig config = cp.client_config();
  config.bearer_token = *token;
  auto probe = kube::NewRestClient(config);
  kube::Resource secrets{"", "v1", "secrets", "Secret", true};
  EXPECT_TRUE(probe->List(secrets, "default", {}).status().IsForbidden());
  auto audit = testing::ReadAudit(cp.dir() + "/audit.log", "system:serviceaccount:ckpt-system:rbac-probe");
  ASSERT_TRUE(audit.ok()) << audit.status().ToString();
  ASSERT_EQ(audit->denied.size(), 1u);
  EXPECT_NE(audit->denied[0].find("core secrets list"), std::string::npos) << audit->denied[0];
}

// Missing permissions are loud: the log names the resource and the refusal, /readyz stays 503, and
// the process gives up with exit code 1 when its caches cannot sync.
TEST_F(OperatorEndToEndTest, WithoutRbacTheLogSaysWhatIsForbiddenAndItExits) {
  auto token = testing::Envtest().ServiceAccountToken("no-rbac");
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  auto kubeconfig = testing::Envtest().KubeconfigWithToken(*token, "no-rbac.kubeconfig");
  ASSERT_TRUE(kubeconfig.ok());
  const std::string log = testing::Envtest().dir() + "/no-rbac.log";
  pid_t pid = StartOperator(*kubeconfig, emulator_->url(), log, {"--leader-elect=false", "--cache-sync-timeout", "3s"});
  int wstatus = 0;
  ASSERT_TRUE(Eventually([&] { return waitpid(pid, &wstatus, WNOHANG) == pid; }, 30s)) << ReadFile(log);
  EXPECT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 1);
  std::string text = ReadFile(log);
  EXPECT_NE(text.find("list checkpointstores in all namespaces: Forbidden"), std::string::npos) << text;
  EXPECT_NE(text.find("cache did not sync within 3s"), std::string::npos) << text;
}

// --namespaces limits the operator to a list: runs there are reconciled, a run elsewhere is not.
TEST_F(OperatorEndToEndTest, NamespaceListScopesWhatTheOperatorReconciles) {
  for (const char* ns : {"team-a", "team-b", "outside"}) {
    ASSERT_TRUE(client_->Create(res::Namespaces(), "", Json{{"metadata", {{"name", ns}}}}).ok());
    Json run = {{"apiVersion", "trainops.io/v1alpha1"}, {"kind", "TrainRun"}, {"metadata", {{"name", "r"}, {"namespace", ns}}},
           {"spec", {{"checkpointStore", "absent"}, {"runtimeRef", {{"name", "torch-distributed"}}},
                     {"trainer", {{"image", "my/train:1"}}}}}};
    ASSERT_TRUE(client_->Create(res::TrainRuns(), ns, run).ok());
  }
  auto kubeconfig = testing::Envtest().OperatorKubeconfig();
  ASSERT_TRUE(kubeconfig.ok());
  const std::string log = testing::Envtest().dir() + "/scoped.log";
  pid_t pid = StartOperator(*kubeconfig, emulator_->url(), log, {"--leader-elect=false", "--namespaces", "team-a,team-b"});
  auto phase = [](const char* ns) {
    auto r = client_->Get(res::TrainRuns(), ns, "r");
    return r.ok() ? r->value("/status/phase"_json_pointer, std::string()) : "";
  };
  EXPECT_TRUE(Eventually([&] { return phase("team-a") == "WaitingForStore" && phase("team-b") == "WaitingForStore"; }, 30s))
      << ReadFile(log);
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(phase("outside"), "") << "a namespace off the list is never touched";
  EXPECT_EQ(testing::StopOperator(pid), 0) << ReadFile(log);
}

}  // namespace
}  // namespace ckpt

CKPT_ENVTEST_MAIN();
