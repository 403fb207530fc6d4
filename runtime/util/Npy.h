//===- Npy.h - read and write NumPy .npy files ----------------------------===//
//
// Versions 1.0, 2.0 and 3.0 of the format; C order only; little-endian dtypes f32 ('<f4'),
// f16 ('<f2'), i32 ('<i4'), i64 ('<i8'), u8 ('|u1'). NumPy has no bfloat16: bf16 tensors are
// stored as their raw 16-bit patterns with descr '<u2', and a '<u2' file is read as bf16
// only when the caller asks for it (NpyReadOptions::u2AsBf16).
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_UTIL_NPY_H
#define MVC_RUNTIME_UTIL_NPY_H

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "runtime/util/DType.h"

namespace mvc {

struct NpyArray {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data; // C order, little-endian
};

struct NpyReadOptions {
  /// Read descr '<u2' as bf16 bit patterns (NumPy's stand-in for bfloat16).
  bool u2AsBf16 = false;
};

/// Parses the bytes of a .npy file; `name` (usually the path) prefixes every error.
absl::StatusOr<NpyArray> parseNpy(absl::string_view bytes, absl::string_view name,
                                  const NpyReadOptions &options = {});
/// Reads and parses a .npy file.
absl::StatusOr<NpyArray> readNpy(const std::string &path, const NpyReadOptions &options = {});
/// The bytes of a version 1.0 .npy file (header padded to 64 bytes, as NumPy writes it).
absl::StatusOr<std::string> encodeNpy(DType dtype, absl::Span<const int64_t> shape,
                                      const void *data, size_t size);
/// Writes a .npy file atomically (temporary name, then rename).
absl::Status writeNpy(const std::string &path, DType dtype, absl::Span<const int64_t> shape,
                      const void *data, size_t size);

} // namespace mvc

#endif // MVC_RUNTIME_UTIL_NPY_H
