//===- GpuMma.cpp - tensor-core building blocks of the gpu kernels -------===//
#include "compiler/Codegen/CUDA/GpuMma.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;

namespace mvc {

static Value i32Const(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(static_cast<int32_t>(v)));
}

Value packBf16(OpBuilder &b, Location loc, Value lo, Value hi) {
  auto bits = [&](Value v) -> Value {
    Value h = arith::TruncFOp::create(b, loc, b.getBF16Type(), v);
    Value i = arith::BitcastOp::create(b, loc, b.getI16Type(), h);
    return arith::ExtUIOp::create(b, loc, b.getI32Type(), i);
  };
  return arith::OrIOp::create(b, loc, bits(lo),
                              arith::ShLIOp::create(b, loc, bits(hi), i32Const(b, loc, 16)));
}

SmallVector<Value, 3> splitBf16(OpBuilder &b, Location loc, Value lo, Value hi, int parts) {
  auto rest = [&](Value v) -> Value {
    Value big = arith::ExtFOp::create(b, loc, b.getF32Type(),
                                      Value(arith::TruncFOp::create(b, loc, b.getBF16Type(), v)));
    return arith::SubFOp::create(b, loc, v, big);
  };
  SmallVector<Value, 3> out;
  for (int i = 0; i < parts; ++i) {
    out.push_back(packBf16(b, loc, lo, hi));
    if (i + 1 < parts) {
      lo = rest(lo);
      hi = rest(hi);
    }
  }
  return out;
}

Value tf32Bits(OpBuilder &b, Location loc, Value v) {
  Value i = arith::BitcastOp::create(b, loc, b.getI32Type(), v);
  i = arith::AddIOp::create(b, loc, i, i32Const(b, loc, 0x1000));
  return arith::AndIOp::create(b, loc, i, i32Const(b, loc, int32_t(0xffffe000)));
}

std::pair<Value, Value> splitTf32(OpBuilder &b, Location loc, Value v) {
  Value big = tf32Bits(b, loc, v);
  Value rest =
      arith::SubFOp::create(b, loc, v, arith::BitcastOp::create(b, loc, b.getF32Type(), big));
  return {big, tf32Bits(b, loc, rest)};
}

void mmaSync(OpBuilder &b, Location loc, ArrayRef<Value> a, ArrayRef<Value> bFrag,
             MutableArrayRef<Value> acc, NVVM::MMATypes type) {
  Type f32 = b.getF32Type();
  int64_t k = type == NVVM::MMATypes::tf32 ? 8 : 16;
  auto resultType = LLVM::LLVMStructType::getLiteral(b.getContext(), {f32, f32, f32, f32});
  auto op = NVVM::MmaOp::create(
      b, loc, resultType, a, bFrag, ValueRange(acc), ArrayRef<int64_t>{16, 8, k}, std::nullopt,
      std::nullopt, std::array<NVVM::MMATypes, 2>{type, type},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row, NVVM::MMALayout::col});
  for (int64_t r = 0; r < 4; ++r)
    acc[r] = LLVM::ExtractValueOp::create(b, loc, op.getRes(), ArrayRef<int64_t>{r});
}

Value sharedElementPointer(OpBuilder &b, Location loc, Value memref, Value index) {
  auto type = cast<MemRefType>(memref.getType());
  auto ptr3 = LLVM::LLVMPointerType::get(b.getContext(), 3);
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref);
  base = arith::IndexCastOp::create(b, loc, b.getI64Type(), base);
  Value p = LLVM::IntToPtrOp::create(b, loc, ptr3, base);
  Value i = arith::IndexCastOp::create(b, loc, b.getI64Type(), index);
  return LLVM::GEPOp::create(b, loc, ptr3, type.getElementType(), p, ValueRange{i});
}

Value globalElementPointer(OpBuilder &b, Location loc, Value base, Type elementType, Value index) {
  Value i = arith::IndexCastOp::create(b, loc, b.getI64Type(), index);
  return LLVM::GEPOp::create(b, loc, base.getType(), elementType, base, ValueRange{i});
}

SmallVector<Value> ldmatrix(OpBuilder &b, Location loc, Value ptr, int num, bool trans) {
  Type i32 = b.getI32Type();
  Type resultType = num == 1 ? i32
                             : Type(LLVM::LLVMStructType::getLiteral(
                                   b.getContext(), SmallVector<Type>(num, i32)));
  Value res = NVVM::LdMatrixOp::create(
      b, loc, resultType, ptr, num, trans ? NVVM::MMALayout::col : NVVM::MMALayout::row,
      NVVM::LdStMatrixShapeAttr::get(b.getContext(), 8, 8), NVVM::LdStMatrixEltType::B16);
  if (num == 1) return {res};
  SmallVector<Value> words;
  for (int64_t i = 0; i < num; ++i)
    words.push_back(LLVM::ExtractValueOp::create(b, loc, res, ArrayRef<int64_t>{i}));
  return words;
}

void cpAsync(OpBuilder &b, Location loc, Value dst, Value src, int bytes, Value srcBytes) {
  // .cg (L2 only) exists for 16-byte copies; smaller ones go through L1 (.ca).
  auto cache = bytes == 16 ? NVVM::LoadCacheModifierKind::CG : NVVM::LoadCacheModifierKind::CA;
  NVVM::CpAsyncOp::create(b, loc, dst, src, static_cast<uint32_t>(bytes), cache, srcBytes);
}

void cpAsyncCommit(OpBuilder &b, Location loc) { NVVM::CpAsyncCommitGroupOp::create(b, loc); }

void cpAsyncWait(OpBuilder &b, Location loc, int pending) {
  NVVM::CpAsyncWaitGroupOp::create(b, loc, static_cast<uint32_t>(pending));
}

} // namespace mvc
