//===- MoeRouteKernel.cpp - expert routing and its sort (cpu) -------------===//
//
// One workgroup: the routing of every token (Common/Moe.h), then a counting sort of the
// (token, expert) choices by expert, in token order: counts into `groups`, their prefix
// sums, then each choice's slot from a per-expert cursor. The choices' experts wait in
// `slots`, each overwritten by its slot once read. O(T·k·E) for the routing, O(T·k + E)
// for the sort: a few microseconds per decode step, well under 1 ms for a 512-token chunk
// of 128 experts.
//
//===----------------------------------------------------------------------===//
#include "compiler/Codegen/CPU/Kernels.h"
#include "compiler/Codegen/Common/Moe.h"

using namespace mlir;

namespace mvc {

FailureOr<LaunchInfo> emitMoeRouteKernel(KernelBuilder &kb, DispatchRegionOp region,
                                         const DispatchSignature &sig, const DimsOf &dims) {
  auto op = cast<MoeRouteOp>(region.getBody().front().front());
  if (region.getBody().front().getOperations().size() != 2)
    return region.emitError("a moe_route region holds the moe_route alone");
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  KernelMath m(b, loc);
  auto logitsType = cast<RankedTensorType>(op.getLogits().getType());
  int64_t experts = logitsType.getDimSize(1), topK = op.getTopK();
  MoeRouteBuffers buffers = bindMoeRoute(kb, region, op, sig);
  if (!buffers.complete()) return op.emitError("every result of moe_route must leave its region");
  Value logits = buffers.logits, weights = buffers.weights, slots = buffers.slots,
        rows = buffers.rows, groups = buffers.groups;
  Value tokens = kb.push(0);
  Value choices = m.mul(tokens, kb.idx(topK));
  auto loadIndex = [&](Value mem, Value at) { return mvc::loadIndex(b, loc, mem, at); };
  auto storeIndex = [&](Value v, Value mem, Value at) { mvc::storeIndex(b, loc, v, mem, at); };

  kb.forRange(kb.idx(0), tokens, 1, [&](Value t) {
    emitRouteToken(b, loc, logits, buffers.expertScale, weights, slots, t, experts, topK,
                   op.getNormalize());
  });
  // groups[e + 1] = choices of expert e, then prefix sums.
  kb.forRange(kb.idx(0), kb.idx(experts + 1), 1, [&](Value e) { storeIndex(kb.idx(0), groups, e); });
  kb.forRange(kb.idx(0), choices, 1, [&](Value i) {
    Value at = m.add(loadIndex(slots, i), kb.idx(1));
    storeIndex(m.add(loadIndex(groups, at), kb.idx(1)), groups, at);
  });
  kb.forRange(kb.idx(1), kb.idx(experts + 1), 1, [&](Value e) {
    Value sum = m.add(loadIndex(groups, e), loadIndex(groups, m.sub(e, kb.idx(1))));
    storeIndex(sum, groups, e);
  });
  // Each expert's next free slot, from its start.
  Value cursor;
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&kb.func().getBody().front());
    cursor = memref::AllocaOp::create(b, loc, MemRefType::get({experts}, b.getI32Type()));
  }
  kb.forRange(kb.idx(0), kb.idx(experts), 1, [&](Value e) {
    storeIndex(loadIndex(groups, e), cursor, e);
  });
  kb.forRange(kb.idx(0), choices, 1, [&](Value i) {
    Value e = loadIndex(slots, i);
    Value slot = loadIndex(cursor, e);
    storeIndex(m.add(slot, kb.idx(1)), cursor, e);
    storeIndex(slot, slots, i);
    storeIndex(m.div(i, topK), rows, slot);
  });
  kb.finish();
  return LaunchInfo{SymExpr(1), {dims(op.getLogits())[0]}};
}

} // namespace mvc
