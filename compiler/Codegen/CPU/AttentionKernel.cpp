//===- AttentionKernel.cpp - paged attention and KV-cache writes ---------===//
//
// Attention: one workgroup per (query token, KV head). The query heads that share the KV
// head are processed together so each key and value row is read once; keys go in tiles
// with an online softmax (running max and sum per tile), so scores never touch memory.
// KV write: one workgroup per token, copying its keys (or values) into its cache slot.
//
//===----------------------------------------------------------------------===//
#include "compiler/Codegen/CPU/Kernels.h"

using namespace mlir;

namespace mvc {
namespace {

/// Shared by both kernels: the sequence of token `t` and its absolute position.
struct TokenPlace {
  Value seq, pos;
};

TokenPlace placeToken(KernelBuilder &kb, Value t, Value rowOffsets, Value cacheLens,
                      Value batch) {
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  // The last sequence whose first row is <= t (empty sequences are skipped over).
  auto loop = b.create<scf::ForOp>(loc, kb.idx(0), batch, kb.idx(1), ValueRange{kb.idx(0)});
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value s = loop.getInductionVar();
    Value start = b.create<arith::IndexCastOp>(loc, b.getIndexType(),
                                               b.create<memref::LoadOp>(loc, rowOffsets, s));
    Value le = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sle, start, t);
    b.create<scf::YieldOp>(loc, ValueRange{b.create<arith::SelectOp>(
                                    loc, le, s, loop.getRegionIterArgs()[0])});
  }
  Value seq = loop.getResult(0);
  Value start = b.create<arith::IndexCastOp>(loc, b.getIndexType(),
                                             b.create<memref::LoadOp>(loc, rowOffsets, seq));
  Value past = b.create<arith::IndexCastOp>(loc, b.getIndexType(),
                                            b.create<memref::LoadOp>(loc, cacheLens, seq));
  Value pos = b.create<arith::AddIOp>(loc, past, b.create<arith::SubIOp>(loc, t, start));
  return {seq, pos};
}

/// Element offset of (position, kv head 0) of sequence `seq` in a paged cache.
Value cacheOffset(KernelBuilder &kb, Value blockTable, Value maxPages, Value seq, Value pos,
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

Type elemOf(Value v) { return cast<RankedTensorType>(v.getType()).getElementType(); }

/// q · k for every key row of a tile. The keys' partial sums are independent
/// accumulators of one loop over the head dimension, so the FMAs do not wait on each
/// other as one reduction per key would (f32 FMA latency is 4 cycles).
SmallVector<Value> tileDots(KernelBuilder &kb, Value qRows, int64_t qOffset, Value keys,
                            ArrayRef<Value> rowBase, int64_t hd) {
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  int vl = kb.target().vectorWidth;
  int64_t main = hd / vl * vl;
  SmallVector<Value> sums;
  if (main) {
    Value zero = b.create<arith::ConstantOp>(loc, DenseElementsAttr::get(kb.vecType(), 0.0f));
    SmallVector<Value> init(rowBase.size(), zero);
    auto loop = b.create<scf::ForOp>(loc, kb.idx(0), kb.idx(main), kb.idx(vl), init);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value c = loop.getInductionVar();
      Value qv = kb.loadF32(qRows, b.create<arith::AddIOp>(loc, c, kb.idx(qOffset)), vl);
      SmallVector<Value> next;
      for (auto [j, base] : llvm::enumerate(rowBase)) {
        Value kv = kb.loadF32(keys, b.create<arith::AddIOp>(loc, base, c), vl);
        next.push_back(b.create<vector::FMAOp>(loc, qv, kv, loop.getRegionIterArgs()[j]));
      }
      b.create<scf::YieldOp>(loc, next);
    }
    for (Value acc : loop.getResults())
      sums.push_back(b.create<vector::ReductionOp>(loc, vector::CombiningKind::ADD, acc));
  } else {
    sums.assign(rowBase.size(), kb.f32(0.0f));
  }
  for (int64_t c = main; c < hd; ++c) {  // the scalar tail of a head size not a multiple of vl
    Value qv = kb.loadF32(qRows, kb.idx(qOffset + c), 0);
    for (auto [j, base] : llvm::enumerate(rowBase)) {
      Value kv = kb.loadF32(keys, b.create<arith::AddIOp>(loc, base, kb.idx(c)), 0);
      sums[j] = b.create<arith::AddFOp>(loc, sums[j], b.create<arith::MulFOp>(loc, qv, kv));
    }
  }
  return sums;
}

} // namespace

