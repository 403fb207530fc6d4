//===- WeightPacking.h - weights in the layouts kernels read ------*- C++ -*-===//
//
// Plain C++ (no MLIR): f32 values in, the bytes of one artifact weight out, in the
// layouts of runtime/artifact/FORMAT.md. bf16 conversion rounds to nearest even.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_COMPILER_WEIGHTS_WEIGHTPACKING_H
#define MVC_COMPILER_WEIGHTS_WEIGHTPACKING_H

#include <cstdint>
#include <string>
#include <vector>

namespace mvc {

uint16_t floatToBf16(float f);

enum class StoredType { F32, BF16, I32 };

/// Row-major bytes of `values` in `type`.
std::string packRowMajor(const std::vector<float> &values, StoredType type);

/// Matmul rhs W (logically [N, K]; `transposed` when the source is stored [K, N]) as
/// panels of 16 output columns; `pairK` interleaves pairs of k for vdpbf16ps (bf16).
std::string packMatmulPanels(const std::vector<float> &values, int64_t n, int64_t k,
                             bool transposed, StoredType type, bool pairK);

/// The sizes of what packRowMajor and packMatmulPanels return, known before the values
/// are read (the artifact's weight table is written first).
int64_t rowMajorBytes(int64_t count, StoredType type);
int64_t matmulPanelsBytes(int64_t n, int64_t k, StoredType type, bool pairK);

} // namespace mvc

#endif
