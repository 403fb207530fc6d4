#include "compiler/Weights/WeightPacking.h"

#include <cstring>
#include <gtest/gtest.h>

namespace mvc {
namespace {

TEST(WeightPacking, Bf16RoundsToNearestEven) {
  EXPECT_EQ(floatToBf16(1.0f), 0x3f80);
  float halfway;  // 1 + 2^-8: exactly between two bf16 values, rounds to even (1.0)
  uint32_t bits = 0x3f808000;
  std::memcpy(&halfway, &bits, 4);
  EXPECT_EQ(floatToBf16(halfway), 0x3f80);
  bits = 0x3f818000;  // odd neighbour rounds up
  std::memcpy(&halfway, &bits, 4);
  EXPECT_EQ(floatToBf16(halfway), 0x3f82);
}

TEST(WeightPacking, PanelsPadAndPlaceEveryElement) {
  int64_t n = 20, k = 3;
  std::vector<float> w(n * k);
  for (int64_t i = 0; i < n * k; ++i) w[i] = float(i + 1);
  std::string bytes = packMatmulPanels(w, n, k, false, StoredType::F32, false);
  ASSERT_EQ(bytes.size(), size_t(32 * k * 4));
  const float *p = reinterpret_cast<const float *>(bytes.data());
  for (int64_t row = 0; row < 32; ++row)
    for (int64_t col = 0; col < k; ++col) {
      float want = row < n ? w[row * k + col] : 0.0f;
      EXPECT_EQ(p[(row / 16) * k * 16 + col * 16 + row % 16], want) << row << "," << col;
    }
}

TEST(WeightPacking, PairedKInterleavesAndTransposedSourceMatches) {
  int64_t n = 16, k = 4;
  std::vector<float> w(n * k), wt(n * k);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < k; ++c) {
      w[r * k + c] = float(r * 10 + c);
      wt[c * n + r] = w[r * k + c];
    }
  std::string a = packMatmulPanels(w, n, k, false, StoredType::F32, true);
  std::string b = packMatmulPanels(wt, n, k, true, StoredType::F32, true);
  EXPECT_EQ(a, b);
  const float *p = reinterpret_cast<const float *>(a.data());
  // element (n, k) at (k/2)*32 + n*2 + k%2
  EXPECT_EQ(p[(3 / 2) * 32 + 5 * 2 + 1], w[5 * k + 3]);
}

// The artifact's weight table is written before the values are read: the predicted sizes
// must be what packing produces, for every layout, type and padding case.
TEST(WeightPacking, PredictedSizesMatchPackedBytes) {
  for (StoredType type : {StoredType::F32, StoredType::BF16, StoredType::I32})
    for (int64_t n : {1, 16, 17, 33})
      for (int64_t k : {1, 2, 3, 8}) {
        std::vector<float> w(n * k, 1.0f);
        EXPECT_EQ(int64_t(packRowMajor(w, type).size()), rowMajorBytes(n * k, type));
        for (bool pairK : {false, true})
          EXPECT_EQ(int64_t(packMatmulPanels(w, n, k, false, type, pairK).size()),
                    matmulPanelsBytes(n, k, type, pairK))
              << n << "x" << k << " pairK " << pairK;
      }
}

} // namespace
} // namespace mvc
