//===- BlockFormat.h - the ggml block formats kernels decode -----*- C++ -*-===//
//
// The block formats a weight may be stored in (`mvc-compile --dtype keep|q8_0|...`): ggml's
// 32-value blocks, each with an f16 scale d (and an f16 min m for the _1 formats), and the
// layout `<format>_n16` the cpu kernels read (runtime/artifact/FORMAT.md): per panel of 16
// rows and block of 32 k, the 16 rows' fields side by side (d, m, high bits, quants), the
// same bytes as the GGUF blocks, reordered. MLIR-free: the manifest reader validates sizes
// with it, the compiler packs and the kernel templates decode with it.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_ARTIFACT_BLOCKFORMAT_H
#define MVC_RUNTIME_ARTIFACT_BLOCKFORMAT_H

#include <cstdint>
#include <string_view>

namespace mvc {

struct BlockFormat {
  std::string_view name;  // as ggml names the type, lower case: "q4_1"
  int64_t blockBytes;     // bytes of one GGUF block of 32 values
  int bits;               // 8 (signed values), 4 or 5 (unsigned)
  bool hasMin;            // value = d·q + m (q4_1, q5_1); else d·(q - offset)
  int offset;             // q4_0: 8, q5_0: 16, others 0

  static constexpr int64_t kValues = 32;  // values per block
  static constexpr int64_t kRows = 16;    // rows per panel

  bool hasHigh() const { return bits == 5; }
  /// Bytes of one panel-block (16 rows x 32 values) and the offsets of its fields:
  /// d (16 f16), m (16 f16), the high bits (16 u32: bit k of a row is its value k's fifth
  /// bit), then the quants: 8-bit: 32 x 16 int8, k-major; 4/5-bit: 16 x 16 bytes, byte
  /// (i, row) holding value i (low nibble) and value i + 16 (high nibble) of the row.
  int64_t panelBlockBytes() const { return kRows * blockBytes; }
  int64_t minOffset() const { return 2 * kRows; }
  int64_t highOffset() const { return 2 * kRows * (hasMin ? 2 : 1); }
  int64_t quantOffset() const { return highOffset() + (hasHigh() ? 4 * kRows : 0); }
  /// Bytes of an [n, k] weight in this layout (n padded to whole panels).
  int64_t panelsBytes(int64_t n, int64_t k) const {
    return (n + kRows - 1) / kRows * (k / kValues) * panelBlockBytes();
  }
};

/// The format named `name` ("q8_0", "q4_0", "q4_1", "q5_0", "q5_1"); nullptr for any other.
const BlockFormat *findBlockFormat(std::string_view name);

} // namespace mvc

#endif // MVC_RUNTIME_ARTIFACT_BLOCKFORMAT_H
