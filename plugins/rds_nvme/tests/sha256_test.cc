// SHA-256 against the examples NIST publishes for FIPS 180-4 (csrc.nist.gov, "Examples with
// Intermediate Values", SHA256.pdf and SHA2_Additional.pdf) and messages at the padding
// boundaries, where the length moves into a block of its own.
#include "sha256.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace polycsi::rds_nvme::testing {
namespace {

TEST(Sha256Test, NistExamples) {
  EXPECT_EQ(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // 448 bits: two blocks, the second holding only padding and length.
  EXPECT_EQ(sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // 896 bits.
  EXPECT_EQ(sha256Hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnop"
                      "jklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST(Sha256Test, OneMillionA) {
  EXPECT_EQ(sha256Hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// 55 bytes: the 1 bit and the length still fit the block; 56: the length needs another block;
// 63 and 64: the 1 bit ends the block or starts a new one. (Digests from coreutils sha256sum.)
TEST(Sha256Test, PaddingBoundaries) {
  EXPECT_EQ(sha256Hex(std::string(55, 'x')),
            "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072");
  EXPECT_EQ(sha256Hex(std::string(56, 'y')),
            "4877e564e5e36e367c7c8d59670774becd3350610b6df4c399c9fa9b66da5813");
  EXPECT_EQ(sha256Hex(std::string(63, 'a')),
            "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34");
  EXPECT_EQ(sha256Hex(std::string(64, 'z')),
            "72996563049cc84daa2c3f31fd5c3d10770e69d6ebbb8da5b6d76db303dbae43");
}

// Feeding the message in pieces gives the digest of the whole, wherever the pieces split.
TEST(Sha256Test, PiecesGiveTheDigestOfTheWhole) {
  std::string message;
  for (int i = 0; i < 200; ++i) message += static_cast<char>('A' + i % 53);
  const Sha256::Digest whole = sha256(message);
  for (size_t first : {size_t{0}, size_t{1}, size_t{55}, size_t{63}, size_t{64}, size_t{65},
                       size_t{128}, size_t{199}, size_t{200}}) {
    Sha256 hash;
    hash.update(std::string_view(message).substr(0, first));
    hash.update(std::string_view(message).substr(first, 7));
    hash.update(std::string_view(message).substr(std::min(message.size(), first + 7)));
    EXPECT_EQ(hash.digest(), whole) << "split after " << first;
  }
}

TEST(Sha256Test, HexIsCutToTheDigitsAsked) {
  EXPECT_EQ(sha256Hex("abc", 32), "ba7816bf8f01cfea414140de5dae2223");
  EXPECT_EQ(sha256Hex("abc", 1), "b");
  EXPECT_EQ(sha256Hex("abc", 100).size(), 64u);
}

}  // namespace
}  // namespace polycsi::rds_nvme::testing