FailureOr<LaunchInfo> emitAttentionKernel(KernelBuilder &kb, DispatchRegionOp region,
                                          const DispatchSignature &sig, const DimsOf &dims) {
  auto op = cast<AttentionOp>(region.getBody().front().front());
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  auto qType = op.getQuery().getType();
  auto cacheType = op.getKeyCache().getType();
  int64_t heads = qType.getDimSize(1), hd = qType.getDimSize(2);
  int64_t pageSize = cacheType.getDimSize(1), kvHeads = cacheType.getDimSize(2);
  int64_t group = heads / kvHeads;
  float scale = op.getScale().convertToFloat(), softcap = op.getSoftcap().convertToFloat();
  int64_t window = op.getSlidingWindow();

  Value q = kb.binding(sig.bindingOf(op.getQuery()), elemOf(op.getQuery()));
  Value kc = kb.binding(sig.bindingOf(op.getKeyCache()), elemOf(op.getKeyCache()));
  Value vc = kb.binding(sig.bindingOf(op.getValueCache()), elemOf(op.getValueCache()));
  Value bt = kb.binding(sig.bindingOf(op.getBlockTable()), b.getI32Type());
  Value ro = kb.binding(sig.bindingOf(op.getRowOffsets()), b.getI32Type());
  Value cl = kb.binding(sig.bindingOf(op.getCacheLens()), b.getI32Type());
  Value out = kb.binding(sig.operands.size(), elemOf(op.getResult()));
  Value batch = kb.push(0), maxPages = kb.push(1);

  Value t = b.create<arith::DivUIOp>(loc, kb.workgroupId(), kb.idx(kvHeads));
  Value g = b.create<arith::RemUIOp>(loc, kb.workgroupId(), kb.idx(kvHeads));
  TokenPlace place = placeToken(kb, t, ro, cl, batch);
  // The keys a query sees form one interval [kFirst, kLast]: causal (and windowed) keys,
  // widened to the query's bidirectional group (a contiguous span containing the query).
  Value kLast = place.pos;
  Value kFirst = kb.idx(0);
  if (window > 0) {
    Value lo = b.create<arith::SubIOp>(loc, b.create<arith::AddIOp>(loc, kLast, kb.idx(1)),
                                       kb.idx(window));
    kFirst = b.create<arith::MaxSIOp>(loc, lo, kb.idx(0));
  }
  if (Value spans = op.getGroupSpans()) {
    Value sp = kb.binding(sig.bindingOf(spans), b.getI32Type());
    auto load = [&](int64_t i) -> Value {
      Value at = b.create<arith::AddIOp>(loc, b.create<arith::MulIOp>(loc, t, kb.idx(2)), kb.idx(i));
      return b.create<arith::IndexCastOp>(loc, b.getIndexType(), b.create<memref::LoadOp>(loc, sp, at));
    };
    Value start = load(0), end = load(1);
    Value inGroup = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, start, end);
    Value groupLast = b.create<arith::SubIOp>(loc, end, kb.idx(1));
    kLast = b.create<arith::SelectOp>(loc, inGroup, b.create<arith::MaxSIOp>(loc, kLast, groupLast),
                                      kLast);
    if (window > 0 && !op.getGroupWindowClip())
      kFirst = b.create<arith::SelectOp>(loc, inGroup,
                                         b.create<arith::MinSIOp>(loc, kFirst, start), kFirst);
  }

  auto rowType = MemRefType::get({group * hd}, b.getF32Type());
  Value qRows = b.create<memref::AllocaOp>(loc, rowType);
  Value acc = b.create<memref::AllocaOp>(loc, rowType);
  Value qBase = b.create<arith::MulIOp>(
      loc, b.create<arith::AddIOp>(loc, b.create<arith::MulIOp>(loc, t, kb.idx(heads)),
                                   b.create<arith::MulIOp>(loc, g, kb.idx(group))),
      kb.idx(hd));
  kb.forChunks(group * hd, [&](Value c, int l) {
    kb.storeF32(kb.loadF32(q, b.create<arith::AddIOp>(loc, qBase, c), l), qRows, c);
    Value zero = l ? Value(b.create<arith::ConstantOp>(
                         loc, DenseElementsAttr::get(VectorType::get({l}, b.getF32Type()), 0.0f)))
                   : kb.f32(0.0f);
    kb.storeF32(zero, acc, c);
  });

  SmallVector<Value> init;
  for (int64_t h = 0; h < group; ++h) init.push_back(kb.f32(-INFINITY));
  for (int64_t h = 0; h < group; ++h) init.push_back(kb.f32(0.0f));
  // Keys go in tiles of kKeyTile: the tile's scores first (one K row read serves every
  // query head of the group), then one max/correction per tile and the V rows folded into
  // each accumulator chunk while it sits in a register. Keys past kLast in the last tile
  // are masked (score -inf, row offset clamped to a valid key).
  constexpr int64_t kKeyTile = 8;
  Value numKeys = b.create<arith::SubIOp>(loc, b.create<arith::AddIOp>(loc, kLast, kb.idx(1)), kFirst);
  Value numTiles = b.create<arith::DivUIOp>(
      loc, b.create<arith::AddIOp>(loc, numKeys, kb.idx(kKeyTile - 1)), kb.idx(kKeyTile));
  auto loop = b.create<scf::ForOp>(loc, kb.idx(0), numTiles, kb.idx(1), init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value tileStart = b.create<arith::AddIOp>(
        loc, kFirst, b.create<arith::MulIOp>(loc, loop.getInductionVar(), kb.idx(kKeyTile)));
    SmallVector<Value> rowBase, valid;
    for (int64_t j = 0; j < kKeyTile; ++j) {
      Value kpos = b.create<arith::AddIOp>(loc, tileStart, kb.idx(j));
      valid.push_back(b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sle, kpos, kLast));
      Value clamped = b.create<arith::MinSIOp>(loc, kpos, kLast);
      Value base = cacheOffset(kb, bt, maxPages, place.seq, clamped, pageSize, kvHeads * hd);
      rowBase.push_back(b.create<arith::AddIOp>(loc, base, b.create<arith::MulIOp>(loc, g, kb.idx(hd))));
    }
    auto tileType = VectorType::get({kKeyTile}, b.getF32Type());
    SmallVector<Value> maxes, sums;
    for (int64_t h = 0; h < group; ++h) {
      SmallVector<Value> dots = tileDots(kb, qRows, h * hd, kc, rowBase, hd);
      SmallVector<Value> scores;
      for (int64_t j = 0; j < kKeyTile; ++j) {
        Value sc = b.create<arith::MulFOp>(loc, dots[j], kb.f32(scale));
        if (softcap > 0.0f)
          sc = b.create<arith::MulFOp>(
              loc, b.create<math::TanhOp>(loc, b.create<arith::DivFOp>(loc, sc, kb.f32(softcap))),
              kb.f32(softcap));
        scores.push_back(b.create<arith::SelectOp>(loc, valid[j], sc, kb.f32(-INFINITY)));
      }
      Value s = b.create<vector::FromElementsOp>(loc, tileType, scores);
      Value mOld = loop.getRegionIterArgs()[h], lOld = loop.getRegionIterArgs()[group + h];
      Value mNew = b.create<arith::MaximumFOp>(
          loc, mOld, b.create<vector::ReductionOp>(loc, vector::CombiningKind::MAXIMUMF, s));
      Value corr = b.create<math::ExpOp>(loc, b.create<arith::SubFOp>(loc, mOld, mNew));
      Value p = b.create<math::ExpOp>(
          loc, b.create<arith::SubFOp>(loc, s, b.create<vector::BroadcastOp>(loc, tileType, mNew)));
      Value pSum = b.create<vector::ReductionOp>(loc, vector::CombiningKind::ADD, p);
      sums.push_back(b.create<arith::AddFOp>(loc, b.create<arith::MulFOp>(loc, lOld, corr), pSum));
      maxes.push_back(mNew);
      SmallVector<Value> pj;
      for (int64_t j = 0; j < kKeyTile; ++j)
        pj.push_back(b.create<vector::ExtractOp>(loc, p, ArrayRef<int64_t>{j}));
      kb.forChunks(hd, [&](Value c, int l) {
        Value at = b.create<arith::AddIOp>(loc, c, kb.idx(h * hd));
        Value a = kb.loadF32(acc, at, l);
        // Two FMA chains (even and odd keys) so the adds of a tile do not serialize.
        Value chains[2] = {b.create<arith::MulFOp>(loc, a, kb.splatLike(corr, a)),
                           kb.splatLike(kb.f32(0.0f), a)};
        for (int64_t j = 0; j < kKeyTile; ++j) {
          Value v = kb.loadF32(vc, b.create<arith::AddIOp>(loc, rowBase[j], c), l);
          Value &chain = chains[j % 2];
          chain = l ? Value(b.create<vector::FMAOp>(loc, v, kb.splatLike(pj[j], v), chain))
                    : Value(b.create<math::FmaOp>(loc, v, pj[j], chain));
        }
        kb.storeF32(b.create<arith::AddFOp>(loc, chains[0], chains[1]), acc, at);
      });
    }
    SmallVector<Value> next(maxes);
    next.append(sums);
    b.create<scf::YieldOp>(loc, next);
  }
  for (int64_t h = 0; h < group; ++h) {
    Value inv = b.create<arith::DivFOp>(loc, kb.f32(1.0f), loop.getResult(group + h));
    Value outBase = b.create<arith::AddIOp>(loc, qBase, kb.idx(h * hd));
    kb.forChunks(hd, [&](Value c, int l) {
      Value a = kb.loadF32(acc, b.create<arith::AddIOp>(loc, c, kb.idx(h * hd)), l);
      kb.storeF32(b.create<arith::MulFOp>(loc, a, kb.splatLike(inv, a)), out,
                  b.create<arith::AddIOp>(loc, outBase, c));
    });
  }
  kb.finish();
  std::vector<SymExpr> qDims = dims(op.getQuery()), btDims = dims(op.getBlockTable());
  return LaunchInfo{qDims[0] * kvHeads, {btDims[0], btDims[1]}};
}

