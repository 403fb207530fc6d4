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
  MoeRouteBuffers buffers = bindMoeRoute(kb, region, op, sig);
  if (!buffers.complete()) return op.emitError("every result of moe_route must leave its region");
  Value logits = buffers.logits, weights = buffers.weights, slots = buffers.slots,
        rows = buffers.rows, groups = buffers.groups;
  Value tokens = kb.push(0);
  Value choices = m.mul(tokens, kb.idx(topK));
  auto loadIndex = [&](Value mem, Value at) { return mvc::loadIndex(b, loc, mem, at); };
  auto storeIndex = [&](Value v, Value mem, Value at) { mvc::storeIndex(b, loc, v, mem, at); };
  Value counts = kb.sharedArray(experts, b.getI32Type());

  kb.forThreads(tokens, [&](Value t) {
    emitRouteToken(b, loc, logits, buffers.expertScale, weights, rows, t, experts, topK,
                   op.getNormalize());
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
