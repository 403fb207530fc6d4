//===- AttentionKernel.cpp - paged attention and KV-cache writes ---------===//
//
// Attention: one workgroup per (block of lowering_config.query_rows query rows, KV head).
// The rows of a block (when they belong to one sequence) and the query heads that share the
// KV head are processed together, so each key and value row is read once for all of them;
// keys go in tiles with an online softmax (running max and sum per tile), so scores never
// touch memory.
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

namespace {

/// One query row of a workgroup's block: where it is, which keys it sees.
struct QueryRow {
  Value row;          // clamped to a valid row (its loads stay in bounds)
  Value valid;        // the row exists (the last block may be short)
  TokenPlace place;
  Value first, last;  // the keys it sees: [first, last] in absolute positions
};

/// Emits attention for `rows` (all of one sequence) and KV head `g`: each key and value row
/// is loaded once for the rows × query heads of the group, over the union of their key
/// ranges in tiles of kKeyTile, with an online softmax per query vector; a key outside a
/// row's range scores -inf.
class AttentionBlockEmitter {
public:
  AttentionBlockEmitter(KernelBuilder &kb, AttentionOp op, Value q, Value kc, Value vc, Value bt,
                        Value out, Value maxPages, Value g)
      : kb(kb), b(kb.b()), loc(kb.loc()), op(op), q(q), kc(kc), vc(vc), bt(bt), out(out),
        maxPages(maxPages), g(g) {
    auto qType = op.getQuery().getType();
    auto cacheType = op.getKeyCache().getType();
    heads = qType.getDimSize(1);
    hd = qType.getDimSize(2);
    pageSize = cacheType.getDimSize(1);
    kvHeads = cacheType.getDimSize(2);
    group = heads / kvHeads;
    scale = op.getScale().convertToFloat();
    softcap = op.getSoftcap().convertToFloat();
  }