FailureOr<LaunchInfo> emitKvWriteKernel(KernelBuilder &kb, DispatchRegionOp region,
                                        const DispatchSignature &sig, const DimsOf &dims) {
  auto op = cast<KvWriteOp>(region.getBody().front().front());
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  auto cacheType = cast<RankedTensorType>(op.getCache().getType());
  int64_t pageSize = cacheType.getDimSize(1);
  int64_t rowElems = cacheType.getDimSize(2) * cacheType.getDimSize(3);
  Value values = kb.binding(sig.bindingOf(op.getValues()), elemOf(op.getValues()));
  Value bt = kb.binding(sig.bindingOf(op.getBlockTable()), b.getI32Type());
  Value ro = kb.binding(sig.bindingOf(op.getRowOffsets()), b.getI32Type());
  Value cl = kb.binding(sig.bindingOf(op.getCacheLens()), b.getI32Type());
  // The result is the cache itself: the schedule binds the state buffer here.
  Value cache = kb.binding(sig.operands.size(), cacheType.getElementType());
  Value batch = kb.push(0), maxPages = kb.push(1);
  Value t = kb.workgroupId();
  TokenPlace place = placeToken(kb, t, ro, cl, batch);
  Value dst = cacheOffset(kb, bt, maxPages, place.seq, place.pos, pageSize, rowElems);
  Value src = b.create<arith::MulIOp>(loc, t, kb.idx(rowElems));
  kb.forChunks(rowElems, [&](Value c, int l) {
    kb.storeF32(kb.loadF32(values, b.create<arith::AddIOp>(loc, src, c), l), cache,
                b.create<arith::AddIOp>(loc, dst, c));
  });
  kb.finish();
  std::vector<SymExpr> vDims = dims(op.getValues()), btDims = dims(op.getBlockTable());
  return LaunchInfo{vDims[0], {btDims[0], btDims[1]}};
}

} // namespace mvc
