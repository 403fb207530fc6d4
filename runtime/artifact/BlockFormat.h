//===- BlockFormat.h - the ggml block formats kernels decode -----*- C++ -*-===//
//
// The block formats a weight may be stored in (`mvc-compile --dtype keep|q8_0|...`), and the
// layout `<format>_n16` the cpu kernels read (runtime/artifact/FORMAT.md). Values come in
// blocks of 32 along a row: ggml's q8_0, q4_0, q4_1, q5_0, q5_1 give each block an f16
// scale d (and an f16 min m for the _1 formats); the k-quants q4_k and q5_k group 8 blocks
// (256 values) under one f16 d and dmin, each block with 6-bit multipliers sc and m (value =
// d·sc·q − dmin·m). The layout puts the 16 rows of a panel side by side, per group: the
// f16 fields, the k-quants' sc and m as bytes, the fifth bits, then the quants — the
// GGUF bytes reordered (the k-quants' 12 packed bytes of sc/m spelled out as 16). MLIR-free:
// the manifest reader validates sizes with it, the compiler packs and the kernel templates
// decode with it.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_ARTIFACT_BLOCKFORMAT_H
#define MVC_RUNTIME_ARTIFACT_BLOCKFORMAT_H

#include <cstdint>
#include <string_view>

namespace mvc {

struct BlockFormat {
  std::string_view name;  // as ggml names the type, lower case: "q4_1"
  int64_t groupValues;    // values per GGUF block: 32, or 256 (k-quants: 8 blocks of 32)
  int64_t groupBytes;     // bytes of one GGUF block
  int bits;               // 8 (signed values), 4 or 5 (unsigned)
  bool hasMin;            // value = d·q + m (q4_1, q5_1), d·sc·q − dmin·m (k-quants)
  int offset;             // q4_0: 8, q5_0: 16 (value = d·(q − offset)), others 0
  bool quantizable;       // mvc-compile --dtype <name> quantizes to it (not the k-quants)

  static constexpr int64_t kValues = 32;  // values per block (one scale)
  static constexpr int64_t kRows = 16;    // rows per panel

  bool hasHigh() const { return bits == 5; }
  bool kQuant() const { return groupValues > kValues; }
  int64_t blocksPerGroup() const { return groupValues / kValues; }
  /// The fields of a panel-group (16 rows x groupValues values), as byte offsets; `j` is
  /// the block within the group. d (16 f16); m or dmin (16 f16); k-quants: sc of block j
  /// (16 u8), m of block j (16 u8); the fifth bits of block j (16 u32: bit i of a row's
  /// word is its value i's); the quants of block j: 8-bit 32 x 16 int8, k-major; 4/5-bit
  /// 16 x 16 bytes, byte (i, row) holding value i (low nibble) and i + 16 (high nibble).
  int64_t minOffset() const { return 2 * kRows; }
  int64_t subScaleOffset(int64_t j) const { return 4 * kRows + kRows * j; }
  int64_t subMinOffset(int64_t j) const { return 4 * kRows + kRows * (blocksPerGroup() + j); }
  int64_t highOffset(int64_t j) const {
    int64_t base = kQuant() ? 4 * kRows + 2 * kRows * blocksPerGroup() : 2 * kRows * (hasMin ? 2 : 1);
    return base + 4 * kRows * j;
  }
  int64_t quantBytes() const { return bits == 8 ? kValues * kRows : kValues / 2 * kRows; }
  int64_t quantOffset(int64_t j) const {
    return highOffset(0) + (hasHigh() ? 4 * kRows * blocksPerGroup() : 0) + quantBytes() * j;
  }
  int64_t panelGroupBytes() const { return quantOffset(blocksPerGroup()); }
  /// Bytes of an [n, k] weight in this layout (n padded to whole panels).
  int64_t panelsBytes(int64_t n, int64_t k) const {
    return (n + kRows - 1) / kRows * (k / groupValues) * panelGroupBytes();
  }
};

/// The format named `name` ("q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_k", "q5_k");
/// nullptr for any other.
const BlockFormat *findBlockFormat(std::string_view name);

} // namespace mvc

#endif // MVC_RUNTIME_ARTIFACT_BLOCKFORMAT_H
