//===- GgufDequant.h - ggml tensor types to f32 -------------------*- C++ -*-===//
//
// Dequantizes the ggml block formats a GGUF holds into f32, in plain C++ at compile time
// (the runtime never sees these formats unless a later `--dtype keep` ships them packed).
// Supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K.
//
// The arithmetic is the reference's, operation for operation, in f32 (scale products first,
// then `scale * q - min` or `scale * q + min`), and this file is compiled without FMA
// contraction: the values are bit-identical to ggml's and to the `gguf` Python package's
// dequantization, which the tests check on committed fixtures.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_WEIGHTS_GGUFDEQUANT_H
#define MVC_RUNTIME_WEIGHTS_GGUFDEQUANT_H

#include <cstdint>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "runtime/weights/Gguf.h"

namespace mvc {

/// Whether dequantize() handles `type`.
bool canDequantize(GgmlType type);

/// Dequantizes `src`, rows of `rowLength` values of `type`, into `dst` (all of it). Errors:
/// an unsupported type ("unsupported GGUF tensor type IQ2_XS"), a row length that is not a
/// multiple of the type's block, or `src`/`dst` sizes that do not match each other.
absl::Status dequantize(GgmlType type, absl::Span<const uint8_t> src, int64_t rowLength,
                        absl::Span<float> dst);

} // namespace mvc

#endif // MVC_RUNTIME_WEIGHTS_GGUFDEQUANT_H
