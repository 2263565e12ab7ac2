// Unit tests for the object gauges: creates, phase changes and deletes keep
// ckpt_objects{kind,phase} equal to the cache's contents, and the per-object gauges that alerts
// use (store readiness, a running TrainRun's restarts and budget) appear and disappear with them.
#include "ckpt/runtime/handlers.h"

#include <gtest/gtest.h>

namespace ckpt::runtime {
namespace {

kube::Json Obj(const std::string& name, const std::string& rv, const std::string& phase) {
  kube::Json o = {{"metadata", {{"name", name}, {"namespace", "ml"}, {"resourceVersion", rv}}}};
  if (!phase.empty()) o["status"] = {{"phase", phase}};
  return o;
}

bool Has(const std::string& text, const std::string& line) { return text.find(line) != std::string::npos; }

TEST(CountPhasesTest, GaugeFollowsCreatesPhaseChangesAndDeletes) {
  Metrics metrics;
  kube::Writer w;
  w.AddHandler(CountPhases(metrics, "CheckpointStore"));
  w.Apply({kube::WatchEvent::Type::kAdded, Obj("a", "1", "")});
  w.Apply({kube::WatchEvent::Type::kAdded, Obj("b", "2", "Ready")});
  w.Apply({kube::WatchEvent::Type::kModified, Obj("a", "3", "Ready")});
  std::string text = metrics.Serialize();
  EXPECT_TRUE(Has(text, R"(ckpt_objects{kind="CheckpointStore",phase="Ready"} 2)")) << text;
  EXPECT_TRUE(Has(text, R"(ckpt_objects{kind="CheckpointStore",phase="None"} 0)")) << text;
  w.Apply({kube::WatchEvent::Type::kDeleted, Obj("b", "4", "Ready")});
  EXPECT_TRUE(Has(metrics.Serialize(), R"(ckpt_objects{kind="CheckpointStore",phase="Ready"} 1)"));
}

TEST(GaugeStoreReadyTest, FollowsTheReadyConditionAndIsRemovedWithTheStore) {
  Metrics metrics;
  kube::Writer w;
  w.AddHandler(GaugeStoreReady(metrics));
  kube::Json store = Obj("s", "1", "Creating");
  w.Apply({kube::WatchEvent::Type::kAdded, store});
  EXPECT_TRUE(Has(metrics.Serialize(), R"(ckpt_checkpointstore_ready{name="s",namespace="ml"} 0)"));
  store["metadata"]["resourceVersion"] = "2";
  store["status"]["conditions"] = {{{"type", "Ready"}, {"status", "True"}}};
  w.Apply({kube::WatchEvent::Type::kModified, store});
  EXPECT_TRUE(Has(metrics.Serialize(), R"(ckpt_checkpointstore_ready{name="s",namespace="ml"} 1)"));
  w.Apply({kube::WatchEvent::Type::kDeleted, store});
  EXPECT_FALSE(Has(metrics.Serialize(), R"(ckpt_checkpointstore_ready{name="s")"));
}

TEST(GaugeRunRestartsTest, ShowsRestartsAndTheBudgetInForceWhileTheRunIsActive) {
  Metrics metrics;
  kube::Writer w;
  w.AddHandler(GaugeRunRestarts(metrics));
  kube::Json run = Obj("r", "1", "Running");
  run["spec"]["resilience"]["maxRestarts"] = 5;
  run["status"]["restarts"] = 2;
  run["status"]["effectiveMaxRestarts"] = 3;
  w.Apply({kube::WatchEvent::Type::kAdded, run});
  std::string text = metrics.Serialize();
  EXPECT_TRUE(Has(text, R"(ckpt_trainrun_restarts{name="r",namespace="ml"} 2)")) << text;
  EXPECT_TRUE(Has(text, R"(ckpt_trainrun_max_restarts{name="r",namespace="ml"} 3)")) << text;
  run["metadata"]["resourceVersion"] = "2";
  run["status"]["phase"] = "Failed";
  w.Apply({kube::WatchEvent::Type::kModified, run});
  text = metrics.Serialize();
  EXPECT_FALSE(Has(text, R"(ckpt_trainrun_restarts{name="r")")) << text;
  EXPECT_FALSE(Has(text, R"(ckpt_trainrun_max_restarts{name="r")")) << text;
}

}  // namespace
}  // namespace ckpt::runtime

namespace ckpt::runtime {
namespace {

TEST(EnqueueSelfUnlessStatusOnlyTest, OwnStatusWritesDoNotWakeTheControllerButSpecAndMetadataDo) {
  WorkQueue queue(SystemClock());
  kube::Writer w;
  w.AddHandler(EnqueueSelfUnlessStatusOnly(queue));
  kube::Json store = Obj("s", "1", "Pending");
  store["spec"] = {{"deletionPolicy", "Retain"}};
  w.Apply({kube::WatchEvent::Type::kAdded, store});
  EXPECT_EQ(queue.TryGet(), "ml/s");
  queue.Done("ml/s");
  store["metadata"]["resourceVersion"] = "2";
  store["status"]["phase"] = "Ready";
  w.Apply({kube::WatchEvent::Type::kModified, store});
  EXPECT_EQ(queue.TryGet(), std::nullopt) << "a status-only write";
  store["metadata"]["resourceVersion"] = "3";
  store["metadata"]["finalizers"] = {"trainops.io/checkpointstore"};
  w.Apply({kube::WatchEvent::Type::kModified, store});
  EXPECT_EQ(queue.TryGet(), "ml/s") << "a finalizer counts";
  queue.Done("ml/s");
  store["metadata"]["resourceVersion"] = "4";
  store["spec"]["deletionPolicy"] = "Delete";
  w.Apply({kube::WatchEvent::Type::kModified, store});
  EXPECT_EQ(queue.TryGet(), "ml/s") << "a spec edit counts";
}

}  // namespace
}  // namespace ckpt::runtime
