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
                      Value batch, int64_t pageSize) {
  if (!rowOffsets) {
    Value size = arith::ConstantIndexOp::create(b, loc, pageSize);
    return {arith::DivUIOp::create(b, loc, t, size), arith::RemUIOp::create(b, loc, t, size)};
  }
  auto loadIndex = [&](Value mem, Value at) -> Value {
    return arith::IndexCastOp::create(b, loc, b.getIndexType(),
                                      memref::LoadOp::create(b, loc, mem, at));
  };
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  auto loop = scf::ForOp::create(b, loc, zero, batch, arith::ConstantIndexOp::create(b, loc, 1),
                                 ValueRange{zero});
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value s = loop.getInductionVar();
    Value le =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sle, loadIndex(rowOffsets, s), t);
    scf::YieldOp::create(
        b, loc, ValueRange{arith::SelectOp::create(b, loc, le, s, loop.getRegionIterArgs()[0])});
  }
  Value seq = loop.getResult(0);
  Value pos = arith::SubIOp::create(b, loc, t, loadIndex(rowOffsets, seq));
  if (cacheLens) pos = arith::AddIOp::create(b, loc, loadIndex(cacheLens, seq), pos);
  return {seq, pos};
}

Value segmentLength(OpBuilder &b, Location loc, Value segments, Value seq) {
  auto at = [&](Value i) -> Value {
    return arith::IndexCastOp::create(b, loc, b.getIndexType(),
                                      memref::LoadOp::create(b, loc, segments, i));
  };
  Value next = arith::AddIOp::create(b, loc, seq, arith::ConstantIndexOp::create(b, loc, 1));
  return arith::SubIOp::create(b, loc, at(next), at(seq));
}

Value cacheOffset(OpBuilder &b, Location loc, Value blockTable, Value maxPages, Value seq,
                  Value pos, int64_t pageSize, int64_t rowElems, Value segments) {
  if (!blockTable && segments) {
    Value first = arith::IndexCastOp::create(b, loc, b.getIndexType(),
                                             memref::LoadOp::create(b, loc, segments, seq));
    return arith::MulIOp::create(b, loc, arith::AddIOp::create(b, loc, first, pos),
                                 arith::ConstantIndexOp::create(b, loc, rowElems));
  }
  Value size = arith::ConstantIndexOp::create(b, loc, pageSize);
  if (!blockTable)
    return arith::MulIOp::create(
        b, loc, arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, seq, size), pos),
        arith::ConstantIndexOp::create(b, loc, rowElems));
  Value slotInTable = arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, seq, maxPages),
                                            arith::DivUIOp::create(b, loc, pos, size));
  Value page = arith::IndexCastOp::create(b, loc, b.getIndexType(),
                                          memref::LoadOp::create(b, loc, blockTable, slotInTable));
  Value slot = arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, page, size),
                                     arith::RemUIOp::create(b, loc, pos, size));
  return arith::MulIOp::create(b, loc, slot, arith::ConstantIndexOp::create(b, loc, rowElems));
}

} // namespace mvc
