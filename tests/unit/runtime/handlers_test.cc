// Unit tests for the per-phase object gauge: creates, phase changes and deletes keep
// ckpt_objects{kind,phase} equal to the cache's contents.
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

}  // namespace
}  // namespace ckpt::runtime
