//===- GpuPagedCache.cpp - tokens in the ragged batch and the paged cache -===//
#include "compiler/Codegen/CUDA/GpuPagedCache.h"

using namespace mlir;

namespace mvc {

/// The sequence of token `t` (the last whose first row is <= t) and its absolute position.
TokenPlace placeToken(GpuKernelBuilder &kb, Value t, Value rowOffsets, Value cacheLens, Value batch) {
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  auto loadIndex = [&](Value mem, Value at) {
    return b.create<arith::IndexCastOp>(loc, b.getIndexType(), b.create<memref::LoadOp>(loc, mem, at));
  };
  Value seq = kb.forRangeCarried(kb.idx(0), batch, kb.idx(1), ValueRange{kb.idx(0)},
                                 [&](Value s, ValueRange acc) -> SmallVector<Value> {
                                   Value le = b.create<arith::CmpIOp>(
                                       loc, arith::CmpIPredicate::sle, loadIndex(rowOffsets, s), t);
                                   return {b.create<arith::SelectOp>(loc, le, s, acc[0])};
                                 })[0];
  Value start = loadIndex(rowOffsets, seq);
  Value pos = b.create<arith::AddIOp>(loc, loadIndex(cacheLens, seq),
                                      b.create<arith::SubIOp>(loc, t, start));
  return {seq, pos};
}

/// Element offset of (position, kv head 0) of sequence `seq` in a paged cache.
Value cacheOffset(GpuKernelBuilder &kb, Value blockTable, Value maxPages, Value seq, Value pos,
                  int64_t pageSize, int64_t rowElems) {
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  Value slotInTable = b.create<arith::AddIOp>(
      loc, b.create<arith::MulIOp>(loc, seq, maxPages),
      b.create<arith::DivUIOp>(loc, pos, kb.idx(pageSize)));
  Value page = b.create<arith::IndexCastOp>(loc, b.getIndexType(),
                                            b.create<memref::LoadOp>(loc, blockTable, slotInTable));
  Value slot = b.create<arith::AddIOp>(loc, b.create<arith::MulIOp>(loc, page, kb.idx(pageSize)),
                                       b.create<arith::RemUIOp>(loc, pos, kb.idx(pageSize)));
  return b.create<arith::MulIOp>(loc, slot, kb.idx(rowElems));
}

} // namespace mvc
