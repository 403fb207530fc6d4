#include "compiler/Weights/WeightPacking.h"

#include <cctype>
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

const std::string kQuantDir = std::string(MVC_FIXTURES_DIR) + "/gguf_quant/";
const std::vector<const char *> kFormats = {"q8_0", "q4_0", "q4_1", "q5_0", "q5_1"};
const std::vector<const char *> kKFormats = {"q4_k", "q5_k", "q6_k"};

std::string upper(std::string s) {
  for (char &c : s) c = char(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// gen_gguf_quant.py quantized these values with the `gguf` package (ggml's reference
// rounding; k-quants: ggml_kquants.py, ggml's search in numpy) into each format: zero
// blocks, ties, tiny and large scales, one-signed blocks, a zero block inside a group.
// mvc-compile's quantizer must give the same bytes.
TEST(WeightPacking, QuantizesAsGgml) {
  for (const char *inputName : {"quantize", "kquantize"}) {
    auto input = readNpy(kQuantDir + inputName + ".input.npy");
    ASSERT_TRUE(input.ok()) << input.status();
    ASSERT_EQ(input->dtype, DType::F32);
    std::vector<float> x(input->data.size() / 4);
    std::memcpy(x.data(), input->data.data(), input->data.size());
    bool kQuants = std::string(inputName) == "kquantize";
    for (const char *name : kQuants ? kKFormats : kFormats) {
      const BlockFormat *format = findBlockFormat(name);
      ASSERT_NE(format, nullptr) << name;
      auto blocks = readNpy(kQuantDir + upper(name) + ".quantize.blocks.npy");
      ASSERT_TRUE(blocks.ok()) << blocks.status();
      std::string got = quantizeBlocks(*format, x);
      ASSERT_EQ(got.size(), blocks->data.size()) << name;
      for (size_t i = 0; i < got.size(); ++i)
        ASSERT_EQ(uint8_t(got[i]), blocks->data[i])
            << name << " block " << i / format->groupBytes << " byte " << i % format->groupBytes;
    }
  }
}

/// Element (row, c) of a `<format>_n16` weight, decoded as the kernels do (the layout's
/// definition, BlockFormat.h) and in ggml's order of f32 operations.
float decodePacked(const BlockFormat &f, const std::string &packed, int64_t k, int64_t row,
                   int64_t c) {
  const char *at = packed.data() + ((row / 16) * (k / f.groupValues) + c / f.groupValues) *
                                       f.panelGroupBytes();
  int64_t lane = row % 16, kk = c % 32, j = (c % f.groupValues) / 32;
  auto half = [&](int64_t offset) {
    _Float16 h;
    std::memcpy(&h, at + offset + 2 * lane, 2);
    return float(h);
  };
  int q;
  if (f.bits == 8) {
    q = int8_t(at[f.quantOffset(j) + kk * 16 + lane]);
  } else {
    uint8_t byte = uint8_t(at[f.quantOffset(j) + (kk % 16) * 16 + lane]);
    q = kk < 16 ? byte & 15 : byte >> 4;
    if (f.highBits() == 1) {
      uint32_t qh;
      std::memcpy(&qh, at + f.highOffset(j) + 4 * lane, 4);
      q |= int((qh >> kk) & 1) << 4;
    } else if (f.highBits() == 2) {
      uint32_t qh;
      std::memcpy(&qh, at + f.highOffset(j) + 64 * (kk / 16) + 4 * lane, 4);
      q |= int((qh >> (2 * (kk % 16))) & 3) << 4;
    }
    q -= f.offset;
  }
  if (f.bits == 6) {
    float dl = half(0) * float(int8_t(at[f.subScaleOffset(j) + 16 * (kk / 16) + lane]));
    return dl * float(q);
  }
  if (f.kQuant()) {
    float dl = half(0) * float(uint8_t(at[f.subScaleOffset(j) + lane]));
    float ml = half(f.minOffset()) * float(uint8_t(at[f.subMinOffset(j) + lane]));
    return dl * float(q) - ml;
  }
  return f.hasMin ? half(0) * float(q) + half(f.minOffset()) : half(0) * float(q);
}

// The blocks of gen_gguf_quant.py (block-32 formats: half quantized, half random bytes
// with finite scales; k-quants: random bytes with finite scales) as a [rows, k] weight:
// every element decoded from the packed layout equals the `gguf` package's dequantization,
// bit for bit; the padding rows are zero.
TEST(WeightPacking, BlockPanelsDecodeToGgufValues) {
  for (const char *name : {"q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_k", "q5_k", "q6_k"}) {
    const BlockFormat *format = findBlockFormat(name);
    ASSERT_NE(format, nullptr) << name;
    auto blocks = readNpy(kQuantDir + upper(name) + ".blocks.npy");
    auto values = readNpy(kQuantDir + upper(name) + ".values.npy");
    ASSERT_TRUE(blocks.ok() && values.ok()) << name;
    int64_t k = format->kQuant() ? 256 : 64;
    int64_t n = int64_t(values->data.size() / 4) / k, groups = k / format->groupValues;
    std::vector<float> want(values->data.size() / 4);
    std::memcpy(want.data(), values->data.data(), values->data.size());
    std::string raw(blocks->data.begin(), blocks->data.end());
    for (int64_t rows : {n, n - 3}) {  // whole rows of the fixture, and fewer
      std::string packed =
          packBlockPanels(*format, raw.substr(0, rows * groups * format->groupBytes), rows, k);
      ASSERT_EQ(int64_t(packed.size()), format->panelsBytes(rows, k)) << name;
      for (int64_t r = 0; r < (rows + 15) / 16 * 16; ++r)
        for (int64_t c = 0; c < k; ++c) {
          float got = decodePacked(*format, packed, k, r, c);
          if (r >= rows) {  // padding: zero scale (and min); -0 where an offset applies
            ASSERT_EQ(got, 0.0f) << name << " padding row " << r;
            continue;
          }
          float expect = want[r * k + c];
          ASSERT_EQ(std::memcmp(&got, &expect, 4), 0)
              << name << " (" << r << ", " << c << "): " << got << " vs " << expect;
        }
    }
  }
}

// The artifact holds a GGUF tensor in the file's bytes (block-32 formats and q6_k), or 4
// more per 256 values (q4_k / q5_k: their 12 packed bytes of scales and mins spelled out).
TEST(WeightPacking, BlockPanelsCostTheFileBytes) {
  for (const char *name : {"q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_k", "q5_k", "q6_k"}) {
    const BlockFormat *f = findBlockFormat(name);
    int64_t file = 16 * f->groupBytes;
    EXPECT_EQ(f->panelGroupBytes(), f->kQuant() && f->bits != 6 ? file + 16 * 4 : file) << name;
  }
}

} // namespace
} // namespace mvc
