//===- GpuRowKernel.cpp - fused row-wise kernels for the gpu -------------===//
//
// The gpu form of compiler/Codegen/CPU/RowKernel.cpp: elementwise ops, norms, softmax,
// RoPE, gathers, row merges and last-axis slices/concats. One block per row; the threads stride the
// row, reductions go through warp shuffles and shared memory. Intermediate rows live in
// shared memory, region results are written once; a barrier separates consecutive ops
// because an op may read elements of its operand that another thread wrote.
//
//===----------------------------------------------------------------------===//
#include "compiler/Codegen/CUDA/GpuKernels.h"

#include "llvm/ADT/DenseMap.h"

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
  auto mul = [&](Value x, Value y) -> Value { return arith::MulFOp::create(b, loc, x, y); };
  auto add = [&](Value x, Value y) -> Value { return arith::AddFOp::create(b, loc, x, y); };
  Value x = arith::ExtFOp::create(b, loc, f64, angle);
  // x = k·π/2 + r with |r| <= π/4; π/2 in two parts keeps r exact enough for |x| < 2^20.
  Value k = math::FloorOp::create(b, loc, add(mul(x, c(0.63661977236758134308)), c(0.5)));
  Value r = arith::SubFOp::create(b, loc, x, mul(k, c(1.5707963267948966)));
  r = arith::SubFOp::create(b, loc, r, mul(k, c(6.123233995736766e-17)));
  Value r2 = mul(r, r);
  // Taylor series to r^13 / r^14: the truncation error is below 1e-13 on |r| <= π/4.
  auto horner = [&](ArrayRef<double> coeffs) {
    Value p = c(coeffs.back());
    for (int i = int(coeffs.size()) - 2; i >= 0; --i) p = add(mul(p, r2), c(coeffs[i]));
    return p;
  };
  Value sinR = mul(r, horner({1.0, -1.0 / 6, 1.0 / 120, -1.0 / 5040, 1.0 / 362880,
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

int64_t lastDim(Value v) { return cast<RankedTensorType>(v.getType()).getShape().back(); }

class GpuRowEmitter {
public:
  GpuRowEmitter(gpu::GPUModuleOp module, StringRef name, DispatchRegionOp region,
                const DispatchSignature &sig, const DimsOf &dims)
      : module(module), name(name), region(region), sig(sig), dims(dims) {}

  FailureOr<LaunchInfo> emit() {
    Operation *first = &region.getBody().front().front();
    std::vector<SymExpr> shape = dims(first->getResult(0));
    rows = product(shape, 0, shape.size() - 1);
    int64_t widest = 1, scratchBytes = 0;
    auto yield = cast<YieldOp>(region.getBody().front().getTerminator());
    for (auto [i, v] : llvm::enumerate(yield.getValues())) outputOf[v] = sig.operands.size() + i;
    for (Operation &op : region.getBody().front().without_terminator())
      for (Value r : op.getResults()) {
        if (ShapedType::isDynamic(lastDim(r)))
          return op.emitError("row kernels need a static last dimension");
        widest = std::max(widest, lastDim(r));
        if (!outputOf.count(r)) scratchBytes += lastDim(r) * 4;
      }
    if (scratchBytes > kStaticSharedLimit - 1024)
      return region.emitError("gpu row kernel: intermediate rows need ")
             << scratchBytes << " bytes of shared memory, more than the "
             << kStaticSharedLimit - 1024 << " it may use";

    // Push constants: the row count, then the number of `rows` of each merge_rows, in op order.
    std::vector<SymExpr> push = {rows};
    for (Operation &op : region.getBody().front().without_terminator())
      if (auto merge = dyn_cast<MergeRowsOp>(op)) {
        mergePush[merge] = int(push.size());
        push.push_back(dims(merge.getRows())[0]);
      }
    GpuKernelBuilder builder(module, name, sig.operands.size() + sig.results.size(), int(push.size()),
                             gpuRowBlockSize(widest));
    kb = &builder;
    b = &builder.b();
    loc = builder.loc();
    for (Operation &op : region.getBody().front().without_terminator())
      for (Value r : op.getResults())
        if (!outputOf.count(r)) scratch[r] = builder.sharedArray(lastDim(r), b->getF32Type());

    // One block per row; the grid is exact, the guard keeps a bad launch harmless. The
    // condition is uniform across the block, so the barriers inside stay legal.
    row = builder.blockId();
    Value inRange = arith::CmpIOp::create(*b, loc, arith::CmpIPredicate::ult, row, builder.push(0));
    LogicalResult status = success();
    builder.ifThen(inRange, [&] {
      rowBlock = b->getInsertionBlock();
      bool firstOp = true;
      for (Operation &op : region.getBody().front().without_terminator()) {
        if (!firstOp) builder.barrier();
        firstOp = false;
        if (failed(emitOp(&op))) status = failure();
      }
    });
    if (failed(status)) return failure();
    builder.finish();
    LaunchInfo launch{rows, push};
    launch.block = {builder.blockSize(), 1, 1};
    return launch;
  }

private:
  /// The memref and element offset of the current row of `v`.
  std::pair<Value, Value> rowOf(Value v) {
    if (auto it = scratch.find(v); it != scratch.end()) return {it->second, kb->idx(0)};
    if (auto it = rowBases.find(v); it != rowBases.end()) return it->second;
    OpBuilder::InsertionGuard guard(*b);
    b->setInsertionPointToStart(rowBlock);
    int binding = outputOf.count(v) ? outputOf[v] : sig.bindingOf(v);
    assert(binding >= 0 && "value is not bound");
    Value mem = kb->binding(binding, cast<RankedTensorType>(v.getType()).getElementType());
    // Operands with fewer leading rows broadcast (they are a suffix of the row shape).
    std::vector<SymExpr> shape = dims(v);
    SymExpr vRows = product(shape, 0, shape.size() - 1);
    Value r = row;
    if (!(vRows == rows)) {
      auto c = vRows.constant();
      r = (c && *c == 1) ? kb->idx(0)
                         : arith::RemUIOp::create(*b, loc, row, kb->idx(c.value_or(1)));
    }
    Value base = arith::MulIOp::create(*b, loc, r, kb->idx(lastDim(v)));
    rowBases[v] = {mem, base};
    return {mem, base};
  }

  Value read(Value v, Value at) {
    auto [mem, base] = rowOf(v);
    return kb->loadF32(mem, add(base, at));
  }
  void write(Value v, Value at, Value value) {
    auto [mem, base] = rowOf(v);
    kb->storeF32(value, mem, add(base, at));
  }
  Value add(Value x, Value y) { return arith::AddIOp::create(*b, loc, x, y); }
  Value mulf(Value x, Value y) { return arith::MulFOp::create(*b, loc, x, y); }
  Value addf(Value x, Value y) { return arith::AddFOp::create(*b, loc, x, y); }
  Value subf(Value x, Value y) { return arith::SubFOp::create(*b, loc, x, y); }
  Value divf(Value x, Value y) { return arith::DivFOp::create(*b, loc, x, y); }

  /// Sum (max) over the row of `body(i)`: per-thread partials, then the block.
  Value reduceRow(int64_t n, bool isMax, const std::function<Value(Value)> &body) {
    Value init = kb->f32(isMax ? -INFINITY : 0.0f);
    auto part = kb->forRangeCarried(kb->threadId(), kb->idx(n), kb->idx(kb->blockSize()), init,
                                    [&](Value i, ValueRange acc) -> SmallVector<Value> {
                                      Value v = body(i);
                                      if (isMax)
                                        return {arith::MaximumFOp::create(*b, loc, acc[0], v)};
                                      return {addf(acc[0], v)};
                                    });
    return kb->blockReduce(part[0], isMax);
  }

  LogicalResult emitOp(Operation *op) {
    Value out = op->getResult(0);
    int64_t n = lastDim(out);
    Value count = kb->idx(n);
    if (auto norm = dyn_cast<RmsNormOp>(op)) {
      Value x = norm.getInput();
      Value ss = reduceRow(n, false, [&](Value c) {
        Value v = read(x, c);
        return mulf(v, v);
      });
      Value mean = divf(ss, kb->f32(float(n)));
      Value inv =
          divf(kb->f32(1.0f),
               math::SqrtOp::create(*b, loc, addf(mean, kb->f32(norm.getEps().convertToFloat()))));
      float offset = norm.getOffset().convertToFloat();
      kb->forThreads(count, [&](Value c) {
        Value y = mulf(read(x, c), inv);
        if (Value w = norm.getWeight()) {
          Value wv = read(w, c);
          if (offset != 0.0f) wv = addf(wv, kb->f32(offset));
          y = mulf(y, wv);
        }
        write(out, c, y);
      });
      return success();
    }
    if (auto ln = dyn_cast<LayerNormOp>(op)) {
      Value x = ln.getInput();
      Value mean = divf(reduceRow(n, false, [&](Value c) { return read(x, c); }), kb->f32(float(n)));
      Value ss = reduceRow(n, false, [&](Value c) {
        Value d = subf(read(x, c), mean);
        return mulf(d, d);
      });
      Value var = divf(ss, kb->f32(float(n)));
      Value inv =
          divf(kb->f32(1.0f),
               math::SqrtOp::create(*b, loc, addf(var, kb->f32(ln.getEps().convertToFloat()))));
      kb->forThreads(count, [&](Value c) {
        Value y = mulf(subf(read(x, c), mean), inv);
        write(out, c, addf(mulf(y, read(ln.getGamma(), c)), read(ln.getBeta(), c)));
      });
      return success();
    }
    if (auto sm = dyn_cast<SoftmaxOp>(op)) {
      Value x = sm.getInput();
      Value mx = reduceRow(n, true, [&](Value c) { return read(x, c); });
      auto expAt = [&](Value c) {
        return math::ExpOp::create(*b, loc, subf(read(x, c), mx)).getResult();
      };
      Value inv = divf(kb->f32(1.0f), reduceRow(n, false, expAt));
      kb->forThreads(count, [&](Value c) { write(out, c, mulf(expAt(c), inv)); });
      return success();
    }
    if (auto rope = dyn_cast<RopeOp>(op)) return emitRope(rope);
    if (auto table = dyn_cast<RopeTableOp>(op)) return emitRopeTable(table);
    if (auto gather = dyn_cast<GatherOp>(op)) {
      if (gather->hasAttr("mvc.table_layout"))
        return gather.emitError("gpu kernels read row_major tables only");
      auto tableType = cast<RankedTensorType>(gather.getTable().getType());
      Value ids = kb->binding(sig.bindingOf(gather.getIds()), b->getI32Type());
      Value id = arith::IndexCastOp::create(*b, loc, b->getIndexType(),
                                            memref::LoadOp::create(*b, loc, ids, row));
      // Out-of-range ids of a weight table are refused by the runtime before launch;
      // clamp as a backstop.
      if (!tableType.isDynamicDim(0))
        id = arith::MinSIOp::create(*b, loc, arith::MaxSIOp::create(*b, loc, id, kb->idx(0)),
                                    kb->idx(tableType.getDimSize(0) - 1));
      Value table = kb->binding(sig.bindingOf(gather.getTable()), tableType.getElementType());
      Value base = arith::MulIOp::create(*b, loc, id, kb->idx(n));
      kb->forThreads(count, [&](Value c) { write(out, c, kb->loadF32(table, add(base, c))); });
      return success();
    }
    if (auto merge = dyn_cast<MergeRowsOp>(op)) {
      // The runtime checks `source` against the rows it passes; clamp as a backstop.
      Value source = kb->binding(sig.bindingOf(merge.getSource()), b->getI32Type());
      Value rowsMem = kb->binding(sig.bindingOf(merge.getRows()),
                                  cast<RankedTensorType>(merge.getRows().getType()).getElementType());
      Value s = arith::IndexCastOp::create(*b, loc, b->getIndexType(),
                                           memref::LoadOp::create(*b, loc, source, row));
      Value fromRows = arith::CmpIOp::create(*b, loc, arith::CmpIPredicate::sge, s, kb->idx(0));
      Value last = arith::SubIOp::create(*b, loc, kb->push(mergePush.lookup(merge)), kb->idx(1));
      // The condition is uniform across the block (one row per block).
      auto ifOp = scf::IfOp::create(*b, loc, fromRows, /*withElseRegion=*/true);
      OpBuilder::InsertionGuard guard(*b);
      b->setInsertionPointToStart(&ifOp.getThenRegion().front());
      Value base =
          arith::MulIOp::create(*b, loc, arith::MinSIOp::create(*b, loc, s, last), kb->idx(n));
      kb->forThreads(count, [&](Value c) { write(out, c, kb->loadF32(rowsMem, add(base, c))); });
      b->setInsertionPointToStart(&ifOp.getElseRegion().front());
      kb->forThreads(count, [&](Value c) { write(out, c, read(merge.getBase(), c)); });
      return success();
    }
    if (auto slice = dyn_cast<SliceOp>(op)) {
      kb->forThreads(count, [&](Value c) {
        write(out, c, read(slice.getInput(), add(c, kb->idx(slice.getStart()))));
      });
      return success();
    }
    if (auto concat = dyn_cast<ConcatOp>(op)) {
      int64_t offset = 0;
      for (Value in : concat.getInputs()) {
        kb->forThreads(kb->idx(lastDim(in)), [&](Value c) {
          write(out, add(c, kb->idx(offset)), read(in, c));
        });
        offset += lastDim(in);
      }
      return success();
    }
    kb->forThreads(count, [&](Value c) {
      SmallVector<Value> args;
      for (Value operand : op->getOperands()) args.push_back(read(operand, c));
      write(out, c, emitElementwise(*b, loc, op, args));
    });
    return success();
  }

  /// Row t of a rope table: cos then sin of positions[t] × inv_freq (angle rounded to f32
  /// first, as HF's f32 `inv_freq @ positions`).
  LogicalResult emitRopeTable(RopeTableOp table) {
    int64_t half = cast<RankedTensorType>(table.getInvFreq().getType()).getDimSize(0);
    Value positions = kb->binding(sig.bindingOf(table.getPositions()), b->getI32Type());
    Value pos = arith::SIToFPOp::create(*b, loc, b->getF32Type(),
                                        memref::LoadOp::create(*b, loc, positions, row));
    Value freqs = kb->binding(sig.bindingOf(table.getInvFreq()), b->getF32Type());
    Value out = table.getResult();
    kb->forThreads(kb->idx(half), [&](Value i) {
      Value angle = mulf(pos, memref::LoadOp::create(*b, loc, freqs, i));
      auto [sin, cos] = emitSinCos(*b, loc, angle);
      write(out, i, cos);
      write(out, add(i, kb->idx(half)), sin);
    });
    return success();
  }

  /// Rotate-half RoPE for row r = (token t, head h) of a [T, H, D] input.
  LogicalResult emitRope(RopeOp rope) {
    auto type = cast<RankedTensorType>(rope.getInput().getType());
    int64_t heads = type.getDimSize(1), d = type.getDimSize(2);
    int64_t half = cast<RankedTensorType>(rope.getTable().getType()).getDimSize(1) / 2;
    Value t = arith::DivUIOp::create(*b, loc, row, kb->idx(heads));
    Value tableMem = kb->binding(sig.bindingOf(rope.getTable()), b->getF32Type());
    Value tableBase = arith::MulIOp::create(*b, loc, t, kb->idx(2 * half));
    Value x = rope.getInput(), out = rope.getResult();
    kb->forThreads(kb->idx(half), [&](Value i) {
      Value iHi = add(i, kb->idx(half));
      Value x1 = read(x, i), x2 = read(x, iHi);
      Value c = kb->loadF32(tableMem, add(tableBase, i));
      Value s = kb->loadF32(tableMem, add(tableBase, iHi));
      write(out, i, subf(mulf(x1, c), mulf(x2, s)));
      write(out, iHi, addf(mulf(x2, c), mulf(x1, s)));
    });
    if (2 * half < d)
      kb->forThreads(kb->idx(d - 2 * half), [&](Value i) {
        Value at = add(i, kb->idx(2 * half));
        write(out, at, read(x, at));
      });
    return success();
  }

  gpu::GPUModuleOp module;
  StringRef name;
  DispatchRegionOp region;
  const DispatchSignature &sig;
  const DimsOf &dims;
  GpuKernelBuilder *kb = nullptr;
  OpBuilder *b = nullptr;
  Location loc = UnknownLoc::get(region.getContext());
  SymExpr rows;
  Value row;
  Block *rowBlock = nullptr;
  llvm::DenseMap<Value, int> outputOf;
  llvm::DenseMap<Operation *, int> mergePush; // merge_rows -> push constant of its row count
  llvm::DenseMap<Value, Value> scratch;
  llvm::DenseMap<Value, std::pair<Value, Value>> rowBases;
};

} // namespace

FailureOr<LaunchInfo> emitGpuRowKernel(gpu::GPUModuleOp module, StringRef name,
                                       DispatchRegionOp region, const DispatchSignature &sig,
                                       const DimsOf &dims) {
  return GpuRowEmitter(module, name, region, sig, dims).emit();
}

} // namespace mvc