  void emit(ArrayRef<QueryRow> rows) {
    int64_t n = int64_t(rows.size()) * group; // query vectors
    Value kFirst = rows[0].first, kLast = rows[0].last;
    for (const QueryRow &r : rows.drop_front()) {
      // Rows past the end do not widen the range.
      kFirst = b.create<arith::SelectOp>(loc, r.valid, b.create<arith::MinSIOp>(loc, kFirst, r.first), kFirst);
      kLast = b.create<arith::SelectOp>(loc, r.valid, b.create<arith::MaxSIOp>(loc, kLast, r.last), kLast);
    }
    auto rowType = MemRefType::get({n * hd}, b.getF32Type());
    Value qRows = b.create<memref::AllocaOp>(loc, rowType);
    Value acc = b.create<memref::AllocaOp>(loc, rowType);
    SmallVector<Value> qBase;
    for (auto [i, r] : llvm::enumerate(rows)) {
      qBase.push_back(b.create<arith::MulIOp>(
          loc, b.create<arith::AddIOp>(loc, b.create<arith::MulIOp>(loc, r.row, kb.idx(heads)),
                                       b.create<arith::MulIOp>(loc, g, kb.idx(group))),
          kb.idx(hd)));
      int64_t at = int64_t(i) * group * hd;
      kb.forChunks(group * hd, [&](Value c, int l) {
        Value dst = b.create<arith::AddIOp>(loc, c, kb.idx(at));
        kb.storeF32(kb.loadF32(q, b.create<arith::AddIOp>(loc, qBase.back(), c), l), qRows, dst);
        Value zero = l ? Value(b.create<arith::ConstantOp>(
                             loc, DenseElementsAttr::get(VectorType::get({l}, b.getF32Type()), 0.0f)))
                       : kb.f32(0.0f);
        kb.storeF32(zero, acc, dst);
      });
    }

    SmallVector<Value> init;
    for (int64_t v = 0; v < n; ++v) init.push_back(kb.f32(-INFINITY));
    for (int64_t v = 0; v < n; ++v) init.push_back(kb.f32(0.0f));
    Value numKeys = b.create<arith::SubIOp>(loc, b.create<arith::AddIOp>(loc, kLast, kb.idx(1)), kFirst);
    Value numTiles = b.create<arith::DivUIOp>(
        loc, b.create<arith::AddIOp>(loc, numKeys, kb.idx(kKeyTile - 1)), kb.idx(kKeyTile));
    auto loop = b.create<scf::ForOp>(loc, kb.idx(0), numTiles, kb.idx(1), init);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value tileStart = b.create<arith::AddIOp>(
          loc, kFirst, b.create<arith::MulIOp>(loc, loop.getInductionVar(), kb.idx(kKeyTile)));
      SmallVector<Value> rowBase, kpos;
      for (int64_t j = 0; j < kKeyTile; ++j) {
        kpos.push_back(b.create<arith::AddIOp>(loc, tileStart, kb.idx(j)));
        Value clamped = b.create<arith::MinSIOp>(loc, kpos.back(), kLast);
        Value base = cacheOffset(kb, bt, maxPages, rows[0].place.seq, clamped, pageSize, kvHeads * hd);
        rowBase.push_back(b.create<arith::AddIOp>(loc, base, b.create<arith::MulIOp>(loc, g, kb.idx(hd))));
      }
      auto tileType = VectorType::get({kKeyTile}, b.getF32Type());
      SmallVector<Value> maxes, sums;
      for (int64_t v = 0; v < n; ++v) {
        const QueryRow &r = rows[v / group];
        SmallVector<Value> dots = tileDots(kb, qRows, v * hd, kc, rowBase, hd);
        SmallVector<Value> scores;
        for (int64_t j = 0; j < kKeyTile; ++j) {
          Value sc = b.create<arith::MulFOp>(loc, dots[j], kb.f32(scale));
          if (softcap > 0.0f)
            sc = b.create<arith::MulFOp>(
                loc, b.create<math::TanhOp>(loc, b.create<arith::DivFOp>(loc, sc, kb.f32(softcap))),
                kb.f32(softcap));
          Value seen = b.create<arith::AndIOp>(
              loc, b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sge, kpos[j], r.first),
              b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sle, kpos[j], r.last));
          scores.push_back(b.create<arith::SelectOp>(loc, seen, sc, kb.f32(-INFINITY)));
        }
        Value sv = b.create<vector::FromElementsOp>(loc, tileType, scores);
        Value mOld = loop.getRegionIterArgs()[v], lOld = loop.getRegionIterArgs()[n + v];
        Value mNew = b.create<arith::MaximumFOp>(
            loc, mOld, b.create<vector::ReductionOp>(loc, vector::CombiningKind::MAXIMUMF, sv));
        // A row may see no key of this tile yet (its range starts later): subtract 0 then,
        // so exp(-inf - -inf) never makes a NaN; its probabilities and correction are 0.
        Value none = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OEQ, mNew, kb.f32(-INFINITY));
        Value mSafe = b.create<arith::SelectOp>(loc, none, kb.f32(0.0f), mNew);
        Value corr = b.create<math::ExpOp>(loc, b.create<arith::SubFOp>(loc, mOld, mSafe));
        Value p = b.create<math::ExpOp>(
            loc, b.create<arith::SubFOp>(loc, sv, b.create<vector::BroadcastOp>(loc, tileType, mSafe)));
        Value pSum = b.create<vector::ReductionOp>(loc, vector::CombiningKind::ADD, p);
        sums.push_back(b.create<arith::AddFOp>(loc, b.create<arith::MulFOp>(loc, lOld, corr), pSum));
        maxes.push_back(mNew);
        SmallVector<Value> pj;
        for (int64_t j = 0; j < kKeyTile; ++j)
          pj.push_back(b.create<vector::ExtractOp>(loc, p, ArrayRef<int64_t>{j}));
        kb.forChunks(hd, [&](Value c, int l) {
          Value at = b.create<arith::AddIOp>(loc, c, kb.idx(v * hd));
          Value a = kb.loadF32(acc, at, l);
          // Two FMA chains (even and odd keys) so the adds of a tile do not serialize.
          Value chains[2] = {b.create<arith::MulFOp>(loc, a, kb.splatLike(corr, a)),
                             kb.splatLike(kb.f32(0.0f), a)};
          for (int64_t j = 0; j < kKeyTile; ++j) {
            Value val = kb.loadF32(vc, b.create<arith::AddIOp>(loc, rowBase[j], c), l);
            Value &chain = chains[j % 2];
            chain = l ? Value(b.create<vector::FMAOp>(loc, val, kb.splatLike(pj[j], val), chain))
                      : Value(b.create<math::FmaOp>(loc, val, pj[j], chain));
          }
          kb.storeF32(b.create<arith::AddFOp>(loc, chains[0], chains[1]), acc, at);
        });
      }
      SmallVector<Value> next(maxes);
      next.append(sums);
      b.create<scf::YieldOp>(loc, next);
    }
    for (int64_t v = 0; v < n; ++v) {
      const QueryRow &r = rows[v / group];
      auto ifValid = b.create<scf::IfOp>(loc, r.valid, /*withElseRegion=*/false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&ifValid.getThenRegion().front());
      Value inv = b.create<arith::DivFOp>(loc, kb.f32(1.0f), loop.getResult(n + v));
      Value outBase = b.create<arith::AddIOp>(loc, qBase[v / group], kb.idx((v % group) * hd));
      kb.forChunks(hd, [&](Value c, int l) {
        Value a = kb.loadF32(acc, b.create<arith::AddIOp>(loc, c, kb.idx(v * hd)), l);
        kb.storeF32(b.create<arith::MulFOp>(loc, a, kb.splatLike(inv, a)), out,
                    b.create<arith::AddIOp>(loc, outBase, c));
      });
    }
  }

private:
  static constexpr int64_t kKeyTile = 8;
  KernelBuilder &kb;
  OpBuilder &b;
  Location loc;
  AttentionOp op;
  Value q, kc, vc, bt, out, maxPages, g;
  int64_t heads, hd, pageSize, kvHeads, group;
  float scale, softcap;
};

} // namespace

