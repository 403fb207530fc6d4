//===- DType.h - element types of tensors in artifacts and .npy files -----===//
#ifndef MVC_RUNTIME_UTIL_DTYPE_H
#define MVC_RUNTIME_UTIL_DTYPE_H

#include <cstddef>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace mvc {

/// The element types of FORMAT.md; the names are the manifest's spelling.
enum class DType { F32, F16, BF16, I32, I64, U8 };

/// "f32", "f16", "bf16", "i32", "i64" or "u8".
absl::string_view dtypeName(DType dtype);
/// Size of one element in bytes.
size_t dtypeSize(DType dtype);
/// Parses a manifest dtype name; the error lists the accepted names.
absl::StatusOr<DType> parseDType(absl::string_view name);

} // namespace mvc

#endif // MVC_RUNTIME_UTIL_DTYPE_H
