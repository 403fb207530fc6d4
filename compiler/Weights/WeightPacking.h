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

#include "runtime/artifact/BlockFormat.h"

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

/// Rows of values (a multiple of format.groupValues each: 32, k-quants 256) as GGUF blocks
/// of `format`, rounded as ggml's reference quantizers do (q8_0: d = amax / 127,
/// q = roundf(x / d); q4_0 / q5_0: d from the value of largest magnitude over -8 / -16;
/// q4_1 / q5_1: d = (max - min) / 15 or 31 and m = min; the k-quants' scale search:
/// KQuants.h): bit-identical to ggml (and the `gguf` package where it quantizes).
std::string quantizeBlocks(const BlockFormat &format, const std::vector<float> &values);

/// A matmul rhs W[N, K] given as GGUF blocks of `format` (row-major, K / 32 blocks per row)
/// in the `<format>_n16` layout (BlockFormat.h, FORMAT.md). N is padded with zero blocks.
std::string packBlockPanels(const BlockFormat &format, const std::string &blocks, int64_t n,
                            int64_t k);

} // namespace mvc

#endif
