//===- GpuMoeRouteKernel.cpp - expert routing and its sort (gpu) ----------===//
//
// One block. Its threads route one token each (Common/Moe.h), the chosen experts
// waiting in `rows`; then one thread per expert counts that expert's choices, one thread
// turns the counts into `groups` (prefix sums), one thread per expert walks the choices in
// token order handing out that expert's slots (a stable sort with no atomics: the result
// never depends on thread timing), and every thread writes the token of its choices'
// slots into `rows`. The per-expert scans cost O(T·k) each, in parallel over experts:
// negligible for decode, tens of microseconds for a prefill chunk of thousands of
// choices.
//
//===----------------------------------------------------------------------===//
#include "compiler/Codegen/CUDA/GpuKernels.h"
#include "compiler/Codegen/Common/KernelMath.h"
#include "compiler/Codegen/Common/Moe.h"

using namespace mlir;

namespace mvc {

FailureOr<LaunchInfo> emitGpuMoeRouteKernel(gpu::GPUModuleOp module, StringRef name,
                                            DispatchRegionOp region, const DispatchSignature &sig,
                                            const DimsOf &dims) {
  auto op = cast<MoeRouteOp>(region.getBody().front().front());
  if (region.getBody().front().getOperations().size() != 2)
    return region.emitError("a moe_route region holds the moe_route alone");
  int64_t experts = cast<RankedTensorType>(op.getLogits().getType()).getDimSize(1);
  int64_t topK = op.getTopK();
  GpuKernelBuilder kb(module, name, sig.operands.size() + sig.results.size(), 1, 256);
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  KernelMath m(b, loc);
  Type i32 = b.getI32Type();
  auto result = [&](Value v, Type type) {
    auto yield = cast<YieldOp>(region.getBody().front().getTerminator());
    for (auto [i, y] : llvm::enumerate(yield.getValues()))
      if (y == v) return kb.binding(sig.operands.size() + i, type);
    return Value();
  };
  Value logits = kb.binding(sig.bindingOf(op.getLogits()), b.getF32Type());
  Value weights = result(op.getWeights(), b.getF32Type());
  Value slots = result(op.getSlots(), i32), rows = result(op.getRows(), i32);
  Value groups = result(op.getGroups(), i32);
  if (!weights || !slots || !rows || !groups)
    return op.emitError("every result of moe_route must leave its region");
  Value tokens = kb.push(0);
  Value choices = m.mul(tokens, kb.idx(topK));
  auto loadIndex = [&](Value mem, Value at) -> Value {
    return arith::IndexCastOp::create(b, loc, b.getIndexType(),
                                      memref::LoadOp::create(b, loc, mem, ValueRange{at}));
  };
  auto storeIndex = [&](Value v, Value mem, Value at) {
    memref::StoreOp::create(b, loc, arith::IndexCastOp::create(b, loc, i32, v), mem, ValueRange{at});
  };
  Value counts = kb.sharedArray(experts, i32);

  kb.forThreads(tokens, [&](Value t) {
    emitRouteToken(b, loc, logits, weights, rows, t, experts, topK, op.getNormalize());
  });
  kb.barrier();
  kb.forThreads(kb.idx(experts), [&](Value e) {
    auto count = kb.forRangeCarried(kb.idx(0), choices, kb.idx(1), {kb.idx(0)},
                                    [&](Value i, ValueRange c) -> SmallVector<Value> {
                                      Value mine = m.cmp(arith::CmpIPredicate::eq, loadIndex(rows, i), e);
                                      return {m.select(mine, m.add(c[0], kb.idx(1)), c[0])};
                                    });
    storeIndex(count[0], counts, e);
  });
  kb.barrier();
  // groups = prefix sums of the counts; counts become each expert's first slot.
  kb.ifThen(m.cmp(arith::CmpIPredicate::eq, kb.threadId(), kb.idx(0)), [&] {
    storeIndex(kb.idx(0), groups, kb.idx(0));
    kb.forRangeCarried(kb.idx(0), kb.idx(experts), kb.idx(1), {kb.idx(0)},
                       [&](Value e, ValueRange c) -> SmallVector<Value> {
                         Value next = m.add(c[0], loadIndex(counts, e));
                         storeIndex(c[0], counts, e);
                         storeIndex(next, groups, m.add(e, kb.idx(1)));
                         return {next};
                       });
  });
  kb.barrier();
  kb.forThreads(kb.idx(experts), [&](Value e) {
    kb.forRangeCarried(kb.idx(0), choices, kb.idx(1), {loadIndex(counts, e)},
                       [&](Value i, ValueRange c) -> SmallVector<Value> {
                         Value mine = m.cmp(arith::CmpIPredicate::eq, loadIndex(rows, i), e);
                         kb.ifThen(mine, [&] { storeIndex(c[0], slots, i); });
                         return {m.select(mine, m.add(c[0], kb.idx(1)), c[0])};
                       });
  });
  kb.barrier();
  kb.forThreads(choices, [&](Value i) { storeIndex(m.div(i, topK), rows, loadIndex(slots, i)); });
  kb.finish();
  LaunchInfo launch{SymExpr(1), {dims(op.getLogits())[0]}};
  launch.block = {kb.blockSize(), 1, 1};
  return launch;
}

} // namespace mvc
