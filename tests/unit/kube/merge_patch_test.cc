// CreateMergePatch: applying the patch (RFC 7386, nlohmann's merge_patch) to `from` gives `to`,
// removed keys become null, unchanged keys are left out, arrays are replaced whole.
#include <gtest/gtest.h>

#include "ckpt/kube/merge_patch.h"

namespace ckpt::kube {
namespace {

using Json = nlohmann::json;

TEST(MergePatchTest, RemovedKeysBecomeNullAndUnchangedOnesAreLeftOut) {
  Json from = {{"phase", "Deleting"}, {"finalExport", {{"attempt", 1}, {"taskId", "task-1"}, {"retryAfter", "t"}}},
               {"fileSystemId", "fs-1"}};
  Json to = {{"phase", "Deleting"}, {"finalExport", {{"attempt", 2}}}, {"fileSystemId", "fs-1"}};
  Json patch = CreateMergePatch(from, to);
  EXPECT_EQ(patch, Json::parse(R"({"finalExport": {"attempt": 2, "taskId": null, "retryAfter": null}})"));
  Json applied = from;
  applied.merge_patch(patch);
  EXPECT_EQ(applied, to);
}

TEST(MergePatchTest, ArraysAndScalarsAreReplacedWholeAndNewKeysAdded) {
  Json from = {{"conditions", {{{"type", "Ready"}, {"status", "True"}}}}, {"lastFailure", {{"pod", "a"}}}};
  Json to = {{"conditions", {{{"type", "Ready"}, {"status", "False"}}}}, {"lastFailure", "gone"}, {"restarts", 1}};
  Json applied = from;
  applied.merge_patch(CreateMergePatch(from, to));
  EXPECT_EQ(applied, to);
  EXPECT_EQ(CreateMergePatch(to, to), Json::object());
}

}  // namespace
}  // namespace ckpt::kube
