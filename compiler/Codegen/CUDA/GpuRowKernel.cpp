//===- GpuRowKernel.cpp - fused row-wise kernels for the gpu -------------===//
//
// The gpu's way of visiting a row region (the ops' bodies are shared with the cpu, in
// compiler/Codegen/Common/RowOps.cpp): one block per row, its threads stride the row,
// reductions go through warp shuffles and shared memory. Intermediate rows live in shared
// memory, region results are written once; a barrier separates consecutive ops because an
// op may read elements of its operand that another thread wrote.
//
//===----------------------------------------------------------------------===//
#include "compiler/Codegen/CUDA/GpuKernels.h"
#include "compiler/Codegen/Common/RowOps.h"

using namespace mlir;

namespace mvc {

/// Static shared memory a block may use without opting in to more (48 KiB on sm_80+).
constexpr int64_t kStaticSharedLimit = 48 * 1024;

int64_t gpuRowBlockSize(int64_t n) {
  return std::clamp<int64_t>((n + 4 * kWarpSize - 1) / (4 * kWarpSize) * kWarpSize, kWarpSize, 256);
}

std::pair<Value, Value> emitSinCos(OpBuilder &b, Location loc, Value angle) {
  Type f64 = b.getF64Type();
  auto c = [&](double v) -> Value {
    return arith::ConstantOp::create(b, loc, b.getF64FloatAttr(v));
  };
  KernelMath m(b, loc);
  Value x = arith::ExtFOp::create(b, loc, f64, angle);
  // x = k·π/2 + r with |r| <= π/4; π/2 in two parts keeps r exact enough for |x| < 2^20.
  Value k = math::FloorOp::create(b, loc, m.addf(m.mulf(x, c(0.63661977236758134308)), c(0.5)));
  Value r = m.subf(x, m.mulf(k, c(1.5707963267948966)));
  r = m.subf(r, m.mulf(k, c(6.123233995736766e-17)));
  Value r2 = m.mulf(r, r);
  // Taylor series to r^13 / r^14: the truncation error is below 1e-13 on |r| <= π/4.
  auto horner = [&](ArrayRef<double> coeffs) {
    Value p = c(coeffs.back());
    for (int i = int(coeffs.size()) - 2; i >= 0; --i) p = m.addf(m.mulf(p, r2), c(coeffs[i]));
    return p;
  };
  Value sinR = m.mulf(r, horner({1.0, -1.0 / 6, 1.0 / 120, -1.0 / 5040, 1.0 / 362880,
                               -1.0 / 39916800, 1.0 / 6227020800.0}));
  Value cosR = horner({1.0, -1.0 / 2, 1.0 / 24, -1.0 / 720, 1.0 / 40320, -1.0 / 3628800,
                       1.0 / 479001600, -1.0 / 87178291200.0});
  Value quadrant = arith::AndIOp::create(b, loc, arith::FPToSIOp::create(b, loc, b.getI64Type(), k),
                                         arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(3)));
  auto is = [&](int64_t q) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, quadrant,
                                 arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(q)));
  };
  auto pick = [&](Value q0, Value q1, Value q2, Value q3) -> Value {
    Value v = arith::SelectOp::create(b, loc, is(2), q2, q3);
    v = arith::SelectOp::create(b, loc, is(1), q1, v);
    v = arith::SelectOp::create(b, loc, is(0), q0, v);
    return arith::TruncFOp::create(b, loc, b.getF32Type(), v);
  };
  Value negSin = arith::NegFOp::create(b, loc, sinR), negCos = arith::NegFOp::create(b, loc, cosR);
  return {pick(sinR, cosR, negSin, negCos), pick(cosR, negSin, negCos, sinR)};
}

namespace {

class GpuRowLoops : public RowLoops {
public:
  explicit GpuRowLoops(GpuKernelBuilder &kb) : RowLoops(kb.b(), kb.loc()), kb(kb) {}

