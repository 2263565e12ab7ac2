// Unit tests for base64/hex/SHA-256/HMAC helpers against known answers (RFC 4648, FIPS 180-2, RFC 4231).
#include "ckpt/common/encoding.h"

#include <gtest/gtest.h>

namespace ckpt {
namespace {

TEST(EncodingTest, Base64RoundTripsWithAllPaddings) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    auto d = Base64Decode(Base64Encode(s));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(*Base64Decode("Zm9vYg==\n"), "foob");
}

TEST(EncodingTest, Base64RejectsGarbage) {
  EXPECT_FALSE(Base64Decode("abc").ok());
  EXPECT_FALSE(Base64Decode("@@@@").ok());
}

TEST(EncodingTest, Sha256AndHmacKnownAnswers) {
  EXPECT_EQ(HexEncode(Sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HexEncode(HmacSha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

}  // namespace
}  // namespace ckpt
