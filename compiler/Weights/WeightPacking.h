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

/// ggml's Q8_0: per 32 values of a row, an f16 scale d and 32 int8 q, value = d·q.
constexpr int64_t kQ8_0Block = 32;
constexpr int64_t kQ8_0BlockBytes = 2 + kQ8_0Block; // as a GGUF file stores a block

/// Rows of `k` values (k a multiple of 32) as GGUF Q8_0 blocks, rounded as ggml's
/// reference quantizer does (d = amax / 127 rounded to f16, q = roundf(x · (1 / d)) with
/// the unrounded d): bit-identical to ggml and the `gguf` package.
std::string quantizeQ8_0(const std::vector<float> &values, int64_t k);

/// A matmul rhs W[N, K] given as GGUF Q8_0 blocks (row-major, K / 32 blocks per row) in
/// the `q8_0_n16` layout (FORMAT.md): per panel of 16 rows and per 32-block of K, the 16
/// f16 scales, then the 32 × 16 int8 values k-major. N is padded with zero blocks.
std::string packQ8_0Panels(const std::string &blocks, int64_t n, int64_t k);
int64_t q8_0PanelsBytes(int64_t n, int64_t k);

} // namespace mvc

#endif
