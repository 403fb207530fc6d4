//===- BlockFormat.h - the ggml block formats kernels decode -----*- C++ -*-===//
//
// The block formats a weight may be stored in (`mvc-compile --dtype keep|q8_0|...`), and the
// layout `<format>_n16` the cpu kernels read (runtime/artifact/FORMAT.md). Values come in
// blocks of 32 along a row: ggml's q8_0, q4_0, q4_1, q5_0, q5_1 give each block an f16
// scale d (and an f16 min m for the _1 formats); the k-quants q4_k and q5_k group 8 blocks
// (256 values) under one f16 d and dmin, each block with 6-bit multipliers sc and m (value =
// d·sc·q − dmin·m); q6_k groups them under one d with an int8 scale per 16 values (value =
// d·sc·(q − 32)). The layout puts the 16 rows of a panel side by side, per group: the
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
  int bits;               // 8 (signed values), 4, 5 or 6 (unsigned, less `offset`)
  bool hasMin;            // value = d·q + m (q4_1, q5_1), d·sc·q − dmin·m (q4_k, q5_k)
  int offset;             // q4_0: 8, q5_0: 16, q6_k: 32 (value = d·(q − offset)), others 0

  static constexpr int64_t kValues = 32;  // values per block
  static constexpr int64_t kRows = 16;    // rows per panel

  bool kQuant() const { return groupValues > kValues; }
  int64_t blocksPerGroup() const { return groupValues / kValues; }
  /// Bits above the low nibble of each 4/5/6-bit value: 0, 1 (q5) or 2 (q6_k).
  int highBits() const { return bits == 8 ? 0 : bits - 4; }
  /// k-quant multipliers per block: q6_k has one int8 scale per 16 values (the low and
  /// high nibbles of a block), q4_k / q5_k one 6-bit sc (and m) per 32.
  int64_t scalesPerBlock() const { return bits == 6 ? 2 : 1; }
  /// The fields of a panel-group (16 rows x groupValues values), as byte offsets; `j` is
  /// the block within the group. d (16 f16); m or dmin (16 f16, formats with a min);
  /// k-quants: each block's multipliers (16 u8 sc; q6_k: 2 x 16 int8 scales), then each
  /// block's m (16 u8, q4_k / q5_k); the high bits of each block (16 u32 per bit: q5: bit i
  /// of a row's word is value i's fifth bit; q6_k: two words per row, bits 2i..2i+1 of
  /// word i / 16 are value i's two high bits); then each block's quants: 8-bit 32 x 16
  /// int8, k-major; else 16 x 16 bytes, byte (i, row) holding value i (low nibble) and
  /// i + 16 (high nibble).
  int64_t minOffset() const { return 2 * kRows; }
  /// Bytes of the f16 fields at the start of a panel-group (d, and m or dmin).
  int64_t fieldsBytes() const { return 2 * kRows * (hasMin ? 2 : 1); }
  int64_t subScaleOffset(int64_t j) const { return fieldsBytes() + kRows * scalesPerBlock() * j; }
  int64_t subMinOffset(int64_t j) const {
    return fieldsBytes() + kRows * scalesPerBlock() * blocksPerGroup() + kRows * j;
  }
  int64_t highOffset(int64_t j) const { return highBase() + 4 * kRows * highBits() * j; }
  int64_t quantBytes() const { return bits == 8 ? kValues * kRows : kValues / 2 * kRows; }
  int64_t quantOffset(int64_t j) const {
    return highBase() + 4 * kRows * highBits() * blocksPerGroup() + quantBytes() * j;
  }
  int64_t panelGroupBytes() const { return quantOffset(blocksPerGroup()); }
  /// Bytes of an [n, k] weight in this layout (n padded to whole panels).
  int64_t panelsBytes(int64_t n, int64_t k) const {
    return (n + kRows - 1) / kRows * (k / groupValues) * panelGroupBytes();
  }

private:
  int64_t highBase() const {
    return fieldsBytes() +
           (kQuant() ? kRows * blocksPerGroup() * (scalesPerBlock() + (hasMin ? 1 : 0)) : 0);
  }
};

/// The format named `name` ("q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_k", "q5_k", "q6_k");
/// nullptr for any other.
const BlockFormat *findBlockFormat(std::string_view name);

} // namespace mvc

#endif // MVC_RUNTIME_ARTIFACT_BLOCKFORMAT_H