  Value binding(int i, Type elementType) override { return kb.binding(i, elementType); }
  Value push(int i) override { return kb.push(i); }
  void forEach(int64_t n, const std::function<void(Value, int)> &body) override {
    kb.forThreads(idx(n), [&](Value i) { body(i, 0); });
  }
  void forEachElement(int64_t n, const std::function<void(Value)> &body) override {
    kb.forThreads(idx(n), body);
  }
  /// Per-thread partials, then the block (barriers inside: every thread calls it).
  Value reduce(int64_t n, bool isMax, const std::function<Value(Value, int)> &body) override {
    Value init = f32(isMax ? -INFINITY : 0.0f);
    auto part = kb.forRangeCarried(kb.threadId(), idx(n), idx(kb.blockSize()), init,
                                   [&](Value i, ValueRange acc) -> SmallVector<Value> {
                                     Value v = body(i, 0);
                                     if (isMax)
                                       return {arith::MaximumFOp::create(b, loc, acc[0], v)};
                                     return {arith::AddFOp::create(b, loc, acc[0], v)};
                                   });
    return kb.blockReduce(part[0], isMax);
  }
  Value load(Value memref, Value index, int) override { return kb.loadF32(memref, index); }
  void store(Value value, Value memref, Value index) override { kb.storeF32(value, memref, index); }
  Value splatLike(Value scalar, Value) override { return scalar; }
  std::pair<Value, Value> sinCos(Value angle) override { return emitSinCos(b, loc, angle); }
  bool readsPanelTables() const override { return false; }

private:
  GpuKernelBuilder &kb;
};

} // namespace

FailureOr<LaunchInfo> emitGpuRowKernel(gpu::GPUModuleOp module, StringRef name,
                                       DispatchRegionOp region, const DispatchSignature &sig,
                                       const DimsOf &dims) {
  RowOpEmitter rows(region, sig, dims);
  if (failed(rows.verify())) return failure();
  int64_t widest = 1, scratchBytes = 0;
  for (Operation &op : rows.ops())
    for (Value r : op.getResults()) widest = std::max(widest, lastDim(r));
  SmallVector<Value> scratchValues = rows.scratchValues();
  for (Value v : scratchValues) scratchBytes += lastDim(v) * 4;
  if (scratchBytes > kStaticSharedLimit - 1024)
    return region.emitError("gpu row kernel: intermediate rows need ")
           << scratchBytes << " bytes of shared memory, more than the "
           << kStaticSharedLimit - 1024 << " it may use";

  const std::vector<SymExpr> &push = rows.pushConstants();
  GpuKernelBuilder kb(module, name, sig.operands.size() + sig.results.size(), int(push.size()),
                      gpuRowBlockSize(widest));
  OpBuilder &b = kb.b();
  for (Value v : scratchValues) rows.setScratch(v, kb.sharedArray(lastDim(v), b.getF32Type()));

  // One block per row; the grid is exact, the guard keeps a bad launch harmless. The
  // condition is uniform across the block, so the barriers inside stay legal.
  GpuRowLoops loops(kb);
  Value row = kb.blockId();
  Value inRange = arith::CmpIOp::create(b, kb.loc(), arith::CmpIPredicate::ult, row, kb.push(0));
  LogicalResult status = success();
  kb.ifThen(inRange, [&] {
    rows.beginRow(loops, row, b.getInsertionBlock());
    bool firstOp = true;
    // An op may read elements of its operand that another thread wrote.
    for (Operation &op : rows.ops()) {
      if (!firstOp) kb.barrier();
      firstOp = false;
      if (failed(rows.emitOp(&op))) status = failure();
    }
  });
  if (failed(status)) return failure();
  kb.finish();
  LaunchInfo launch{rows.rows(), push};
  launch.block = {kb.blockSize(), 1, 1};
  return launch;
}

} // namespace mvc
