// Outages, with the real daemon: FSx answering every call with a 5xx for 60 s while stores are
// being created (their status says so, FSx calls stay bounded, everything converges after), 20 s
// of throttling while each store gains an association (the same), and the API server down for 30 s with an etcd compaction
// meanwhile (the daemon's watches resume through 410 Gone and a relist, requests sent while it
// was down stay bounded, and changes made after it returns are reconciled). Prints one line of
// figures per outage.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <thread>

#include "ckpt/emulator/fsx_emulator.h"
#include "integration/envtest.h"
#include "integration/operator_process.h"
#include "integration/test_objects.h"

namespace ckpt {
namespace {

namespace res = kube::resources;
using kube::Json;
using testing::Eventually;
using namespace std::chrono_literals;

constexpr char kNs[] = "outage";
constexpr int kStores = 4;

Json LinkedStore(const std::string& name) {
  Json s = testing::CheckpointStoreObject(kNs, name);
  s["spec"]["dataRepository"] = {{"bucket", "s3://training-ckpt-123456789012"},
                                 {"associations", {{{"path", "/checkpoints"}, {"prefix", name + "/"}, {"export", {"NEW"}}}}}};
  return s;
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

class OperatorOutageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    emulator::FsxEmulatorOptions o;
    o.create_time = o.update_time = o.delete_time = o.association_time = 1s;
    emulator_ = std::move(emulator::StartFsxEmulator(o)).value();
    client_ = testing::Envtest().NewClient();
    (void)client_->Create(res::Namespaces(), "", Json{{"metadata", {{"name", kNs}}}});
    auto kubeconfig = testing::Envtest().OperatorKubeconfig();
    ASSERT_TRUE(kubeconfig.ok()) << kubeconfig.status().ToString();
    log_ = testing::Envtest().dir() + "/operator.log";
    pid_ = testing::SpawnOperator(
        CKPT_OPERATOR_BINARY, testing::DaemonArgs(*kubeconfig, emulator_->url(), {"--leader-elect=false"}),
        log_);
    ASSERT_GT(pid_, 0);
    ASSERT_TRUE(Eventually([&] { return testing::PortFromLog(log_, "metrics") > 0; }, 30s));
  }
  void TearDown() override { EXPECT_EQ(testing::StopOperator(pid_), 0) << "the daemon survived every outage"; }

  Json Ready(const std::string& name) {
    auto s = client_->Get(res::CheckpointStores(), kNs, name);
    if (s.ok())
      for (const auto& c : s->value("/status/conditions"_json_pointer, Json::array()))
        if (c["type"] == "Ready") return c;
    return Json::object();
  }
  bool AllReady() {
    for (int i = 0; i < kStores; ++i)
      if (Ready("s" + std::to_string(i)).value("status", "") != "True") return false;
    return true;
  }
  bool AllSay(const std::string& reason) {
    for (int i = 0; i < kStores; ++i)
      if (Ready("s" + std::to_string(i)).value("reason", "") != reason) return false;
    return true;
  }
  int FsxCalls() {
    int n = 0;
    for (const auto& [op, count] : emulator_->CallCounts()) n += count;
    return n;
  }
  double Metric(const std::string& name, const std::string& filter = "") {
    auto r = testing::HttpGet(testing::PortFromLog(log_, "metrics"), "/metrics");
    return r.ok() ? testing::MetricSum(r->body, name, filter) : -1;
  }
  // Holds an FSx fault for `hold`, running `provoke` once it is set (work that needs FSx), and
  // reports: seconds until every store's Ready condition named `reason`, FSx calls while it
  // lasted, and seconds from its end until every store was Ready again.
  template <typename Fn>
  void FsxOutage(const std::string& what, emulator::Faults fault, const std::string& reason, std::chrono::seconds hold,
                 Fn provoke) {
    const auto start = std::chrono::steady_clock::now();
    const int before = FsxCalls();
    emulator_->SetFaults(fault);
    provoke();
    const bool said = Eventually([&] { return AllSay(reason); }, hold - 2s);
    const double said_after = Seconds(start);
    while (std::chrono::steady_clock::now() < start + hold) std::this_thread::sleep_for(100ms);
    const int calls = FsxCalls() - before;
    emulator_->SetFaults({});
    const auto healed = std::chrono::steady_clock::now();
    const bool recovered = Eventually([&] { return AllReady(); }, 120s);
    const double per_store_minute = calls / (kStores * (hold.count() / 60.0));
    std::cerr << "[outage] fsx " << what << ": held=" << hold.count() << "s stores=" << kStores
              << " condition_after=" << said_after << "s calls_while_held=" << calls
              << " per_store_per_minute=" << per_store_minute << " recovered_after=" << Seconds(healed) << "s\n";
    EXPECT_TRUE(said) << what << ": every store's Ready condition names " << reason << "; s0: " << Ready("s0");
    EXPECT_TRUE(recovered) << what;
    EXPECT_LE(per_store_minute, 60) << what << ": FSx calls stay bounded (backoff, not a loop)";
  }

