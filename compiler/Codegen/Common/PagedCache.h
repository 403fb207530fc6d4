//===- PagedCache.h - tokens in the ragged batch and the paged cache -*- C++ -*-===//
//
// What every backend's attention and KV-write kernels share: the static shape of an
// mvc.attention, a token's sequence and absolute position (from the batch's row offsets
// and cache lengths), and where a position's row lives in a paged KV cache (through the
// block table). Plain arith/memref/scf on an OpBuilder, so the cpu kernels and the gpu.func
// templates emit the same index arithmetic.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_COMPILER_CODEGEN_COMMON_PAGEDCACHE_H
#define MVC_COMPILER_CODEGEN_COMMON_PAGEDCACHE_H

#include "dialects/mvc/IR/MvcOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"

namespace mvc {

/// The static shape of an mvc.attention: query [T, heads, hd], caches [pages, pageSize,
/// kvHeads, hd], `group` query heads per KV head.
struct AttentionShape {
  int64_t heads, hd, pageSize, kvHeads, group;
  float scale, softcap;
  static AttentionShape of(AttentionOp op);
};

struct TokenPlace {
  mlir::Value seq, pos;
};

/// The sequence of token `t` (the last whose first row is <= t; empty sequences are
/// skipped over) and its absolute position. Without row offsets (a segmented attention:
/// sequence s is page s, whole), token t is at (t / pageSize, t % pageSize); without cache
/// lengths (variable-length segments) the position counts from the segment's first row.
TokenPlace placeToken(mlir::OpBuilder &b, mlir::Location loc, mlir::Value t,
                      mlir::Value rowOffsets, mlir::Value cacheLens, mlir::Value batch,
                      int64_t pageSize = 0);

/// Element offset of (position, kv head 0) of sequence `seq` in a paged cache; without a
/// block table, sequence s is page s, or, given `segments` (row offsets), its rows start at
/// row segments[s].
mlir::Value cacheOffset(mlir::OpBuilder &b, mlir::Location loc, mlir::Value blockTable,
                        mlir::Value maxPages, mlir::Value seq, mlir::Value pos, int64_t pageSize,
                        int64_t rowElems, mlir::Value segments = {});
/// The number of rows of segment `seq` (segments[seq + 1] - segments[seq]).
mlir::Value segmentLength(mlir::OpBuilder &b, mlir::Location loc, mlir::Value segments,
                          mlir::Value seq);

/// A KV write's buffers, and token `t`'s row in both: `src` in `values`, `dst` in `cache`
/// (rowElems elements each). For either backend's kernel builder: anything with
/// binding(index, elementType), push(index) and b()/loc(); `sig` is its DispatchSignature.
struct KvWriteRow {
  mlir::Value values, cache, src, dst;
  int64_t rowElems;
};

template <typename KernelBuilderT, typename SignatureT>
KvWriteRow bindKvWrite(KernelBuilderT &kb, KvWriteOp op, const SignatureT &sig, mlir::Value t) {
  mlir::OpBuilder &b = kb.b();
  mlir::Location loc = kb.loc();
  auto cacheType = mlir::cast<mlir::RankedTensorType>(op.getCache().getType());
  auto valuesType = mlir::cast<mlir::RankedTensorType>(op.getValues().getType());
  KvWriteRow r;
  r.rowElems = cacheType.getDimSize(2) * cacheType.getDimSize(3);
  r.values = kb.binding(sig.bindingOf(op.getValues()), valuesType.getElementType());
  mlir::Value bt = kb.binding(sig.bindingOf(op.getBlockTable()), b.getI32Type());
  mlir::Value ro = kb.binding(sig.bindingOf(op.getRowOffsets()), b.getI32Type());
  mlir::Value cl = kb.binding(sig.bindingOf(op.getCacheLens()), b.getI32Type());
  // The result is the cache itself: the schedule binds the state buffer here.
  r.cache = kb.binding(sig.operands.size(), cacheType.getElementType());
  mlir::Value batch = kb.push(0), maxPages = kb.push(1);
  TokenPlace place = placeToken(b, loc, t, ro, cl, batch);
  r.dst = cacheOffset(b, loc, bt, maxPages, place.seq, place.pos, cacheType.getDimSize(1), r.rowElems);
  r.src = mlir::arith::MulIOp::create(b, loc, t,
                                      mlir::arith::ConstantIndexOp::create(b, loc, r.rowElems));
  return r;
}

} // namespace mvc

#endif // MVC_COMPILER_CODEGEN_COMMON_PAGEDCACHE_H
