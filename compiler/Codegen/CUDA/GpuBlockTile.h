//===- GpuBlockTile.h - block-format weight tiles of the gpu matmul -*- C++ -*-===//
//
// The weight side of a gpu matmul whose W[N, K] is stored `<format>_n16` (the ggml block
// formats, runtime/artifact/BlockFormat.h). One K step of the matmul is one 32-value
// block: `copy` starts cp.async copies of the step's bytes of each 16-row panel of the
// block tile (the panel-group's f16 fields, the block's k-quant multipliers, high bits and
// quants; about the file's bytes, never a dequantized tile) into a shared-memory stage.
// The warps then decode their mma.sync B fragments straight from those bytes: the
// integer values (less the q4_0 / q5_0 / q6_k offsets), exact in bf16, so the tensor
// cores multiply them without rounding; `scale` and `minimum` give each output column's
// d (·sc) and min (−dmin·m) that the kernel applies to the block's integer sums.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_COMPILER_CODEGEN_CUDA_GPUBLOCKTILE_H
#define MVC_COMPILER_CODEGEN_CUDA_GPUBLOCKTILE_H

#include "compiler/Codegen/Common/KernelMath.h"
#include "compiler/Codegen/CUDA/GpuKernelBuilder.h"
#include "runtime/artifact/BlockFormat.h"

namespace mvc {

class GpuBlockTile : KernelMath {
public:
  /// `weights`: the global pointer of the packed W[n, k]; `tileN` rows (whole panels) per
  /// block tile, `stages` shared-memory copies.
  GpuBlockTile(GpuKernelBuilder &kb, const BlockFormat &format, mlir::Value weights, int64_t n,
               int64_t k, int64_t tileN, int64_t stages);

  /// Starts the copies of the block at K offset `k0` (a multiple of 32) of W's rows
  /// [n0, n0 + tileN) into stage `stage`; panels past W's end are zero-filled (d = 0).
  void copy(mlir::Value stage, mlir::Value n0, mlir::Value k0);

  /// The m16n8k16 B fragment of tile row `row` (this lane's n) at values `k2`, `k2` + 1,
  /// `k2` + 8, `k2` + 9 of the block's half `half` (0: values 0..15, 1: 16..31), as two
  /// i32 bf16 pairs.
  llvm::SmallVector<mlir::Value, 2> fragment(mlir::Value stage, mlir::Value row, mlir::Value k2,
                                             int half);
  /// The f32 multiplier of tile row `row`'s integer sums over `half` of the block: d,
  /// d·sc (q4_k, q5_k), or d·sc of that half (q6_k scales its two halves apart).
  mlir::Value scale(mlir::Value stage, mlir::Value row, int half);
  /// The f32 multiplier of the block's activation sum for tile row `row`: m (q4_1, q5_1),
  /// −dmin·m (q4_k, q5_k). Only for formats with a min.
  mlir::Value minimum(mlir::Value stage, mlir::Value row);

  bool hasMin() const { return format.hasMin; }
  /// q6_k: the two halves of a block have their own scales.
  bool scalesPerHalf() const { return format.scalesPerBlock() > 1; }

private:
  /// The word of the current stage holding byte `byte` (an index), and that byte, the
  /// f16 at it (as f32) and an i32 shift by an index amount.
  mlir::Value word(mlir::Value byte);
  mlir::Value byteAt(mlir::Value byte);
  mlir::Value halfAt(mlir::Value byte);
  mlir::Value i32(mlir::Value index);
  mlir::Value i32(int64_t v);
  /// The byte offset of field `offset` of tile row `row`'s panel in stage `stage`.
  mlir::Value panelByte(mlir::Value stage, mlir::Value row, int64_t offset);

  GpuKernelBuilder &kb;
  mlir::OpBuilder &b;
  mlir::Location loc;
  const BlockFormat &format;
  mlir::Value weights, raw;
  int64_t n, k, tileN;
  // A stage holds, per panel of the tile, `recordBytes`: the f16 fields (d, and m or
  // dmin), the block's k-quant multipliers (sc, then m), its high bits and its quants.
  int64_t scalesAt = 0, minsAt = 0, highsAt = 0, quantsAt = 0, recordBytes = 0;
};

} // namespace mvc

#endif
