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
  fn = builder.create<func::FuncOp>(location, name,
                                    builder.getFunctionType({ptr, ptr, i64, i64}, {}));
  Block *entry = fn.addEntryBlock();
  builder.setInsertionPointToStart(entry);
  bindingsArg = entry->getArgument(0);
  pushArg = entry->getArgument(1);
  wgId = builder.create<arith::IndexCastOp>(location, builder.getIndexType(), entry->getArgument(2));
  wgCount = builder.create<arith::IndexCastOp>(location, builder.getIndexType(), entry->getArgument(3));
}

Value KernelBuilder::binding(int i, Type elementType) {
  MLIRContext *ctx = builder.getContext();
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  auto i64 = builder.getI64Type();
  Value slot = builder.create<LLVM::GEPOp>(location, ptr, ptr, bindingsArg,
                                           ArrayRef<LLVM::GEPArg>{i});
  Value base = builder.create<LLVM::LoadOp>(location, ptr, slot);
  // A flat memref descriptor {allocated, aligned, offset, sizes[1], strides[1]}: the
  // kernels index it themselves, so the size only has to be large.
  auto arr = LLVM::LLVMArrayType::get(i64, 1);
  auto descType = LLVM::LLVMStructType::getLiteral(ctx, {ptr, ptr, i64, arr, arr});
  Value desc = builder.create<LLVM::UndefOp>(location, descType);
  auto c64 = [&](int64_t v) {
    return builder.create<LLVM::ConstantOp>(location, i64, builder.getI64IntegerAttr(v));
  };
  desc = builder.create<LLVM::InsertValueOp>(location, desc, base, ArrayRef<int64_t>{0});
  desc = builder.create<LLVM::InsertValueOp>(location, desc, base, ArrayRef<int64_t>{1});
  desc = builder.create<LLVM::InsertValueOp>(location, desc, c64(0), ArrayRef<int64_t>{2});
  desc = builder.create<LLVM::InsertValueOp>(location, desc, c64(int64_t(1) << 40),
                                             ArrayRef<int64_t>{3, 0});
  desc = builder.create<LLVM::InsertValueOp>(location, desc, c64(1), ArrayRef<int64_t>{4, 0});
  auto memrefType = MemRefType::get({ShapedType::kDynamic}, elementType);
  return builder.create<UnrealizedConversionCastOp>(location, memrefType, desc).getResult(0);
}

Value KernelBuilder::push(int i) {
  auto ptr = LLVM::LLVMPointerType::get(builder.getContext());
  auto i64 = builder.getI64Type();
  Value slot = builder.create<LLVM::GEPOp>(location, ptr, i64, pushArg, ArrayRef<LLVM::GEPArg>{i});
  Value v = builder.create<LLVM::LoadOp>(location, i64, slot);
  return builder.create<arith::IndexCastOp>(location, builder.getIndexType(), v);
}

Value KernelBuilder::idx(int64_t v) { return builder.create<arith::ConstantIndexOp>(location, v); }
Value KernelBuilder::f32(float v) {
  return builder.create<arith::ConstantOp>(location, builder.getF32FloatAttr(v));
}
Value KernelBuilder::i32(int32_t v) {
  return builder.create<arith::ConstantOp>(location, builder.getI32IntegerAttr(v));
}

Value KernelBuilder::loadF32(Value memref, Value index, int lanes) {
  Type elem = cast<MemRefType>(memref.getType()).getElementType();
  Value v;
  if (lanes == 0) {
    v = builder.create<memref::LoadOp>(location, memref, index);
  } else {
    v = builder.create<vector::LoadOp>(location, VectorType::get({lanes}, elem), memref, index);
  }
  if (elem.isF32()) return v;
  Type f32Type = builder.getF32Type();
  Type target = lanes ? Type(VectorType::get({lanes}, f32Type)) : f32Type;
  if (isa<FloatType>(elem)) return builder.create<arith::ExtFOp>(location, target, v);
  return builder.create<arith::SIToFPOp>(location, target, v);
}

void KernelBuilder::storeF32(Value value, Value memref, Value index) {
  Type elem = cast<MemRefType>(memref.getType()).getElementType();
  if (!elem.isF32()) {
    Type target = elem;
    if (auto vt = dyn_cast<VectorType>(value.getType())) target = VectorType::get(vt.getShape(), elem);
    value = builder.create<arith::TruncFOp>(location, target, value);
  }
  if (isa<VectorType>(value.getType()))
    builder.create<vector::StoreOp>(location, value, memref, index);
  else
    builder.create<memref::StoreOp>(location, value, memref, index);
}

Value KernelBuilder::splatLike(Value scalar, Value like) {
  if (auto vt = dyn_cast<VectorType>(like.getType()))
    return builder.create<vector::BroadcastOp>(location, vt, scalar);
  return scalar;
}

