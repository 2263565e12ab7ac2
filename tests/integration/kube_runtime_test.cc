// Integration tests of the kube client and runtime on a real API server: watches that survive an
// API server restart and an etcd compaction without missing or duplicating handler events,
// pagination over 5,000 objects, server-side apply conflicts, Events de-duplication, and the
// manager's probes and metrics.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "ckpt/kube/informer.h"
#include "ckpt/runtime/events.h"
#include "ckpt/runtime/manager.h"
#include "integration/envtest.h"
#include "integration/test_objects.h"

namespace ckpt {
namespace {

using kube::Json;
using testing::CheckpointStoreObject;
using testing::Eventually;
namespace res = kube::resources;
using namespace std::chrono_literals;

kube::KubeClientPtr FastClient() {
  auto config = testing::Envtest().client_config();
  config.qps = 0;  // set-up traffic: no client-side limit
  return kube::NewRestClient(config);
}

void CreateNamespace(kube::KubeClient& c, const std::string& ns) {
  ASSERT_TRUE(c.Create(res::Namespaces(), "", Json{{"metadata", {{"name", ns}}}}).ok());
}

// Creates `n` stores named <prefix>-<i> in `ns` from `threads` threads.
void CreateMany(const std::string& ns, const std::string& prefix, int n, size_t pad = 0, int threads = 4) {
  std::vector<std::jthread> workers;
  std::atomic<int> next{0}, failures{0};
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      auto c = FastClient();
      for (int i; (i = next++) < n;)
        if (!c->Create(res::CheckpointStores(), ns, CheckpointStoreObject(ns, prefix + "-" + std::to_string(i), pad)).ok())
          ++failures;
    });
  }
  workers.clear();
  ASSERT_EQ(failures.load(), 0);
}

// Records every handler event as "<type> <name> <resourceVersion>".
struct EventLog {
  std::mutex mu;
  std::vector<std::string> lines;
  kube::EventHandler Handler() {
    return [this](const kube::ObjectEvent& e) {
      const char* t = e.type == kube::ObjectEvent::Type::kAdded ? "add" : e.type == kube::ObjectEvent::Type::kUpdated ? "update" : "delete";
      std::lock_guard<std::mutex> l(mu);
      lines.push_back(std::string(t) + " " + (*e.object)["metadata"]["name"].get<std::string>() + " " +
                      (*e.object)["metadata"].value("resourceVersion", ""));
    };
  }
  size_t Count(const std::string& prefix) {
    std::lock_guard<std::mutex> l(mu);
    return std::count_if(lines.begin(), lines.end(), [&](const std::string& s) { return s.starts_with(prefix); });
  }
  bool HasDuplicates() {
    std::lock_guard<std::mutex> l(mu);
    std::set<std::string> uniq(lines.begin(), lines.end());
    return uniq.size() != lines.size();
  }
};

// True when the cache holds exactly what the API server lists, resourceVersions included.
bool CacheMatchesServer(const kube::Store& store, const std::string& ns) {
  auto list = FastClient()->List(res::CheckpointStores(), ns, {});
  if (!list.ok()) return false;
  std::map<std::string, std::string> server, cache;
  for (const auto& i : (*list)["items"]) server[i["metadata"]["name"]] = i["metadata"]["resourceVersion"];
  for (const auto& o : store.List()) cache[(*o)["metadata"]["name"]] = (*o)["metadata"]["resourceVersion"];
  return server == cache;
}

TEST(KubeRuntimeTest, WatchSurvivesApiServerRestartWithoutMissingOrDuplicatingEvents) {
  auto client = testing::Envtest().NewClient();
  CreateNamespace(*client, "restart");
  kube::Informer informer(*client, {res::CheckpointStores(), "restart"}, SystemClock());
  EventLog log;
  informer.AddHandler(log.Handler());
  informer.Start();
  CreateMany("restart", "before", 5);
  ASSERT_TRUE(Eventually([&] { return log.Count("add before-") == 5; }));

  ASSERT_TRUE(testing::Envtest().RestartApiServer().ok());
  auto after = FastClient();
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(after->Create(res::CheckpointStores(), "restart", CheckpointStoreObject("restart", "after-" + std::to_string(i))).ok());
  auto a0 = *after->Get(res::CheckpointStores(), "restart", "before-0");
  a0["spec"]["deletionPolicy"] = "Delete";
  ASSERT_TRUE(after->Update(res::CheckpointStores(), a0).ok());
  ASSERT_TRUE(after->Delete(res::CheckpointStores(), "restart", "before-1").ok());

  ASSERT_TRUE(Eventually([&] { return CacheMatchesServer(informer.store(), "restart"); }, 60s));
  EXPECT_EQ(log.Count("add before-"), 5u);
  EXPECT_EQ(log.Count("add after-"), 5u);
  EXPECT_EQ(log.Count("update before-0 "), 1u);
  EXPECT_EQ(log.Count("delete before-1 "), 1u);
  EXPECT_EQ(log.Count("update before-2"), 0u) << "unchanged objects are not re-announced after a relist";
  EXPECT_FALSE(log.HasDuplicates());
  std::cerr << "[restart] watches=" << informer.reflector().stats().watches << " lists=" << informer.reflector().stats().lists
            << " gone=" << informer.reflector().stats().gone << " errors=" << informer.reflector().stats().errors << "\n";
}

