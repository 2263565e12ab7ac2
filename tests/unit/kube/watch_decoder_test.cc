// Unit and property tests for the watch-stream decoder: events split across arbitrary chunk
// boundaries decode identically; truncated, garbage and oversized input give errors, never crashes.
#include "ckpt/kube/watch_decoder.h"

#include <gtest/gtest.h>

#include <random>

namespace ckpt::kube {
namespace {

std::string Stream(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    s += R"({"type":")";
    s += i % 3 == 0 ? "ADDED" : i % 3 == 1 ? "MODIFIED" : "DELETED";
    s += R"(","object":{"metadata":{"name":"o)" + std::to_string(i) + R"(","resourceVersion":")" + std::to_string(i) + "\"}}}\n";
  }
  return s;
}

std::vector<std::string> Names(const std::string& stream, std::mt19937& rng) {
  WatchDecoder d;
  std::vector<std::string> names;
  auto cb = [&](WatchEvent&& e) {
    names.push_back(e.object["metadata"]["name"]);
    return true;
  };
  size_t pos = 0;
  while (pos < stream.size()) {
    size_t n = std::uniform_int_distribution<size_t>(1, 97)(rng);
    EXPECT_TRUE(d.Feed(std::string_view(stream).substr(pos, n), cb).ok());
    pos += n;
  }
  EXPECT_EQ(d.pending(), 0u);
  return names;
}

TEST(WatchDecoderTest, AnyChunkingDecodesTheSameEvents) {
  std::mt19937 rng(42);
  std::string s = Stream(200);
  for (int trial = 0; trial < 50; ++trial) {
    auto names = Names(s, rng);
    ASSERT_EQ(names.size(), 200u);
    EXPECT_EQ(names.front(), "o0");
    EXPECT_EQ(names.back(), "o199");
  }
}

TEST(WatchDecoderTest, EventTypesAndBookmarks) {
  auto e = DecodeWatchEvent(R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"12"}}})");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->type, WatchEvent::Type::kBookmark);
  auto err = DecodeWatchEvent(R"({"type":"ERROR","object":{"kind":"Status","code":410}})");
  ASSERT_TRUE(err.ok());
  EXPECT_EQ(err->type, WatchEvent::Type::kError);
}

TEST(WatchDecoderTest, GarbageIsAClearErrorAndSticks) {
  WatchDecoder d;
  auto cb = [](WatchEvent&&) { return true; };
  Status s = d.Feed("{\"type\":\"ADDED\",\"obj\n", cb);
  EXPECT_TRUE(s.IsInvalid());
  EXPECT_NE(s.message().find("malformed event"), std::string::npos);
  EXPECT_TRUE(d.Feed(Stream(1), cb).IsInvalid());
  EXPECT_TRUE(DecodeWatchEvent(R"({"type":"SHRUG","object":{}})").status().IsInvalid());
  EXPECT_TRUE(DecodeWatchEvent(R"([1,2])").status().IsInvalid());
  EXPECT_TRUE(DecodeWatchEvent(R"({"type":"ADDED","object":"x"})").status().IsInvalid());
}

TEST(WatchDecoderTest, HugeLineIsRejectedWithoutUnboundedBuffering) {
  WatchDecoder d(/*max_line_bytes=*/1024);
  auto cb = [](WatchEvent&&) { return true; };
  std::string big(600, 'x');
  EXPECT_TRUE(d.Feed(big, cb).ok());
  Status s = d.Feed(big, cb);
  EXPECT_TRUE(s.IsInvalid());
  EXPECT_LE(d.pending(), 1024u);
}

TEST(WatchDecoderTest, RandomBytesNeverCrash) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 500; ++trial) {
    WatchDecoder d(4096);
    std::string junk(std::uniform_int_distribution<int>(0, 2048)(rng), '\0');
    for (char& c : junk) c = static_cast<char>(rng() % 256);
    (void)d.Feed(junk, [](WatchEvent&&) { return true; });
  }
}

TEST(WatchDecoderTest, HandlerCanStopTheStream) {
  WatchDecoder d;
  int seen = 0;
  Status s = d.Feed(Stream(10), [&](WatchEvent&&) { return ++seen < 3; });
  EXPECT_EQ(s.code(), StatusCode::kCancelled);
  EXPECT_EQ(seen, 3);
}

}  // namespace
}  // namespace ckpt::kube
