//===- Moe.cpp - mixture-of-experts pieces every backend shares ----------===//
#include "compiler/Codegen/Common/Moe.h"

#include "compiler/Codegen/Common/KernelMath.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <functional>
#include <limits>

using namespace mlir;

namespace mvc {
namespace {

/// scf.for over [lo, hi) carrying `init`; `body(iv, carried)` returns the next values.
SmallVector<Value> forCarried(OpBuilder &b, Location loc, Value lo, Value hi, ValueRange init,
                              const std::function<SmallVector<Value>(Value, ValueRange)> &body) {
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  auto loop = scf::ForOp::create(b, loc, lo, hi, one, init);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  scf::YieldOp::create(b, loc, body(loop.getInductionVar(), loop.getRegionIterArgs()));
  return SmallVector<Value>(loop.getResults().begin(), loop.getResults().end());
}

} // namespace

void emitRouteToken(OpBuilder &b, Location loc, Value logits, Value expertScale, Value weights,
                    Value experts, Value t, int64_t numExperts, int64_t topK, bool normalize) {
  KernelMath m(b, loc);
  auto idx = [&](int64_t v) -> Value { return arith::ConstantIndexOp::create(b, loc, v); };
  auto f32 = [&](float v) -> Value {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  };
  auto boolean = [&](bool v) -> Value {
    return arith::ConstantOp::create(b, loc, b.getBoolAttr(v));
  };
  auto fcmp = [&](arith::CmpFPredicate p, Value x, Value y) -> Value {
    return arith::CmpFOp::create(b, loc, p, x, y);
  };
  auto either = [&](Value x, Value y) -> Value { return arith::OrIOp::create(b, loc, x, y); };
  Value base = m.mul(t, idx(numExperts));
  auto logitAt = [&](Value e) -> Value {
    return memref::LoadOp::create(b, loc, logits, ValueRange{m.add(base, e)});
  };
  Value lo = idx(0), hi = idx(numExperts);
  const float inf = std::numeric_limits<float>::infinity();

  // Softmax denominators: max, then the sum of exp(l - max) over the experts in order.
  Value mx = forCarried(b, loc, lo, hi, {f32(-inf)}, [&](Value e, ValueRange c) -> SmallVector<Value> {
    return {arith::MaximumFOp::create(b, loc, c[0], logitAt(e))};
  })[0];
  Value sum = forCarried(b, loc, lo, hi, {f32(0.0f)}, [&](Value e, ValueRange c) -> SmallVector<Value> {
    return {m.addf(c[0], math::ExpOp::create(b, loc, m.subf(logitAt(e), mx)))};
  })[0];

  // Top-k, one scan per choice: the largest (logit, -expert) pair below the previous one.
  SmallVector<Value> probs, chosen;
  Value prevLogit = f32(inf), prevExpert = idx(-1);
  for (int64_t j = 0; j < topK; ++j) {
    auto best = forCarried(
        b, loc, lo, hi, {f32(-inf), idx(0), boolean(false)},
        [&](Value e, ValueRange c) -> SmallVector<Value> {
          Value v = logitAt(e);
          Value below = either(
              fcmp(arith::CmpFPredicate::OLT, v, prevLogit),
              m.both(fcmp(arith::CmpFPredicate::OEQ, v, prevLogit),
                     m.cmp(arith::CmpIPredicate::sgt, e, prevExpert)));
          Value better = m.both(
              below, either(arith::XOrIOp::create(b, loc, c[2], boolean(true)),
                            fcmp(arith::CmpFPredicate::OGT, v, c[0])));
          return {m.select(better, v, c[0]), m.select(better, e, c[1]), either(c[2], better)};
        });
    prevLogit = best[0];
    prevExpert = best[1];
    probs.push_back(m.divf(math::ExpOp::create(b, loc, m.subf(best[0], mx)), sum));
    chosen.push_back(best[1]);
  }
  Value total = probs[0];
  for (int64_t j = 1; j < topK; ++j) total = m.addf(total, probs[j]);

  // Ascending expert order (a compare-exchange network on the k pairs).
  for (int64_t i = 0; i < topK; ++i)
    for (int64_t j = 0; j + 1 < topK - i; ++j) {
      Value swap = m.cmp(arith::CmpIPredicate::ugt, chosen[j], chosen[j + 1]);
      Value e0 = m.select(swap, chosen[j + 1], chosen[j]), e1 = m.select(swap, chosen[j], chosen[j + 1]);
      Value p0 = m.select(swap, probs[j + 1], probs[j]), p1 = m.select(swap, probs[j], probs[j + 1]);
      chosen[j] = e0;
      chosen[j + 1] = e1;
      probs[j] = p0;
      probs[j + 1] = p1;
    }
  Value out = m.mul(t, idx(topK));
  for (int64_t j = 0; j < topK; ++j) {
    Value at = m.add(out, idx(j));
    Value w = normalize ? m.divf(probs[j], total) : probs[j];
    if (expertScale) w = m.mulf(w, memref::LoadOp::create(b, loc, expertScale, ValueRange{chosen[j]}));
    memref::StoreOp::create(b, loc, w, weights, ValueRange{at});
    memref::StoreOp::create(b, loc, arith::IndexCastOp::create(b, loc, b.getI32Type(), chosen[j]),
                            experts, ValueRange{at});
  }
}

GroupedRows findGroupedRows(OpBuilder &b, Location loc, Value groups, int64_t numExperts,
                            int64_t rowsPerBlock, Value block) {
  KernelMath m(b, loc);
  auto idx = [&](int64_t v) -> Value { return arith::ConstantIndexOp::create(b, loc, v); };
  auto offsetAt = [&](Value e) -> Value {
    return arith::IndexCastOp::create(b, loc, b.getIndexType(),
                                      memref::LoadOp::create(b, loc, groups, ValueRange{e}));
  };
  Value r = idx(rowsPerBlock);
  Value no = arith::ConstantOp::create(b, loc, b.getBoolAttr(false));
  // Carried: blocks still to skip, then the expert, begin, end of the block once found.
  auto found = forCarried(
      b, loc, idx(0), idx(numExperts), {block, idx(0), idx(0), idx(0), no},
      [&](Value e, ValueRange c) -> SmallVector<Value> {
        Value start = offsetAt(e), stop = offsetAt(m.add(e, idx(1)));
        Value count = arith::MaxSIOp::create(b, loc, m.sub(stop, start), idx(0));
        Value blocks = m.div(m.add(count, idx(rowsPerBlock - 1)), rowsPerBlock);
        Value hit = m.both(arith::XOrIOp::create(b, loc, c[4], arith::ConstantOp::create(
                                                                    b, loc, b.getBoolAttr(true))),
                           m.lt(c[0], blocks));
        Value done = arith::OrIOp::create(b, loc, c[4], hit);
        Value begin = m.add(start, m.mul(c[0], r));
        Value end = arith::MinSIOp::create(b, loc, m.add(begin, r), stop);
        return {m.select(done, c[0], m.sub(c[0], blocks)), m.select(hit, e, c[1]),
                m.select(hit, begin, c[2]), m.select(hit, end, c[3]), done};
      });
  return {found[1], found[2], found[3]};
}

SymExpr groupedRowBlocks(const SymExpr &rows, int64_t numExperts, int64_t rowsPerBlock) {
  return SymExpr::ceilDiv(rows, rowsPerBlock) + SymExpr::min(SymExpr(numExperts), rows);
}

} // namespace mvc
