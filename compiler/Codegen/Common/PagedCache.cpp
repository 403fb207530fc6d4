//===- PagedCache.cpp - tokens in the ragged batch and the paged cache ----===//
#include "compiler/Codegen/Common/PagedCache.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;

namespace mvc {

AttentionShape AttentionShape::of(AttentionOp op) {
  auto qType = op.getQuery().getType();
  auto cacheType = op.getKeyCache().getType();
  AttentionShape s;
  s.heads = qType.getDimSize(1);
  s.hd = qType.getDimSize(2);
  s.pageSize = cacheType.getDimSize(1);
  s.kvHeads = cacheType.getDimSize(2);
  s.group = s.heads / s.kvHeads;
  s.scale = op.getScale().convertToFloat();
  s.softcap = op.getSoftcap().convertToFloat();
  return s;
}

TokenPlace placeToken(OpBuilder &b, Location loc, Value t, Value rowOffsets, Value cacheLens,
                      Value batch) {
  auto loadIndex = [&](Value mem, Value at) -> Value {
    return b.create<arith::IndexCastOp>(loc, b.getIndexType(), b.create<memref::LoadOp>(loc, mem, at));
  };
  Value zero = b.create<arith::ConstantIndexOp>(loc, 0);
  auto loop = b.create<scf::ForOp>(loc, zero, batch, b.create<arith::ConstantIndexOp>(loc, 1),
                                   ValueRange{zero});
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value s = loop.getInductionVar();
    Value le = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sle, loadIndex(rowOffsets, s), t);
    b.create<scf::YieldOp>(loc, ValueRange{b.create<arith::SelectOp>(loc, le, s, loop.getRegionIterArgs()[0])});
  }
  Value seq = loop.getResult(0);
  Value pos = b.create<arith::AddIOp>(loc, loadIndex(cacheLens, seq),
                                      b.create<arith::SubIOp>(loc, t, loadIndex(rowOffsets, seq)));
  return {seq, pos};
}

Value cacheOffset(OpBuilder &b, Location loc, Value blockTable, Value maxPages, Value seq,
                  Value pos, int64_t pageSize, int64_t rowElems) {
  Value size = b.create<arith::ConstantIndexOp>(loc, pageSize);
  Value slotInTable = b.create<arith::AddIOp>(loc, b.create<arith::MulIOp>(loc, seq, maxPages),
                                              b.create<arith::DivUIOp>(loc, pos, size));
  Value page = b.create<arith::IndexCastOp>(loc, b.getIndexType(),
                                            b.create<memref::LoadOp>(loc, blockTable, slotInTable));
  Value slot = b.create<arith::AddIOp>(loc, b.create<arith::MulIOp>(loc, page, size),
                                       b.create<arith::RemUIOp>(loc, pos, size));
  return b.create<arith::MulIOp>(loc, slot, b.create<arith::ConstantIndexOp>(loc, rowElems));
}

} // namespace mvc
