//===- DType.cpp ----------------------------------------------------------===//
#include "runtime/util/DType.h"

#include "absl/strings/str_cat.h"

namespace mvc {

namespace {
struct DTypeInfo {
  DType dtype;
  absl::string_view name;
  size_t size;
};
constexpr DTypeInfo kDTypes[] = {
    {DType::F32, "f32", 4}, {DType::F16, "f16", 2}, {DType::BF16, "bf16", 2},
    {DType::I32, "i32", 4}, {DType::I64, "i64", 8}, {DType::U8, "u8", 1},
};
const DTypeInfo &info(DType dtype) { return kDTypes[static_cast<int>(dtype)]; }
} // namespace

absl::string_view dtypeName(DType dtype) { return info(dtype).name; }
size_t dtypeSize(DType dtype) { return info(dtype).size; }

absl::StatusOr<DType> parseDType(absl::string_view name) {
  for (const DTypeInfo &entry : kDTypes)
    if (entry.name == name)
      return entry.dtype;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown dtype '", name, "' (expected one of f32, f16, bf16, i32, i64, u8)"));
}

} // namespace mvc
