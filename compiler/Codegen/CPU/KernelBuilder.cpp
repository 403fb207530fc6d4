//===- KernelBuilder.cpp - building kernels of the mvc kernel ABI --------===//
#include "compiler/Codegen/CPU/KernelBuilder.h"

#include "dialects/mvc/IR/MvcOps.h"

#include <cmath>

using namespace mlir;

namespace mvc {

KernelBuilder::KernelBuilder(ModuleOp module, StringRef name, const CpuTarget &target)
    : builder(module.getContext()), location(module.getLoc()), cpu(target) {
  MLIRContext *ctx = module.getContext();
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  auto i64 = builder.getI64Type();
  builder.setInsertionPointToEnd(module.getBody());
  fn = func::FuncOp::create(builder, location, name,
                            builder.getFunctionType({ptr, ptr, i64, i64}, {}));
  Block *entry = fn.addEntryBlock();
  builder.setInsertionPointToStart(entry);
  bindingsArg = entry->getArgument(0);
  pushArg = entry->getArgument(1);
  wgId =
      arith::IndexCastOp::create(builder, location, builder.getIndexType(), entry->getArgument(2));
  wgCount =
      arith::IndexCastOp::create(builder, location, builder.getIndexType(), entry->getArgument(3));
}

Value KernelBuilder::binding(int i, Type elementType) {
  MLIRContext *ctx = builder.getContext();
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  auto i64 = builder.getI64Type();
  Value slot =
      LLVM::GEPOp::create(builder, location, ptr, ptr, bindingsArg, ArrayRef<LLVM::GEPArg>{i});
  Value base = LLVM::LoadOp::create(builder, location, ptr, slot);
  // A flat memref descriptor {allocated, aligned, offset, sizes[1], strides[1]}: the
  // kernels index it themselves, so the size only has to be large.
  auto arr = LLVM::LLVMArrayType::get(i64, 1);
  auto descType = LLVM::LLVMStructType::getLiteral(ctx, {ptr, ptr, i64, arr, arr});
  Value desc = LLVM::UndefOp::create(builder, location, descType);
  auto c64 = [&](int64_t v) {
    return LLVM::ConstantOp::create(builder, location, i64, builder.getI64IntegerAttr(v));
  };
  desc = LLVM::InsertValueOp::create(builder, location, desc, base, ArrayRef<int64_t>{0});
  desc = LLVM::InsertValueOp::create(builder, location, desc, base, ArrayRef<int64_t>{1});
  desc = LLVM::InsertValueOp::create(builder, location, desc, c64(0), ArrayRef<int64_t>{2});
  desc = LLVM::InsertValueOp::create(builder, location, desc, c64(int64_t(1) << 40),
                                     ArrayRef<int64_t>{3, 0});
  desc = LLVM::InsertValueOp::create(builder, location, desc, c64(1), ArrayRef<int64_t>{4, 0});
  auto memrefType = MemRefType::get({ShapedType::kDynamic}, elementType);
  return UnrealizedConversionCastOp::create(builder, location, memrefType, desc).getResult(0);
}

Value KernelBuilder::push(int i) {
  auto ptr = LLVM::LLVMPointerType::get(builder.getContext());
  auto i64 = builder.getI64Type();
  Value slot = LLVM::GEPOp::create(builder, location, ptr, i64, pushArg, ArrayRef<LLVM::GEPArg>{i});
  Value v = LLVM::LoadOp::create(builder, location, i64, slot);
  return arith::IndexCastOp::create(builder, location, builder.getIndexType(), v);
}

Value KernelBuilder::idx(int64_t v) { return arith::ConstantIndexOp::create(builder, location, v); }
Value KernelBuilder::f32(float v) {
  return arith::ConstantOp::create(builder, location, builder.getF32FloatAttr(v));
}
Value KernelBuilder::i32(int32_t v) {
  return arith::ConstantOp::create(builder, location, builder.getI32IntegerAttr(v));
}

Value KernelBuilder::loadF32(Value memref, Value index, int lanes) {
  Type elem = cast<MemRefType>(memref.getType()).getElementType();
  Value v;
  if (lanes == 0) {
    v = memref::LoadOp::create(builder, location, memref, index);
  } else {
    v = vector::LoadOp::create(builder, location, VectorType::get({lanes}, elem), memref, index);
  }
  if (elem.isF32()) return v;
  Type f32Type = builder.getF32Type();
  Type target = lanes ? Type(VectorType::get({lanes}, f32Type)) : f32Type;
  if (isa<FloatType>(elem)) return arith::ExtFOp::create(builder, location, target, v);
  return arith::SIToFPOp::create(builder, location, target, v);
}

void KernelBuilder::storeF32(Value value, Value memref, Value index) {
  Type elem = cast<MemRefType>(memref.getType()).getElementType();
  if (!elem.isF32()) {
    Type target = elem;
    if (auto vt = dyn_cast<VectorType>(value.getType())) target = VectorType::get(vt.getShape(), elem);
    value = arith::TruncFOp::create(builder, location, target, value);
  }
  if (isa<VectorType>(value.getType()))
    vector::StoreOp::create(builder, location, value, memref, index);
  else
    memref::StoreOp::create(builder, location, value, memref, index);
}

Value KernelBuilder::splatLike(Value scalar, Value like) {
  if (auto vt = dyn_cast<VectorType>(like.getType()))
    return vector::BroadcastOp::create(builder, location, vt, scalar);
  return scalar;
}

void KernelBuilder::forRange(Value lo, Value hi, int64_t step,
                             const std::function<void(Value)> &body) {
  auto loop = scf::ForOp::create(builder, location, lo, hi, idx(step));
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(loop.getBody());
  body(loop.getInductionVar());
}

void KernelBuilder::forChunks(int64_t count, const std::function<void(Value, int)> &body) {
  int vl = cpu.vectorWidth;
  int64_t main = count / vl * vl;
  if (main > 0) forRange(idx(0), idx(main), vl, [&](Value i) { body(i, vl); });
  if (main < count) forRange(idx(main), idx(count), 1, [&](Value i) { body(i, 0); });
}

Value KernelBuilder::reduceChunks(int64_t count, bool isMax,
                                  const std::function<Value(Value, int)> &body) {
  int vl = cpu.vectorWidth;
  int64_t main = count / vl * vl;
  float init = isMax ? -INFINITY : 0.0f;
  auto combine = [&](Value a, Value c) -> Value {
    if (isMax) return arith::MaximumFOp::create(builder, location, a, c);
    return arith::AddFOp::create(builder, location, a, c);
  };
  Value acc = f32(init);
  if (main > 0) {
    Value vinit = vector::BroadcastOp::create(builder, location, vecType(), f32(init));
    auto loop =
        scf::ForOp::create(builder, location, idx(0), idx(main), idx(vl), ValueRange{vinit});
    {
      OpBuilder::InsertionGuard guard(builder);
      builder.setInsertionPointToStart(loop.getBody());
      Value next = combine(loop.getRegionIterArgs()[0], body(loop.getInductionVar(), vl));
      scf::YieldOp::create(builder, location, next);
    }
    acc = vector::ReductionOp::create(
        builder, location, isMax ? vector::CombiningKind::MAXIMUMF : vector::CombiningKind::ADD,
        loop.getResult(0));
  }
  if (main < count) {
    auto loop =
        scf::ForOp::create(builder, location, idx(main), idx(count), idx(1), ValueRange{acc});
    OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPointToStart(loop.getBody());
    scf::YieldOp::create(builder, location,
                         combine(loop.getRegionIterArgs()[0], body(loop.getInductionVar(), 0)));
    builder.setInsertionPointAfter(loop);
    acc = loop.getResult(0);
  }
  return acc;
}

std::pair<Value, Value> KernelBuilder::workgroupSlice(Value total) {
  // Even split, remainder spread over the first workgroups.
  Value per = arith::DivUIOp::create(builder, location, total, wgCount);
  Value rem = arith::RemUIOp::create(builder, location, total, wgCount);
  Value extraBefore = arith::MinUIOp::create(builder, location, wgId, rem);
  Value begin = arith::AddIOp::create(
      builder, location, arith::MulIOp::create(builder, location, wgId, per), extraBefore);
  Value hasExtra = arith::CmpIOp::create(builder, location, arith::CmpIPredicate::ult, wgId, rem);
  Value size = arith::AddIOp::create(
      builder, location, per, arith::SelectOp::create(builder, location, hasExtra, idx(1), idx(0)));
  return {begin, arith::AddIOp::create(builder, location, begin, size)};
}

void KernelBuilder::finish() { func::ReturnOp::create(builder, location); }

} // namespace mvc
