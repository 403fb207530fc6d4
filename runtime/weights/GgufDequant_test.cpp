#include "runtime/weights/GgufDequant.h"

#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "runtime/util/Npy.h"

namespace mvc {
namespace {

const std::string kDir = std::string(MVC_FIXTURES_DIR) + "/gguf_quant/";

struct Case {
  GgmlType type;
  const char *name;
};

class DequantizeMatchesReference : public testing::TestWithParam<Case> {};

// gen_gguf_quant.py dequantized these blocks with the `gguf` package (llama.cpp's numpy
// reference). Dequantization is a fixed sequence of f32 operations, so the values must be
// identical bit for bit (a NaN-free fixture: equal bits, including the sign of zero).
TEST_P(DequantizeMatchesReference, BitForBit) {
  const Case &c = GetParam();
  auto blocks = readNpy(kDir + c.name + ".blocks.npy");
  auto values = readNpy(kDir + c.name + ".values.npy");
  ASSERT_TRUE(blocks.ok()) << blocks.status();
  ASSERT_TRUE(values.ok()) << values.status();
  ASSERT_EQ(blocks->dtype, DType::U8);
  ASSERT_EQ(values->dtype, DType::F32);
  const GgmlTypeTraits *traits = ggmlTypeTraits(static_cast<uint32_t>(c.type));
  ASSERT_NE(traits, nullptr);
  ASSERT_EQ(blocks->shape[1], traits->blockBytes);
  size_t count = values->data.size() / 4;
  ASSERT_EQ(int64_t(count), blocks->shape[0] * traits->blockElements);
  std::vector<uint32_t> want(count);
  std::memcpy(want.data(), values->data.data(), values->data.size());

  // One row per block, and all blocks in one row: the row split must not matter.
  for (int64_t rowLength : {traits->blockElements, int64_t(count)}) {
    std::vector<float> got(count);
    absl::Status status = dequantize(c.type, blocks->data, rowLength, absl::MakeSpan(got));
    ASSERT_TRUE(status.ok()) << status;
    std::vector<uint32_t> gotBits(count);
    std::memcpy(gotBits.data(), got.data(), count * 4);
    for (size_t i = 0; i < count; ++i)
      ASSERT_EQ(gotBits[i], want[i]) << c.name << " value " << i << " (block "
                                     << i / traits->blockElements << "): got " << got[i];
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllTypes, DequantizeMatchesReference,
    testing::Values(Case{GgmlType::F16, "F16"}, Case{GgmlType::BF16, "BF16"},
                    Case{GgmlType::Q4_0, "Q4_0"}, Case{GgmlType::Q4_1, "Q4_1"},
                    Case{GgmlType::Q5_0, "Q5_0"}, Case{GgmlType::Q5_1, "Q5_1"},
                    Case{GgmlType::Q8_0, "Q8_0"}, Case{GgmlType::Q2_K, "Q2_K"},
                    Case{GgmlType::Q3_K, "Q3_K"}, Case{GgmlType::Q4_K, "Q4_K"},
                    Case{GgmlType::Q5_K, "Q5_K"}, Case{GgmlType::Q6_K, "Q6_K"}),
    [](const testing::TestParamInfo<Case> &info) { return std::string(info.param.name); });

TEST(Dequantize, F32IsCopiedBitForBit) {
  const float in[] = {1.5f, -0.0f, 3.0e38f, 1e-45f};
  std::vector<uint8_t> bytes(sizeof(in));
  std::memcpy(bytes.data(), in, sizeof(in));
  std::vector<float> out(4);
  ASSERT_TRUE(dequantize(GgmlType::F32, bytes, 2, absl::MakeSpan(out)).ok());
  EXPECT_EQ(std::memcmp(out.data(), in, sizeof(in)), 0);
}

TEST(Dequantize, RowNotAMultipleOfTheBlockIsRefused) {
  std::vector<uint8_t> bytes(144 * 5);
  std::vector<float> out(1280);
  absl::Status status = dequantize(GgmlType::Q4_K, bytes, 640, absl::MakeSpan(out));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message(), "rows of 640 values are not a multiple of the Q4_K block of 256");
}

TEST(Dequantize, SizeMismatchIsRefused) {
  std::vector<uint8_t> bytes(34 * 2 - 1);
  std::vector<float> out(64);
  absl::Status status = dequantize(GgmlType::Q8_0, bytes, 32, absl::MakeSpan(out));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message(), "67 bytes of Q8_0 do not hold 64 values in rows of 32");
  std::vector<float> ragged(48);
  std::vector<uint8_t> three(34 * 3);
  status = dequantize(GgmlType::Q8_0, three, 32, absl::MakeSpan(ragged));
  EXPECT_FALSE(status.ok());
}

TEST(Dequantize, UnsupportedTypesNameTheType) {
  for (GgmlType type : {GgmlType::IQ2_XS, GgmlType::Q8_K, GgmlType::I32, GgmlType::MXFP4}) {
    EXPECT_FALSE(canDequantize(type));
    std::vector<uint8_t> bytes(292);
    std::vector<float> out(256);
    absl::Status status = dequantize(type, bytes, 256, absl::MakeSpan(out));
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented);
    EXPECT_NE(status.message().find("unsupported GGUF tensor type " + ggmlTypeName(type)),
              std::string::npos)
        << status;
  }
  EXPECT_TRUE(canDequantize(GgmlType::Q6_K));
}

} // namespace
} // namespace mvc
