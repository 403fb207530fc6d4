//===- GpuMma.h - tensor-core building blocks of the gpu kernels --*- C++ -*-===//
//
// What the matmul and attention templates share to feed mma.sync (sm_80+): operand
// packing (bf16 pairs, tf32 splits for 3xTF32), the mma itself, and operand staging
// (cp.async global -> shared, ldmatrix shared -> fragment registers). Every op emitted
// here is in the NVVM vocabulary the cuda-emu backend emulates (CUDA_CONTRACT).
//
//===----------------------------------------------------------------------===//
#ifndef MVC_COMPILER_CODEGEN_CUDA_GPUMMA_H
#define MVC_COMPILER_CODEGEN_CUDA_GPUMMA_H

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/Builders.h"

namespace mvc {

/// Two f32 values rounded to bf16 and packed (lo in the low half), as mma wants them.
mlir::Value packBf16(mlir::OpBuilder &b, mlir::Location loc, mlir::Value lo, mlir::Value hi);

/// Two f32 values as `parts` bf16 pairs, largest first, that sum to them: 2 parts keep 16
/// significant bits, 3 all of an f32's 24. Products of an exact bf16 operand with each
/// part, summed in f32, are then as accurate as f32 products.
llvm::SmallVector<mlir::Value, 3> splitBf16(mlir::OpBuilder &b, mlir::Location loc, mlir::Value lo,
                                            mlir::Value hi, int parts);

/// An f32 rounded to tf32 (to nearest on the magnitude, low 13 mantissa bits cleared), as
/// the i32 an m16n8k8 .tf32 mma reads. Rounding rather than truncating keeps the 3xTF32
/// split unbiased: truncation errors all point toward zero and add up along K.
mlir::Value tf32Bits(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v);
/// v = big + small to about f32 accuracy, both as tf32 bits (3xTF32).
std::pair<mlir::Value, mlir::Value> splitTf32(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v);

/// acc[4] += A · B on one m16n8 tile: m16n8k16 for bf16 (A 4 x i32, B 2 x i32 bf16 pairs),
/// m16n8k8 for tf32 (A 4 x i32, B 2 x i32), row.col, f32 accumulators.
void mmaSync(mlir::OpBuilder &b, mlir::Location loc, mlir::ArrayRef<mlir::Value> a,
             mlir::ArrayRef<mlir::Value> bFrag, llvm::MutableArrayRef<mlir::Value> acc,
             mlir::NVVM::MMATypes type);

/// The address of element `index` of a 1-D shared-memory memref, as !llvm.ptr<3>.
mlir::Value sharedElementPointer(mlir::OpBuilder &b, mlir::Location loc, mlir::Value memref,
                                 mlir::Value index);
/// The address of element `index` of type `elementType` behind global pointer `base`.
mlir::Value globalElementPointer(mlir::OpBuilder &b, mlir::Location loc, mlir::Value base,
                                 mlir::Type elementType, mlir::Value index);

/// ldmatrix .m8n8 .b16 of `num` (1, 2 or 4) matrices, row `ptr` of this lane (lanes 8i..8i+7
/// give the rows of matrix i); `trans` transposes each matrix. One i32 per matrix.
llvm::SmallVector<mlir::Value> ldmatrix(mlir::OpBuilder &b, mlir::Location loc, mlir::Value ptr,
                                        int num, bool trans);

/// cp.async of `bytes` (4, 8 or 16) from global `src` to shared `dst` (both aligned to it).
/// With `srcBytes` (an i32 <= bytes), only that many are read and the rest is zero-filled.
void cpAsync(mlir::OpBuilder &b, mlir::Location loc, mlir::Value dst, mlir::Value src, int bytes,
             mlir::Value srcBytes = {});
void cpAsyncCommit(mlir::OpBuilder &b, mlir::Location loc);
/// Waits until at most `pending` committed groups of this thread are still in flight.
void cpAsyncWait(mlir::OpBuilder &b, mlir::Location loc, int pending);

} // namespace mvc

#endif