void KernelBuilder::forRange(Value lo, Value hi, int64_t step,
                             const std::function<void(Value)> &body) {
  auto loop = builder.create<scf::ForOp>(location, lo, hi, idx(step));
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
    if (isMax) return builder.create<arith::MaximumFOp>(location, a, c);
    return builder.create<arith::AddFOp>(location, a, c);
  };
  Value acc = f32(init);
  if (main > 0) {
    Value vinit = builder.create<vector::BroadcastOp>(location, vecType(), f32(init));
    auto loop = builder.create<scf::ForOp>(location, idx(0), idx(main), idx(vl), ValueRange{vinit});
    {
      OpBuilder::InsertionGuard guard(builder);
      builder.setInsertionPointToStart(loop.getBody());
      Value next = combine(loop.getRegionIterArgs()[0], body(loop.getInductionVar(), vl));
      builder.create<scf::YieldOp>(location, next);
    }
    acc = builder.create<vector::ReductionOp>(
        location, isMax ? vector::CombiningKind::MAXIMUMF : vector::CombiningKind::ADD,
        loop.getResult(0));
  }
  if (main < count) {
    auto loop = builder.create<scf::ForOp>(location, idx(main), idx(count), idx(1), ValueRange{acc});
    OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPointToStart(loop.getBody());
    builder.create<scf::YieldOp>(location,
                                 combine(loop.getRegionIterArgs()[0], body(loop.getInductionVar(), 0)));
    builder.setInsertionPointAfter(loop);
    acc = loop.getResult(0);
  }
  return acc;
}

std::pair<Value, Value> KernelBuilder::workgroupSlice(Value total) {
  // Even split, remainder spread over the first workgroups.
  Value per = builder.create<arith::DivUIOp>(location, total, wgCount);
  Value rem = builder.create<arith::RemUIOp>(location, total, wgCount);
  Value extraBefore = builder.create<arith::MinUIOp>(location, wgId, rem);
  Value begin = builder.create<arith::AddIOp>(
      location, builder.create<arith::MulIOp>(location, wgId, per), extraBefore);
  Value hasExtra = builder.create<arith::CmpIOp>(location, arith::CmpIPredicate::ult, wgId, rem);
  Value size = builder.create<arith::AddIOp>(
      location, per, builder.create<arith::SelectOp>(location, hasExtra, idx(1), idx(0)));
  return {begin, builder.create<arith::AddIOp>(location, begin, size)};
}

void KernelBuilder::finish() { builder.create<func::ReturnOp>(location); }

Value emitElementwise(OpBuilder &b, Location loc, Operation *op, ArrayRef<Value> v) {
  auto splat = [&](float c) -> Value {
    Value s = b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(c));
    if (auto vt = dyn_cast<VectorType>(v[0].getType()))
      return b.create<vector::BroadcastOp>(loc, vt, s);
    return s;
  };
  auto mul = [&](Value x, Value y) -> Value { return b.create<arith::MulFOp>(loc, x, y); };
  auto add = [&](Value x, Value y) -> Value { return b.create<arith::AddFOp>(loc, x, y); };
  if (isa<AddOp>(op)) return add(v[0], v[1]);
  if (isa<SubOp>(op)) return b.create<arith::SubFOp>(loc, v[0], v[1]);
  if (isa<MulOp>(op)) return mul(v[0], v[1]);
  if (isa<DivOp>(op)) return b.create<arith::DivFOp>(loc, v[0], v[1]);
  if (isa<NegOp>(op)) return b.create<arith::NegFOp>(loc, v[0]);
  if (isa<ExpOp>(op)) return b.create<math::ExpOp>(loc, v[0]);
  if (isa<TanhOp>(op)) return b.create<math::TanhOp>(loc, v[0]);
  if (auto s = dyn_cast<ScaleOp>(op)) return mul(v[0], splat(s.getFactor().convertToFloat()));
  if (auto s = dyn_cast<SoftcapOp>(op)) {
    float cap = s.getCap().convertToFloat();
    Value t = b.create<math::TanhOp>(loc, b.create<arith::DivFOp>(loc, v[0], splat(cap)));
    return mul(t, splat(cap));
  }
  if (isa<SiluOp>(op)) {
    Value e = b.create<math::ExpOp>(loc, b.create<arith::NegFOp>(loc, v[0]));
    return b.create<arith::DivFOp>(loc, v[0], add(splat(1.0f), e));
  }
  if (auto g = dyn_cast<GeluOp>(op)) {
    Value x = v[0];
    Value inner;
    if (g.getApproximate() == "tanh") {
      // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
      Value x3 = mul(mul(x, x), x);
      Value u = mul(splat(0.7978845608028654f), add(x, mul(splat(0.044715f), x3)));
      inner = b.create<math::TanhOp>(loc, u);
    } else {
      inner = b.create<math::ErfOp>(loc, mul(x, splat(0.7071067811865476f)));
    }
    return mul(mul(splat(0.5f), x), add(splat(1.0f), inner));
  }
  if (auto c = dyn_cast<CastOp>(op)) {
    Type elem = c.getType().getElementType();
    if (elem.isF32()) return v[0];
    // Round through the narrower type so later f32 math sees what a bf16/f16 tensor holds.
    Type narrow = elem;
    if (auto vt = dyn_cast<VectorType>(v[0].getType())) narrow = VectorType::get(vt.getShape(), elem);
    Value t = b.create<arith::TruncFOp>(loc, narrow, v[0]);
    return b.create<arith::ExtFOp>(loc, v[0].getType(), t);
  }
  llvm_unreachable("not an elementwise op");
}

} // namespace mvc