FailureOr<LaunchInfo> emitAttentionKernel(KernelBuilder &kb, DispatchRegionOp region,
                                          const DispatchSignature &sig, const DimsOf &dims) {
  auto op = cast<AttentionOp>(region.getBody().front().front());
  FailureOr<int64_t> queryRows = loweringConfigValue(region, "query_rows");
  if (failed(queryRows)) return failure();
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  int64_t kvHeads = op.getKeyCache().getType().getDimSize(2);
  int64_t window = op.getSlidingWindow();

  Value q = kb.binding(sig.bindingOf(op.getQuery()), elemOf(op.getQuery()));
  Value kc = kb.binding(sig.bindingOf(op.getKeyCache()), elemOf(op.getKeyCache()));
  Value vc = kb.binding(sig.bindingOf(op.getValueCache()), elemOf(op.getValueCache()));
  Value bt = kb.binding(sig.bindingOf(op.getBlockTable()), b.getI32Type());
  Value ro = kb.binding(sig.bindingOf(op.getRowOffsets()), b.getI32Type());
  Value cl = kb.binding(sig.bindingOf(op.getCacheLens()), b.getI32Type());
  Value sp = op.getGroupSpans() ? kb.binding(sig.bindingOf(op.getGroupSpans()), b.getI32Type()) : Value();
  Value out = kb.binding(sig.operands.size(), elemOf(op.getResult()));
  Value batch = kb.push(0), maxPages = kb.push(1), numRows = kb.push(2);

  // Workgroup = (block of query_rows consecutive rows, KV head).
  Value block = b.create<arith::DivUIOp>(loc, kb.workgroupId(), kb.idx(kvHeads));
  Value g = b.create<arith::RemUIOp>(loc, kb.workgroupId(), kb.idx(kvHeads));
  Value firstRow = b.create<arith::MulIOp>(loc, block, kb.idx(*queryRows));
  Value lastRow = b.create<arith::SubIOp>(loc, numRows, kb.idx(1));

  // The keys row t sees form one interval [first, last]: causal (and windowed) keys,
  // widened to its bidirectional group (a contiguous span containing it).
  auto queryRow = [&](Value t) {
    QueryRow r;
    r.valid = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, t, numRows);
    r.row = b.create<arith::MinUIOp>(loc, t, lastRow);
    r.place = placeToken(kb, r.row, ro, cl, batch);
    r.last = r.place.pos;
    r.first = kb.idx(0);
    if (window > 0)
      r.first = b.create<arith::MaxSIOp>(
          loc, b.create<arith::SubIOp>(loc, b.create<arith::AddIOp>(loc, r.last, kb.idx(1)),
                                       kb.idx(window)),
          kb.idx(0));
    if (sp) {
      auto load = [&](int64_t i) -> Value {
        Value at = b.create<arith::AddIOp>(loc, b.create<arith::MulIOp>(loc, r.row, kb.idx(2)), kb.idx(i));
        return b.create<arith::IndexCastOp>(loc, b.getIndexType(), b.create<memref::LoadOp>(loc, sp, at));
      };
      Value start = load(0), end = load(1);
      Value inGroup = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, start, end);
      Value groupLast = b.create<arith::SubIOp>(loc, end, kb.idx(1));
      r.last = b.create<arith::SelectOp>(loc, inGroup, b.create<arith::MaxSIOp>(loc, r.last, groupLast),
                                         r.last);
      if (window > 0 && !op.getGroupWindowClip())
        r.first = b.create<arith::SelectOp>(loc, inGroup,
                                            b.create<arith::MinSIOp>(loc, r.first, start), r.first);
    }
    return r;
  };

  AttentionBlockEmitter emitter(kb, op, q, kc, vc, bt, out, maxPages, g);
  if (*queryRows == 1) {
    emitter.emit({queryRow(firstRow)});
  } else {
    // Rows of one sequence share keys; a block that straddles sequences (or is the short
    // last one) goes row by row.
    SmallVector<QueryRow> rows;
    for (int64_t i = 0; i < *queryRows; ++i)
      rows.push_back(queryRow(b.create<arith::AddIOp>(loc, firstRow, kb.idx(i))));
    Value shared = b.create<arith::AndIOp>(
        loc, rows.back().valid,
        b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, rows.front().place.seq,
                                rows.back().place.seq));
    auto ifShared = b.create<scf::IfOp>(loc, shared, /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifShared.getThenRegion().front());
    emitter.emit(rows);
    b.setInsertionPointToStart(&ifShared.getElseRegion().front());
    Value end = b.create<arith::MinUIOp>(
        loc, b.create<arith::AddIOp>(loc, firstRow, kb.idx(*queryRows)), numRows);
    kb.forRange(firstRow, end, 1, [&](Value t) { emitter.emit({queryRow(t)}); });
  }
  kb.finish();
  std::vector<SymExpr> qDims = dims(op.getQuery()), btDims = dims(op.getBlockTable());
  return LaunchInfo{SymExpr::ceilDiv(qDims[0], *queryRows) * kvHeads, {btDims[0], btDims[1], qDims[0]}};
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
