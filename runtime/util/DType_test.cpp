#include "runtime/util/DType.h"

#include "gtest/gtest.h"

namespace mvc {
namespace {

TEST(DType, NamesRoundTripAndSizes) {
  for (DType dtype : {DType::F32, DType::F16, DType::BF16, DType::I32, DType::I64, DType::U8}) {
    absl::StatusOr<DType> parsed = parseDType(dtypeName(dtype));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, dtype);
  }
  EXPECT_EQ(dtypeSize(DType::F32), 4u);
  EXPECT_EQ(dtypeSize(DType::BF16), 2u);
  EXPECT_EQ(dtypeSize(DType::I64), 8u);
  EXPECT_EQ(dtypeSize(DType::U8), 1u);
}

TEST(DType, UnknownNameListsTheAcceptedOnes) {
  absl::StatusOr<DType> parsed = parseDType("float32");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("'float32'"), std::string::npos);
  EXPECT_NE(parsed.status().message().find("bf16"), std::string::npos);
}

} // namespace
} // namespace mvc
