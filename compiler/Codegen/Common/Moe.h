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
#include "mlir/IR/Builders.h"

namespace mvc {

/// Routes token `t` of `logits` ([T, experts] f32): writes its top-k routing weights to
/// `weights` [t*k, t*k + k) (f32) and the chosen experts to `experts` (i32), both in
/// ascending expert order. Selection on the logits (the softmax is monotonic), the larger
/// first and the lower expert on ties; the weights are the softmax probabilities, divided
/// by their sum (taken in selection order) when `normalize`.
void emitRouteToken(mlir::OpBuilder &b, mlir::Location loc, mlir::Value logits,
                    mlir::Value weights, mlir::Value experts, mlir::Value t, int64_t numExperts,
                    int64_t topK, bool normalize);

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