  std::unique_ptr<emulator::FsxEmulator> emulator_;
  kube::KubeClientPtr client_;
  std::string log_;
  pid_t pid_ = 0;
};

TEST_F(OperatorOutageTest, FsxDownThrottledAndApiServerDownAllConvergeWithBoundedCalls) {
  FsxOutage("5xx", {.error_rate = 1.0}, "InternalServerError", 60s, [&] {  // while the stores are created
    for (int i = 0; i < kStores; ++i)
      ASSERT_TRUE(client_->Create(res::CheckpointStores(), kNs, LinkedStore("s" + std::to_string(i))).ok());
  });
  FsxOutage("throttled", {.throttle_rate = 1.0}, "ThrottlingException", 30s, [&] {  // while each gains an association
    for (int i = 0; i < kStores; ++i) {
      Json s = *client_->Get(res::CheckpointStores(), kNs, "s" + std::to_string(i));
      s["spec"]["dataRepository"]["associations"].push_back(
          {{"path", "/logs"}, {"prefix", "s" + std::to_string(i) + "-logs/"}, {"export", {"NEW"}}});
      ASSERT_TRUE(client_->Update(res::CheckpointStores(), s).ok());
    }
  });

  const double errors_before = Metric("rest_client_requests_total", "code=\"<error>\"");
  ASSERT_TRUE(testing::Envtest().StopApiServer().ok());
  const auto down = std::chrono::steady_clock::now();
  auto compacted = testing::Envtest().CompactEtcd();
  ASSERT_TRUE(compacted.ok()) << compacted.status().ToString();
  while (std::chrono::steady_clock::now() < down + 30s) std::this_thread::sleep_for(100ms);
  const double sent_while_down = Metric("rest_client_requests_total", "code=\"<error>\"") - errors_before;
  ASSERT_TRUE(testing::Envtest().StartApiServer().ok());
  const auto up = std::chrono::steady_clock::now();
  ASSERT_TRUE(client_->Create(res::CheckpointStores(), kNs, LinkedStore("after")).ok());
  ASSERT_TRUE(client_->Delete(res::CheckpointStores(), kNs, "s3").ok());
  const bool converged = Eventually([&] {
    return Ready("after").value("status", "") == "True" &&
           client_->Get(res::CheckpointStores(), kNs, "s3").status().IsNotFound();
  }, 150s);  // reflectors back off up to 30 s plus jitter while it is down, as client-go's do
  std::cerr << "[outage] apiserver: down=30s etcd_compacted_at=" << *compacted
            << " requests_while_down=" << sent_while_down << " converged_after=" << Seconds(up) << "s\n";
  EXPECT_TRUE(converged) << "a store created and one deleted after the outage are reconciled";
  EXPECT_LE(sent_while_down, 200) << "the reflectors back off while the API server is gone";
}

}  // namespace
}  // namespace ckpt

CKPT_ENVTEST_MAIN();
