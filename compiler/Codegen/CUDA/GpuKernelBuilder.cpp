//===- GpuKernelBuilder.cpp - building kernels of the gpu kernel ABI -----===//
#include "compiler/Codegen/CUDA/GpuKernelBuilder.h"

#include <cmath>

using namespace mlir;

namespace mvc {

GpuKernelBuilder::GpuKernelBuilder(gpu::GPUModuleOp module, StringRef name, int numBindings,
                                   int numPush, int64_t blockSize)
    : builder(module.getContext()), location(module.getLoc()), numBindings(numBindings),
      threads(blockSize) {
  MLIRContext *ctx = module.getContext();
  SmallVector<Type> args(numBindings, LLVM::LLVMPointerType::get(ctx, 1));
  args.append(numPush, builder.getI64Type());
  builder.setInsertionPointToEnd(module.getBody());
  fn = builder.create<gpu::GPUFuncOp>(location, name, builder.getFunctionType(args, {}));
  fn->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), builder.getUnitAttr());
  // The launch always uses exactly this many threads: ptxas may plan registers for it.
  fn.setKnownBlockSizeAttr(builder.getDenseI32ArrayAttr({int32_t(blockSize), 1, 1}));
  builder.setInsertionPointToStart(&fn.getBody().front());
  block = builder.create<gpu::BlockIdOp>(location, gpu::Dimension::x);
  thread = builder.create<gpu::ThreadIdOp>(location, gpu::Dimension::x);
}

Value GpuKernelBuilder::binding(int i, Type elementType) {
  auto key = std::make_pair(i, elementType.getAsOpaquePointer());
  if (auto it = bindings.find(key); it != bindings.end()) return it->second;
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointAfter(thread.getDefiningOp());
  MLIRContext *ctx = builder.getContext();
  auto ptr = LLVM::LLVMPointerType::get(ctx, 1);
  auto i64 = builder.getI64Type();
  Value base = fn.getArgument(i);
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
  auto memrefType = MemRefType::get({ShapedType::kDynamic}, elementType, AffineMap(),
                                    builder.getI64IntegerAttr(1));
  Value m = builder.create<UnrealizedConversionCastOp>(location, memrefType, desc).getResult(0);
  bindings[key] = m;
  return m;
}

void GpuKernelBuilder::setMinBlocksPerMultiprocessor(int blocks) {
  fn->setAttr("nvvm.minctasm", builder.getI32IntegerAttr(blocks));
}

Value GpuKernelBuilder::bindingPointer(int i) { return fn.getArgument(i); }

Value GpuKernelBuilder::push(int i) {
  return builder.create<arith::IndexCastOp>(location, builder.getIndexType(),
                                            fn.getArgument(numBindings + i));
}

Value GpuKernelBuilder::laneId() {
  return builder.create<arith::RemUIOp>(location, thread, idx(kWarpSize));
}
Value GpuKernelBuilder::warpId() {
  return builder.create<arith::DivUIOp>(location, thread, idx(kWarpSize));
}

Value GpuKernelBuilder::idx(int64_t v) { return builder.create<arith::ConstantIndexOp>(location, v); }
Value GpuKernelBuilder::f32(float v) {
  return builder.create<arith::ConstantOp>(location, builder.getF32FloatAttr(v));
}

Value GpuKernelBuilder::sharedArray(int64_t elems, Type type) {
  auto space = gpu::AddressSpaceAttr::get(builder.getContext(), gpu::AddressSpace::Workgroup);
  auto memrefType = MemRefType::get({elems}, type, AffineMap(), space);
  smemBytes += elems * std::max<int64_t>(1, type.getIntOrFloatBitWidth() / 8);
  return fn.addWorkgroupAttribution(memrefType, location);
}

void GpuKernelBuilder::barrier() { builder.create<gpu::BarrierOp>(location); }

Value GpuKernelBuilder::loadF32(Value memref, Value index) {
  Type elem = cast<MemRefType>(memref.getType()).getElementType();
  Value v = builder.create<memref::LoadOp>(location, memref, index);
  if (elem.isF32()) return v;
  if (isa<FloatType>(elem)) return builder.create<arith::ExtFOp>(location, builder.getF32Type(), v);
  return builder.create<arith::SIToFPOp>(location, builder.getF32Type(), v);
}

void GpuKernelBuilder::storeF32(Value value, Value memref, Value index) {
  Type elem = cast<MemRefType>(memref.getType()).getElementType();
  if (!elem.isF32()) value = builder.create<arith::TruncFOp>(location, elem, value);
  builder.create<memref::StoreOp>(location, value, memref, index);
}

void GpuKernelBuilder::forRange(Value lo, Value hi, int64_t step,
                                const std::function<void(Value)> &body) {
  auto loop = builder.create<scf::ForOp>(location, lo, hi, idx(step));
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(loop.getBody());
  body(loop.getInductionVar());
}

SmallVector<Value> GpuKernelBuilder::forRangeCarried(
    Value lo, Value hi, Value step, ValueRange init,
    const std::function<SmallVector<Value>(Value, ValueRange)> &body) {
  auto loop = builder.create<scf::ForOp>(location, lo, hi, step, init);
  {
    OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPointToStart(loop.getBody());
    SmallVector<Value> next = body(loop.getInductionVar(), loop.getRegionIterArgs());
    builder.create<scf::YieldOp>(location, next);
  }
  return SmallVector<Value>(loop.getResults());
}

void GpuKernelBuilder::forThreads(Value count, const std::function<void(Value)> &body) {
  auto loop = builder.create<scf::ForOp>(location, thread, count, idx(threads));
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(loop.getBody());
  body(loop.getInductionVar());
}

void GpuKernelBuilder::ifThen(Value cond, const std::function<void()> &body) {
  auto ifOp = builder.create<scf::IfOp>(location, cond, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(&ifOp.getThenRegion().front());
  body();
}

static Value combine(OpBuilder &b, Location loc, Value x, Value y, bool isMax) {
  if (isMax) return b.create<arith::MaximumFOp>(loc, x, y);
  return b.create<arith::AddFOp>(loc, x, y);
}

Value GpuKernelBuilder::warpReduce(Value v, bool isMax) {
  Value width = builder.create<arith::ConstantOp>(location, builder.getI32IntegerAttr(kWarpSize));
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
    Value off = builder.create<arith::ConstantOp>(location, builder.getI32IntegerAttr(offset));
    Value other = builder.create<gpu::ShuffleOp>(location, v, off, width, gpu::ShuffleMode::XOR)
                      .getShuffleResult();
    v = combine(builder, location, v, other, isMax);
  }
  return v;
}

Value GpuKernelBuilder::blockReduce(Value v, bool isMax) {
  v = warpReduce(v, isMax);
  if (numWarps() == 1) return v;
  if (!reduceScratch) reduceScratch = sharedArray(numWarps(), builder.getF32Type());
  Value isLane0 = builder.create<arith::CmpIOp>(location, arith::CmpIPredicate::eq, laneId(), idx(0));
  ifThen(isLane0, [&] { builder.create<memref::StoreOp>(location, v, reduceScratch, warpId()); });
  barrier();
  Value acc = builder.create<memref::LoadOp>(location, reduceScratch, idx(0));
  for (int64_t w = 1; w < numWarps(); ++w)
    acc = combine(builder, location, acc,
                  builder.create<memref::LoadOp>(location, reduceScratch, idx(w)), isMax);
  // Everyone has read the partial results before the next reduction overwrites them.
  barrier();
  return acc;
}

void GpuKernelBuilder::finish() { builder.create<gpu::ReturnOp>(location); }

} // namespace mvc
