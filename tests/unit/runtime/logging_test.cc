// Unit tests for the log formatters: lines written inside a reconcile carry its controller, key
// and id (text and JSON); JSON lines stay valid JSON whatever the message holds.
#include "ckpt/runtime/logging.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

namespace ckpt::runtime {
namespace {

std::string Capture(bool json, const std::function<void()>& log) {
  EXPECT_TRUE(ConfigureLogging("info", json).ok());
  ::testing::internal::CaptureStderr();
  log();
  spdlog::default_logger()->flush();
  return ::testing::internal::GetCapturedStderr();
}

TEST(LoggingTest, TextLinesInsideAReconcileNameIt) {
  std::string out = Capture(false, [] {
    spdlog::info("outside");
    ScopedLogContext ctx({"checkpointstore", "ml/llm", 42});
    spdlog::warn("inside");
  });
  EXPECT_NE(out.find(" info  outside\n"), std::string::npos) << out;
  EXPECT_NE(out.find(" warning [checkpointstore ml/llm #42] inside\n"), std::string::npos) << out;
}

TEST(LoggingTest, JsonLinesCarryTheContextAndEscapeTheMessage) {
  std::string out = Capture(true, [] {
    ScopedLogContext ctx({"trainrun", "ml/llama", 7});
    spdlog::error("FSx said \"no\"\nand a newline");
  });
  auto line = nlohmann::json::parse(out.substr(0, out.find('\n', out.find("}"))));
  EXPECT_EQ(line["level"], "error");
  EXPECT_EQ(line["controller"], "trainrun");
  EXPECT_EQ(line["key"], "ml/llama");
  EXPECT_EQ(line["reconcile_id"], 7);
  EXPECT_EQ(line["msg"], "FSx said \"no\"\nand a newline");
}

TEST(LoggingTest, ContextEndsWithItsScopeAndBadLevelsAreRefused) {
  { ScopedLogContext ctx({"c", "k", 1}); }
  EXPECT_TRUE(CurrentLogContext().controller.empty());
  EXPECT_FALSE(ConfigureLogging("loud", false).ok());
}

}  // namespace
}  // namespace ckpt::runtime
