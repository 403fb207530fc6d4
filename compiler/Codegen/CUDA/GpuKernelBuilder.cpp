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
  fn = gpu::GPUFuncOp::create(builder, location, name, builder.getFunctionType(args, {}));
  fn->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), builder.getUnitAttr());
  // The launch always uses exactly this many threads: ptxas may plan registers for it.
  fn.setKnownBlockSizeAttr(builder.getDenseI32ArrayAttr({int32_t(blockSize), 1, 1}));
  builder.setInsertionPointToStart(&fn.getBody().front());
  block = gpu::BlockIdOp::create(builder, location, gpu::Dimension::x);
  thread = gpu::ThreadIdOp::create(builder, location, gpu::Dimension::x);
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
  auto memrefType = MemRefType::get({ShapedType::kDynamic}, elementType, AffineMap(),
                                    builder.getI64IntegerAttr(1));
  Value m = UnrealizedConversionCastOp::create(builder, location, memrefType, desc).getResult(0);
  bindings[key] = m;
  return m;
}

void GpuKernelBuilder::setMinBlocksPerMultiprocessor(int blocks) {
  fn->setAttr("nvvm.minctasm", builder.getI32IntegerAttr(blocks));
}

Value GpuKernelBuilder::bindingPointer(int i) { return fn.getArgument(i); }

Value GpuKernelBuilder::push(int i) {
  return arith::IndexCastOp::create(builder, location, builder.getIndexType(),
                                    fn.getArgument(numBindings + i));
}

Value GpuKernelBuilder::laneId() {
  return arith::RemUIOp::create(builder, location, thread, idx(kWarpSize));
}
Value GpuKernelBuilder::warpId() {
  return arith::DivUIOp::create(builder, location, thread, idx(kWarpSize));
}

Value GpuKernelBuilder::idx(int64_t v) {
  return arith::ConstantIndexOp::create(builder, location, v);
}
Value GpuKernelBuilder::f32(float v) {
  return arith::ConstantOp::create(builder, location, builder.getF32FloatAttr(v));
}

Value GpuKernelBuilder::sharedArray(int64_t elems, Type type) {
  auto space = gpu::AddressSpaceAttr::get(builder.getContext(), gpu::AddressSpace::Workgroup);
  auto memrefType = MemRefType::get({elems}, type, AffineMap(), space);
  smemBytes += elems * std::max<int64_t>(1, type.getIntOrFloatBitWidth() / 8);
  return fn.addWorkgroupAttribution(memrefType, location);
}

void GpuKernelBuilder::barrier() { gpu::BarrierOp::create(builder, location); }

Value GpuKernelBuilder::loadF32(Value memref, Value index) {
  Type elem = cast<MemRefType>(memref.getType()).getElementType();
  Value v = memref::LoadOp::create(builder, location, memref, index);
  if (elem.isF32()) return v;
  if (isa<FloatType>(elem))
    return arith::ExtFOp::create(builder, location, builder.getF32Type(), v);
  return arith::SIToFPOp::create(builder, location, builder.getF32Type(), v);
}

void GpuKernelBuilder::storeF32(Value value, Value memref, Value index) {
  Type elem = cast<MemRefType>(memref.getType()).getElementType();
  if (!elem.isF32()) value = arith::TruncFOp::create(builder, location, elem, value);
  memref::StoreOp::create(builder, location, value, memref, index);
}

void GpuKernelBuilder::forRange(Value lo, Value hi, int64_t step,
                                const std::function<void(Value)> &body) {
  auto loop = scf::ForOp::create(builder, location, lo, hi, idx(step));
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(loop.getBody());
  body(loop.getInductionVar());
}

SmallVector<Value> GpuKernelBuilder::forRangeCarried(
    Value lo, Value hi, Value step, ValueRange init,
    const std::function<SmallVector<Value>(Value, ValueRange)> &body) {
  auto loop = scf::ForOp::create(builder, location, lo, hi, step, init);
  {
    OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPointToStart(loop.getBody());
    SmallVector<Value> next = body(loop.getInductionVar(), loop.getRegionIterArgs());
    scf::YieldOp::create(builder, location, next);
  }
  return SmallVector<Value>(loop.getResults());
}

void GpuKernelBuilder::forThreads(Value count, const std::function<void(Value)> &body) {
  auto loop = scf::ForOp::create(builder, location, thread, count, idx(threads));
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(loop.getBody());
  body(loop.getInductionVar());
}

void GpuKernelBuilder::ifThen(Value cond, const std::function<void()> &body) {
  auto ifOp = scf::IfOp::create(builder, location, cond, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(&ifOp.getThenRegion().front());
  body();
}

static Value combine(OpBuilder &b, Location loc, Value x, Value y, bool isMax) {
  if (isMax) return arith::MaximumFOp::create(b, loc, x, y);
  return arith::AddFOp::create(b, loc, x, y);
}

Value GpuKernelBuilder::warpReduce(Value v, bool isMax) {
  Value width = arith::ConstantOp::create(builder, location, builder.getI32IntegerAttr(kWarpSize));
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
    Value off = arith::ConstantOp::create(builder, location, builder.getI32IntegerAttr(offset));
    Value other = gpu::ShuffleOp::create(builder, location, v, off, width, gpu::ShuffleMode::XOR)
                      .getShuffleResult();
    v = combine(builder, location, v, other, isMax);
  }
  return v;
}

Value GpuKernelBuilder::blockReduce(Value v, bool isMax) {
  v = warpReduce(v, isMax);
  if (numWarps() == 1) return v;
  if (!reduceScratch) reduceScratch = sharedArray(numWarps(), builder.getF32Type());
  Value isLane0 =
      arith::CmpIOp::create(builder, location, arith::CmpIPredicate::eq, laneId(), idx(0));
  ifThen(isLane0, [&] { memref::StoreOp::create(builder, location, v, reduceScratch, warpId()); });
  barrier();
  Value acc = memref::LoadOp::create(builder, location, reduceScratch, idx(0));
  for (int64_t w = 1; w < numWarps(); ++w)
    acc = combine(builder, location, acc,
                  memref::LoadOp::create(builder, location, reduceScratch, idx(w)), isMax);
  // Everyone has read the partial results before the next reduction overwrites them.
  barrier();
  return acc;
}

void GpuKernelBuilder::finish() { gpu::ReturnOp::create(builder, location); }

} // namespace mvc
