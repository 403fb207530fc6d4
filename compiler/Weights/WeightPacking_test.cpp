#include "compiler/Weights/WeightPacking.h"

#include <cstring>
#include <gtest/gtest.h>

#include "runtime/util/Npy.h"

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

// gen_gguf_quant.py quantized these values with the `gguf` package (ggml's reference
// rounding): zero blocks, ties, tiny and large scales. The bytes must be identical.
TEST(WeightPacking, Q8_0QuantizesAsGgml) {
  const std::string dir = std::string(MVC_FIXTURES_DIR) + "/gguf_quant/";
  auto input = readNpy(dir + "Q8_0.quantize.input.npy");
  auto blocks = readNpy(dir + "Q8_0.quantize.blocks.npy");
  ASSERT_TRUE(input.ok()) << input.status();
  ASSERT_TRUE(blocks.ok()) << blocks.status();
  ASSERT_EQ(input->dtype, DType::F32);
  std::vector<float> x(input->data.size() / 4);
  std::memcpy(x.data(), input->data.data(), input->data.size());
  std::string got = quantizeQ8_0(x, 32);
  ASSERT_EQ(got.size(), blocks->data.size());
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_EQ(uint8_t(got[i]), blocks->data[i]) << "block " << i / 34 << " byte " << i % 34;
}

TEST(WeightPacking, Q8_0PanelsPlaceEveryScaleAndValue) {
  int64_t n = 20, k = 64, perRow = k / 32;
  std::string blocks;
  for (int64_t row = 0; row < n; ++row)
    for (int64_t b = 0; b < perRow; ++b) {
      uint16_t scale = uint16_t(0x3c00 + row * 8 + b); // distinct f16 bits per block
      blocks.append(reinterpret_cast<const char *>(&scale), 2);
      for (int64_t i = 0; i < 32; ++i) blocks.push_back(char(int8_t((row * 7 + b * 32 + i) % 251 - 125)));
    }
  std::string packed = packQ8_0Panels(blocks, n, k);
  ASSERT_EQ(int64_t(packed.size()), q8_0PanelsBytes(n, k));
  ASSERT_EQ(packed.size(), size_t(2 * perRow * 16 * 34));
  for (int64_t row = 0; row < 32; ++row)
    for (int64_t b = 0; b < perRow; ++b) {
      const char *at = packed.data() + ((row / 16) * perRow + b) * 16 * 34;
      uint16_t scale;
      std::memcpy(&scale, at + 2 * (row % 16), 2);
      EXPECT_EQ(scale, row < n ? uint16_t(0x3c00 + row * 8 + b) : 0) << row << "," << b;
      for (int64_t i = 0; i < 32; ++i) {
        int8_t want = row < n ? int8_t((row * 7 + b * 32 + i) % 251 - 125) : 0;
        EXPECT_EQ(int8_t(at[32 + i * 16 + row % 16]), want) << row << "," << b * 32 + i;
      }
    }
}

} // namespace
} // namespace mvc
