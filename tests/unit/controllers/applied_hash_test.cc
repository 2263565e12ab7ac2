// Unit tests for the applied-hash stamp: the same desired object is recognised as applied, a
// changed one or a missing cache entry is not, and the stamp does not feed into its own hash.
#include "controllers/applied_hash.h"

#include <gtest/gtest.h>

namespace ckpt::controllers {
namespace {

using Json = nlohmann::json;

Json Desired(int capacity) {
  return {{"metadata", {{"name", "ckpt-ml-llm"}}}, {"spec", {{"capacity", {{"storage", std::to_string(capacity) + "Gi"}}}}}};
}

TEST(AppliedHashTest, SameInputsAreSkippedChangedOnesAreNot) {
  Json first = Desired(1200);
  EXPECT_FALSE(StampAndCheckApplied(first, nullptr)) << "nothing cached: apply";
  auto cached = std::make_shared<const Json>(first);  // what the server now holds, stamp included
  Json again = Desired(1200);
  EXPECT_TRUE(StampAndCheckApplied(again, cached));
  EXPECT_EQ(again, first);
  Json grown = Desired(2400);
  EXPECT_FALSE(StampAndCheckApplied(grown, cached));
  EXPECT_NE(grown["metadata"]["annotations"][kAppliedHashAnnotation], first["metadata"]["annotations"][kAppliedHashAnnotation]);
}

}  // namespace
}  // namespace ckpt::controllers