TEST(KubeRuntimeTest, StaleResumeAfterEtcdCompactionGetsGoneAndRelists) {
  auto client = testing::Envtest().NewClient();
  CreateNamespace(*client, "compact");
  CreateMany("compact", "s", 20);
  kube::Informer informer(*client, {res::CheckpointStores(), "compact"}, SystemClock());
  EventLog log;
  informer.AddHandler(log.Handler());
  informer.Start();
  ASSERT_TRUE(informer.store().WaitUntilReady(30s));
  informer.Stop();  // keeps its cache and resume point, like a watcher that fell behind

  auto c = FastClient();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(c->Delete(res::CheckpointStores(), "compact", "s-" + std::to_string(i)).ok());
  CreateMany("compact", "new", 5);
  ASSERT_TRUE(testing::Envtest().CompactEtcd().ok());
  // A fresh API server's watch cache starts at the compacted revision: our resume point is history.
  ASSERT_TRUE(testing::Envtest().RestartApiServer().ok());

  informer.Start();
  ASSERT_TRUE(Eventually([&] { return informer.reflector().stats().gone >= 1; }, 30s)) << "410 Gone seen";
  ASSERT_TRUE(Eventually([&] { return CacheMatchesServer(informer.store(), "compact"); }, 30s));
  EXPECT_EQ(informer.store().size(), 20u);
  EXPECT_EQ(log.Count("delete s-"), 5u);
  EXPECT_EQ(log.Count("add new-"), 5u);
  EXPECT_EQ(log.Count("add s-"), 20u) << "no duplicate adds for objects that survived";
  EXPECT_FALSE(log.HasDuplicates());
}

TEST(KubeRuntimeTest, PaginatesOverFiveThousandObjects) {
  auto client = testing::Envtest().NewClient();
  CreateNamespace(*client, "paging");
  CreateMany("paging", "p", 5000);
  std::set<std::string> names;
  int pages = 0;
  kube::ListOptions o;
  o.limit = 500;
  do {
    auto page = client->List(res::CheckpointStores(), "paging", o);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    ++pages;
    for (const auto& i : (*page)["items"]) names.insert(i["metadata"]["name"]);
    o.continue_token = (*page)["metadata"].value("continue", "");
  } while (!o.continue_token.empty());
  EXPECT_EQ(pages, 10);
  EXPECT_EQ(names.size(), 5000u);

  kube::Informer informer(*client, {res::CheckpointStores(), "paging"}, SystemClock());
  informer.Start();
  ASSERT_TRUE(informer.store().WaitUntilReady(60s));
  EXPECT_EQ(informer.store().size(), 5000u) << "the reflector pages too";
}

TEST(KubeRuntimeTest, ServerSideApplyConflictIsReportedAndForceResolvesIt) {
  auto client = testing::Envtest().NewClient();
  Json obj = CheckpointStoreObject("default", "ssa");
  kube::PatchOptions mine{kube::PatchType::kApply, "ckpt-operator", false, ""};
  ASSERT_TRUE(client->Patch(res::CheckpointStores(), "default", "ssa", mine, obj.dump()).ok());

  obj["spec"]["volume"]["claimName"] = "someone-else";
  kube::PatchOptions theirs{kube::PatchType::kApply, "gitops", false, ""};
  auto conflict = client->Patch(res::CheckpointStores(), "default", "ssa", theirs, obj.dump());
  ASSERT_TRUE(conflict.status().IsConflict()) << conflict.status().ToString();
  EXPECT_NE(conflict.status().message().find("conflict with \"ckpt-operator\""), std::string::npos)
      << conflict.status().message();

  theirs.force = true;
  auto forced = client->Patch(res::CheckpointStores(), "default", "ssa", theirs, obj.dump());
  ASSERT_TRUE(forced.ok()) << forced.status().ToString();
  EXPECT_EQ((*forced)["spec"]["volume"]["claimName"], "someone-else");
}

TEST(KubeRuntimeTest, RepeatedEventsFoldIntoOneSeries) {
  auto client = testing::Envtest().NewClient();
  auto store = *client->Create(res::CheckpointStores(), "default", CheckpointStoreObject("default", "noisy"));
  runtime::KubeEventRecorder recorder(*client, SystemClock(), "ckpt-operator", "test-0", std::chrono::seconds(0));
  for (int i = 0; i < 5; ++i) recorder.Event(store, "Warning", "FsxThrottled", "Reconcile", "FSx throttled the request");
  recorder.Event(store, "Normal", "Created", "Reconcile", "created file system fs-1");
  kube::ListOptions o;
  o.field_selector = "regarding.name=noisy";
  auto events = client->List(res::Events(), "default", o);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_EQ((*events)["items"].size(), 2u);
  for (const auto& e : (*events)["items"]) {
    if (e["reason"] == "FsxThrottled") EXPECT_EQ(e["series"]["count"], 5);
    else EXPECT_FALSE(e.contains("series"));
  }
}

TEST(KubeRuntimeTest, ManagerServesProbesAndMetrics) {
  auto client = testing::Envtest().NewClient();
  runtime::Metrics metrics;
  kube::Informer informer(*client, {res::CheckpointStores(), "default"}, SystemClock());
  runtime::Manager manager({.probe_address = "127.0.0.1:0"}, *client, SystemClock(), metrics);
  manager.AddInformer(&informer);
  std::stop_source stop;
  std::jthread run([&] { EXPECT_EQ(manager.Run(stop.get_token()), 0); });
  ASSERT_TRUE(Eventually([&] { return manager.ready() && manager.probe_port() > 0; }));
  auto http = http::NewCurlTransport({});
  std::string base = "http://127.0.0.1:" + std::to_string(manager.probe_port());
  EXPECT_EQ(http->Send({"GET", base + "/healthz"})->status, 200);
  EXPECT_EQ(http->Send({"GET", base + "/readyz"})->status, 200);
  EXPECT_EQ(http->Send({"GET", base + "/nope"})->status, 404);
  auto m = http->Send({"GET", base + "/metrics"});
  EXPECT_EQ(m->status, 200);
  stop.request_stop();
}

}  // namespace
}  // namespace ckpt

CKPT_ENVTEST_MAIN();
