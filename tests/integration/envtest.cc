// Starts/stops tests/envtest/control-plane.sh for C++ integration tests (see envtest.h).
#include "integration/envtest.h"

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "ckpt/http/transport.h"
#include "ckpt/kube/config.h"
#include "integration/rbac_audit.h"

namespace ckpt::testing {
namespace {

const std::string kScript = std::string(CKPT_SOURCE_DIR) + "/tests/envtest/control-plane.sh";
const std::string kRbac = std::string(CKPT_SOURCE_DIR) + "/deploy/rbac";
ControlPlane* g_shared = nullptr;

// Runs a shell command; returns its stdout+stderr, or an error carrying them.
StatusOr<std::string> Run(const std::string& cmd) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return Internal("popen failed: " + cmd);
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int rc = pclose(p);
  if (rc != 0) return Internal("`" + cmd + "` failed (" + std::to_string(rc) + "):\n" + out);
  return out;
}

std::map<std::string, std::string> ReadEnvFile(const std::string& path) {
  std::map<std::string, std::string> env;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return env;
}

}  // namespace

StatusOr<std::unique_ptr<ControlPlane>> ControlPlane::Start(const Options& options) {
  std::unique_ptr<ControlPlane> cp(new ControlPlane());
  cp->trainer_version_ = options.trainer_version;
  if (cp->trainer_version_.empty() && std::getenv("CKPT_TRAINER_VERSION"))
    cp->trainer_version_ = std::getenv("CKPT_TRAINER_VERSION");
  if (cp->trainer_version_.empty()) cp->trainer_version_ = "v2.3.0";
  std::string tmpl = (std::filesystem::temp_directory_path() / "ckpt-envtest-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) return Internal("mkdtemp failed");
  cp->dir_ = tmpl;
  auto t0 = std::chrono::steady_clock::now();
  auto out = Run("bash " + kScript + " start " + cp->dir_ + " --trainer " + cp->trainer_version_ +
                 " --owner-pid " + std::to_string(getpid()) + (std::getenv("CKPT_ENVTEST_NO_CRDS") ? " --no-crds" : "") +
                 (std::getenv("CKPT_ENVTEST_TRAINING_STACK") ? " --training-stack" : ""));
  if (!out.ok()) return out.status();
  auto env = ReadEnvFile(cp->dir_ + "/env");
  cp->api_url_ = env["CKPT_APISERVER_URL"];
  cp->etcd_url_ = env["CKPT_ETCD_URL"];
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cerr << "[envtest] control plane (Trainer " << cp->trainer_version_ << ") ready in " << secs << "s at "
            << cp->api_url_ << "\n";
  return cp;
}

ControlPlane::~ControlPlane() {
  (void)Run("bash " + kScript + " stop " + dir_);
  std::error_code ec;
  if (!std::getenv("CKPT_ENVTEST_KEEP")) std::filesystem::remove_all(dir_, ec);
}

kube::ClientConfig ControlPlane::client_config() const {
  auto c = kube::LoadKubeconfig(kubeconfig());
  if (!c.ok()) {
    std::cerr << "[envtest] " << c.status().ToString() << "\n";
    std::abort();  // the harness wrote this file itself: unreadable means a broken harness
  }
  return *c;
}

kube::KubeClientPtr ControlPlane::NewClient() const { return kube::NewRestClient(client_config()); }

Status ControlPlane::RestartApiServer() { return Run("bash " + kScript + " restart-apiserver " + dir_).status(); }
Status ControlPlane::StopApiServer() { return Run("bash " + kScript + " stop-apiserver " + dir_).status(); }
Status ControlPlane::StartApiServer() { return Run("bash " + kScript + " start-apiserver " + dir_).status(); }

StatusOr<int64_t> ControlPlane::CompactEtcd() const {
  auto http = http::NewCurlTransport({});
  auto post = [&](const std::string& path, const std::string& body) -> StatusOr<kube::Json> {
    auto r = http->Send({"POST", etcd_url_ + path, {{"Content-Type", "application/json"}}, body});
    if (!r.ok()) return r.status();
    if (r->status != 200) return Internal("etcd " + path + ": HTTP " + std::to_string(r->status) + " " + r->body);
    return kube::Json::parse(r->body);
  };
  ASSIGN_OR_RETURN(kube::Json range, post("/v3/kv/range", R"({"key":"AA=="})"));
  std::string rev = range["header"]["revision"];
  RETURN_IF_ERROR(post("/v3/kv/compaction", R"({"revision":")" + rev + R"(","physical":true})").status());
  return std::stoll(rev);
}

StatusOr<std::string> ControlPlane::Kubectl(const std::string& args) const {
  auto env = ReadEnvFile(dir_ + "/env");
  return Run(env["BIN"] + "/kubectl --kubeconfig " + kubeconfig() + " " + args);
}

StatusOr<std::string> ControlPlane::ServiceAccountToken(const std::string& name) const {
  (void)Kubectl("create namespace ckpt-system");         // may exist already
  (void)Kubectl("create serviceaccount -n ckpt-system " + name);
  ASSIGN_OR_RETURN(std::string token, Kubectl("create token " + name + " -n ckpt-system --duration=24h"));
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  return token;
}

StatusOr<std::string> ControlPlane::OperatorToken() {
  if (!operator_token_.empty()) return operator_token_;
  (void)Kubectl("create namespace ckpt-system");
  RETURN_IF_ERROR(Kubectl("apply -k " + kRbac).status());
  ASSIGN_OR_RETURN(operator_token_, ServiceAccountToken("ckpt-operator"));
  return operator_token_;
}

StatusOr<kube::KubeClientPtr> ControlPlane::NewOperatorClient() {
  ASSIGN_OR_RETURN(std::string token, OperatorToken());
  kube::ClientConfig config = client_config();
  config.bearer_token = token;
  return kube::NewRestClient(config);
}

StatusOr<std::string> ControlPlane::KubeconfigWithToken(const std::string& token, const std::string& file_name) const {
  std::ifstream in(kubeconfig());
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string admin = ReadEnvFile(dir_ + "/env")["CKPT_ADMIN_TOKEN"];
  auto at = text.find(admin);
  if (admin.empty() || at == std::string::npos) return Internal("admin token not found in " + kubeconfig());
  text.replace(at, admin.size(), token);
  const std::string path = dir_ + "/" + file_name;
  std::ofstream(path) << text;
  return path;
}

StatusOr<std::string> ControlPlane::OperatorKubeconfig() {
  ASSIGN_OR_RETURN(std::string token, OperatorToken());
  return KubeconfigWithToken(token, "operator.kubeconfig");
}

namespace {

// After the tests: every call the operator's ServiceAccount made must have been allowed. The
// calls are saved under $CKPT_RBAC_USAGE_DIR for rbac_least_privilege_test, which checks that
// deploy/rbac grants nothing the suite never used.
bool CheckOperatorCalls(const ControlPlane& cp, const std::string& binary) {
  auto audit = ReadAudit(cp.dir() + "/audit.log", kOperatorUser);
  if (!audit.ok() || (audit->allowed.empty() && audit->denied.empty())) return true;
  for (const auto& d : audit->denied) std::cerr << "[rbac] FORBIDDEN for the operator: " << d << "\n";
  for (const auto& d : audit->refused_while_granted)
    std::cerr << "[rbac] refused, though allowed before and after (an API server start): " << d << "\n";
  std::cerr << "[rbac] the operator made " << audit->allowed.size() << " distinct kinds of call; "
            << audit->denied.size() << " forbidden\n";
  if (const char* dir = std::getenv("CKPT_RBAC_USAGE_DIR")) {
    std::filesystem::create_directories(dir);
    std::ofstream out(std::string(dir) + "/" + binary + "-" + cp.trainer_version() + ".tsv");
    for (const auto& c : audit->allowed) out << c.ToString() << "\n";
  }
  return audit->denied.empty();
}

// After the tests: every log file of this control plane (its components', the daemons' the tests
// started) is copied under $CKPT_TEST_LOG_DIR/<binary>-<trainer>/, and the credentials it issued
// (the admin's static token, the operator's ServiceAccount token) are appended to
// $CKPT_TEST_LOG_DIR/known-secrets, so tests/log_secrets_test.sh can check that no log carries one.
void KeepLogs(const ControlPlane& cp, const std::string& binary, const std::string& operator_token) {
  const char* root = std::getenv("CKPT_TEST_LOG_DIR");
  if (!root) return;
  namespace fs = std::filesystem;
  const fs::path into = fs::path(root) / (binary + "-" + cp.trainer_version());
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(cp.dir(), ec); !ec && it != fs::recursive_directory_iterator(); ++it) {
    if (!it->is_regular_file() || it->path().extension() != ".log") continue;
    fs::path target = into / fs::relative(it->path(), cp.dir());
    fs::create_directories(target.parent_path(), ec);
    fs::copy_file(it->path(), target, fs::copy_options::overwrite_existing, ec);
  }
  std::ofstream secrets(fs::path(root) / "known-secrets", std::ios::app);
  std::ifstream tokens(cp.dir() + "/tokens.csv");
  for (std::string line; std::getline(tokens, line);) secrets << line.substr(0, line.find(',')) << "\n";
  if (!operator_token.empty()) secrets << operator_token << "\n";
}

}  // namespace

ControlPlane& Envtest() {
  if (!g_shared) {
    std::cerr << "[envtest] no shared control plane: use CKPT_ENVTEST_MAIN()\n";
    std::abort();
  }
  return *g_shared;
}

int RunWithEnvtest(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  auto cp = ControlPlane::Start({});
  if (!cp.ok()) {
    std::cerr << "[envtest] failed to start the control plane: " << cp.status().ToString() << "\n";
    return 1;
  }
  g_shared = cp->get();
  int rc = RUN_ALL_TESTS();
  const std::string binary = std::filesystem::path(argv[0]).filename().string();
  if (!CheckOperatorCalls(**cp, binary)) rc = 1;
  KeepLogs(**cp, binary, (*cp)->KnownOperatorToken());
  g_shared = nullptr;
  return rc;
}

}  // namespace ckpt::testing
