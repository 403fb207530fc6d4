//===- Moe.h - mixture-of-experts pieces every backend shares -----*- C++ -*-===//
//
// What the cpu and gpu templates of mvc.moe_route and of the grouped mvc.matmul have in
// common, written once over flat memrefs (memref.load/store work in both backends):
//
//   - routing one token (softmax over the experts in f32, top-k, renormalisation), the
//     first phase of every moe_route kernel; the sort that follows is the backend's;
//   - finding the rows of a grouped matmul's row block: experts' rows are cut into blocks
//     of a workgroup's rows, numbered expert by expert, so a workgroup never straddles
//     two experts and experts without rows take no workgroup.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_COMPILER_CODEGEN_COMMON_MOE_H
#define MVC_COMPILER_CODEGEN_COMMON_MOE_H

#include "compiler/Schedule/SymExpr.h"
#include "dialects/mvc/IR/MvcOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"

namespace mvc {

/// The buffers of a moe_route kernel (its operand and its four results), for either
/// backend's kernel builder (binding(index, elementType)); null results when a result does
/// not leave the region (an error for the caller to report).
struct MoeRouteBuffers {
  mlir::Value logits, expertScale, weights, slots, rows, groups;  // expertScale: null when absent
  bool complete() const { return weights && slots && rows && groups; }
};
template <typename KernelBuilderT, typename SignatureT>
MoeRouteBuffers bindMoeRoute(KernelBuilderT &kb, DispatchRegionOp region, MoeRouteOp op,
                             const SignatureT &sig) {
  mlir::OpBuilder &b = kb.b();
  auto yield = mlir::cast<YieldOp>(region.getBody().front().getTerminator());
  auto result = [&](mlir::Value v, mlir::Type type) -> mlir::Value {
    for (auto [i, y] : llvm::enumerate(yield.getValues()))
      if (y == v) return kb.binding(int(sig.operands.size() + i), type);
    return {};
  };
  MoeRouteBuffers m;
  m.logits = kb.binding(sig.bindingOf(op.getLogits()), b.getF32Type());
  if (op.getExpertScale()) m.expertScale = kb.binding(sig.bindingOf(op.getExpertScale()), b.getF32Type());
  m.weights = result(op.getWeights(), b.getF32Type());
  m.slots = result(op.getSlots(), b.getI32Type());
  m.rows = result(op.getRows(), b.getI32Type());
  m.groups = result(op.getGroups(), b.getI32Type());
  return m;
}

/// Element `at` of an i32 memref as an index, and an index stored as i32.
inline mlir::Value loadIndex(mlir::OpBuilder &b, mlir::Location loc, mlir::Value mem, mlir::Value at) {
  return mlir::arith::IndexCastOp::create(b, loc, b.getIndexType(),
                                          mlir::memref::LoadOp::create(b, loc, mem, mlir::ValueRange{at}));
}
inline void storeIndex(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v, mlir::Value mem,
                       mlir::Value at) {
  mlir::memref::StoreOp::create(b, loc, mlir::arith::IndexCastOp::create(b, loc, b.getI32Type(), v),
                                mem, mlir::ValueRange{at});
}

/// Routes token `t` of `logits` ([T, experts] f32): writes its top-k routing weights to
/// `weights` [t*k, t*k + k) (f32) and the chosen experts to `experts` (i32), both in
/// ascending expert order. Selection on the logits (the softmax is monotonic), the larger
/// first and the lower expert on ties; the weights are the softmax probabilities, divided
/// by their sum (taken in selection order) when `normalize`, then times `expertScale`[e]
/// ([E] f32) when it is not null.
void emitRouteToken(mlir::OpBuilder &b, mlir::Location loc, mlir::Value logits,
                    mlir::Value expertScale, mlir::Value weights, mlir::Value experts,
                    mlir::Value t, int64_t numExperts, int64_t topK, bool normalize);

/// A row block of a grouped matmul: its expert and its rows [begin, end) (empty, expert
/// 0, when `block` is past the last block).
struct GroupedRows {
  mlir::Value expert, begin, end;
};
/// Row block `block` (index) of the experts' rows, cut in blocks of `rowsPerBlock`, from
/// `groups` ([E + 1] i32 row offsets, a flat memref).
GroupedRows findGroupedRows(mlir::OpBuilder &b, mlir::Location loc, mlir::Value groups,
                            int64_t numExperts, int64_t rowsPerBlock, mlir::Value block);
/// How many row blocks `rows` rows can need at most: every expert's last block may be
/// partial, and at most min(E, rows) experts have rows.
SymExpr groupedRowBlocks(const SymExpr &rows, int64_t numExperts, int64_t rowsPerBlock);

} // namespace mvc

#endif
