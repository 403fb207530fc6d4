#include "runtime/util/Hash.h"

#include <numeric>
#include <vector>

#include "gtest/gtest.h"

namespace mvc {
namespace {

TEST(Hash, StreamingMatchesOneShotForEverySplit) {
  std::vector<unsigned char> bytes(37);
  std::iota(bytes.begin(), bytes.end(), 1);
  uint64_t whole = mvcHash64(bytes.data(), bytes.size());
  for (size_t a = 0; a <= bytes.size(); ++a) {
    for (size_t b = a; b <= bytes.size(); b += 5) {
      Hasher64 hasher;
      hasher.update(bytes.data(), a);
      hasher.update(bytes.data() + a, b - a);
      hasher.update(bytes.data() + b, bytes.size() - b);
      EXPECT_EQ(hasher.finish(), whole) << "split at " << a << ", " << b;
    }
  }
}

TEST(Hash, TrailingZerosAndLengthChangeTheHash) {
  unsigned char bytes[16] = {1, 2, 3};
  EXPECT_NE(mvcHash64(bytes, 3), mvcHash64(bytes, 4));
  EXPECT_NE(mvcHash64(bytes, 8), mvcHash64(bytes, 16));
  EXPECT_NE(mvcHash64(bytes, 0), mvcHash64(bytes, 1));
}

TEST(Hash, EverySingleBitFlipChangesTheHash) {
  std::vector<unsigned char> bytes(24, 0x5A);
  uint64_t original = mvcHash64(bytes.data(), bytes.size());
  for (size_t bit = 0; bit < bytes.size() * 8; ++bit) {
    bytes[bit / 8] ^= 1u << (bit % 8);
    EXPECT_NE(mvcHash64(bytes.data(), bytes.size()), original) << "bit " << bit;
    bytes[bit / 8] ^= 1u << (bit % 8);
  }
}

// The values are part of the artifact format (checked against a Python transcription of the
// definition in Hash.h): a change here breaks every written artifact.
TEST(Hash, PinnedValues) {
  EXPECT_EQ(mvcHash64("", 0), 0x9CA066F1A4AB2EEAull);
  EXPECT_EQ(mvcHash64("mvc artifact", 12), 0x69DC964C4778F8DDull);
}

} // namespace
} // namespace mvc
