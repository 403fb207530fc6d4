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
#include "compiler/Codegen/Common/PagedCache.h"

#include <tuple>

using namespace mlir;

namespace mvc {
namespace {

Type elemOf(Value v) { return cast<RankedTensorType>(v.getType()).getElementType(); }

} // namespace

namespace {

/// One query row of a workgroup's block: where it is, which keys it sees.
struct QueryRow {
  Value row;          // clamped to a valid row (its loads stay in bounds)
  Value valid;        // the row exists (the last block may be short)
  TokenPlace place;
  Value first, last;  // the keys it sees: [first, last] in absolute positions
};

/// The order in which transposeReduce must receive its vectors so that lane j of its result
/// is the sum of the j-th vector given to it (see there).
SmallVector<int64_t> transposeReduceOrder(int64_t w) {
  // Simulate the stages on source ids: every lane's partial sum comes from one source.
  SmallVector<SmallVector<int64_t>> ids;
  for (int64_t v = 0; v < w; ++v) ids.push_back(SmallVector<int64_t>(w, v));
  for (int64_t block = w; ids.size() > 1; block /= 2) {
    SmallVector<SmallVector<int64_t>> next;
    for (size_t i = 0; i < ids.size(); i += 2) {
      SmallVector<int64_t> z(w);
      for (int64_t lane = 0; lane < w; ++lane) {
        int64_t q = lane % block, base = lane - q;
        z[lane] = q < block / 2 ? ids[i][base + q] : ids[i + 1][base + q - block / 2];
      }
      next.push_back(z);
    }
    ids = next;
  }
  SmallVector<int64_t> position(w);
  for (int64_t lane = 0; lane < w; ++lane) position[lane] = ids[0][lane];
  return position;
}

/// Sums the lanes of each of `parts` (w vectors of w lanes) into one vector: lane j = the
/// sum of parts[j]. Pairs are folded in log2(w) stages, each halving the lanes every
/// partial sum occupies (two shuffles and an add per pair), so w dot products cost w - 1
/// adds instead of w horizontal reductions.
Value transposeReduce(OpBuilder &b, Location loc, ArrayRef<Value> parts) {
  int64_t w = int64_t(parts.size());
  SmallVector<int64_t> order = transposeReduceOrder(w);
  SmallVector<Value> cur(w);
  for (int64_t lane = 0; lane < w; ++lane) cur[order[lane]] = parts[lane];
  for (int64_t block = w; cur.size() > 1; block /= 2) {
    SmallVector<int64_t> lo(w), hi(w);
    for (int64_t lane = 0; lane < w; ++lane) {
      int64_t q = lane % block, base = lane - q, half = block / 2;
      lo[lane] = q < half ? base + q : w + base + q - half;
      hi[lane] = q < half ? base + half + q : w + base + q;
    }
    SmallVector<Value> next;
    for (size_t i = 0; i < cur.size(); i += 2)
      next.push_back(b.create<arith::AddFOp>(
          loc, b.create<vector::ShuffleOp>(loc, cur[i], cur[i + 1], lo),
          b.create<vector::ShuffleOp>(loc, cur[i], cur[i + 1], hi)));
    cur = next;
  }
  return cur[0];
}

/// Emits attention for `rows` (all of one sequence) and KV head `g` as small matrix
/// products over tiles of `vl` keys (vl = the target's f32 lanes):
///   - the tile's key and value rows are converted once into f32 scratch rows padded to
///     a whole number of vectors (masked loads, zero padding), so no scalar tail remains;
///   - S = Q·Kᵀ: per query vector, vl independent accumulators over the head dimension,
///     folded into one vector of vl scores by transposeReduce;
///   - the online softmax runs on that vector (a key outside a row's range scores -inf);
///   - O += P·V: per chunk of the head dimension the accumulators of every query vector
///     stay in registers while each value row is loaded once and multiplied by each
///     query's probability (broadcast from a scratch row).
/// Each key and value row is read from the cache once for the rows × query heads of the
/// group.
class AttentionBlockEmitter {
public:
  AttentionBlockEmitter(KernelBuilder &kb, AttentionOp op, Value q, Value kc, Value vc, Value bt,
                        Value out, Value maxPages, Value g)
      : kb(kb), b(kb.b()), loc(kb.loc()), op(op), q(q), kc(kc), vc(vc), bt(bt), out(out),
        maxPages(maxPages), g(g) {
    AttentionShape shape = AttentionShape::of(op);
    std::tie(heads, hd, pageSize, kvHeads, group) =
        std::tie(shape.heads, shape.hd, shape.pageSize, shape.kvHeads, shape.group);
    scale = shape.scale;
    softcap = shape.softcap;
    vl = kb.target().vectorWidth;
    hdp = (hd + vl - 1) / vl * vl;
  }

  void emit(ArrayRef<QueryRow> rows) {
    int64_t n = int64_t(rows.size()) * group; // query vectors
    Value kFirst = rows[0].first, kLast = rows[0].last;
    for (const QueryRow &r : rows.drop_front()) {
      // Rows past the end do not widen the range.
      kFirst = b.create<arith::SelectOp>(loc, r.valid, b.create<arith::MinSIOp>(loc, kFirst, r.first), kFirst);
      kLast = b.create<arith::SelectOp>(loc, r.valid, b.create<arith::MaxSIOp>(loc, kLast, r.last), kLast);
    }
    Value qRows = scratch(n * hdp), acc = scratch(n * hdp);
    Value keys = scratch(vl * hdp), values = scratch(vl * hdp);
    Value probs = scratch(n * vl), corrs = scratch(n);
    Value zero = b.create<arith::ConstantOp>(loc, DenseElementsAttr::get(kb.vecType(), 0.0f));
    SmallVector<Value> qBase;
    for (auto [i, r] : llvm::enumerate(rows)) {
      qBase.push_back(b.create<arith::MulIOp>(
          loc, b.create<arith::AddIOp>(loc, b.create<arith::MulIOp>(loc, r.row, kb.idx(heads)),
                                       b.create<arith::MulIOp>(loc, g, kb.idx(group))),
          kb.idx(hd)));
      for (int64_t h = 0; h < group; ++h) {
        int64_t v = int64_t(i) * group + h;
        copyRow(q, b.create<arith::AddIOp>(loc, qBase.back(), kb.idx(h * hd)), qRows, v * hdp);
        for (int64_t c = 0; c < hdp; c += vl)
          b.create<vector::StoreOp>(loc, zero, acc, ValueRange{kb.idx(v * hdp + c)});
      }
    }

    SmallVector<Value> init;
    for (int64_t v = 0; v < n; ++v) init.push_back(kb.f32(-INFINITY));
    for (int64_t v = 0; v < n; ++v) init.push_back(kb.f32(0.0f));
    Value numKeys = b.create<arith::SubIOp>(loc, b.create<arith::AddIOp>(loc, kLast, kb.idx(1)), kFirst);
    Value numTiles = b.create<arith::DivUIOp>(
        loc, b.create<arith::AddIOp>(loc, numKeys, kb.idx(vl - 1)), kb.idx(vl));
    auto loop = b.create<scf::ForOp>(loc, kb.idx(0), numTiles, kb.idx(1), init);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value tileStart = b.create<arith::AddIOp>(
          loc, kFirst, b.create<arith::MulIOp>(loc, loop.getInductionVar(), kb.idx(vl)));
      for (int64_t j = 0; j < vl; ++j) {
        // Keys past the range repeat the last one (in bounds); their scores are masked.
        Value clamped = b.create<arith::MinSIOp>(loc, b.create<arith::AddIOp>(loc, tileStart, kb.idx(j)), kLast);
        Value base = b.create<arith::AddIOp>(
            loc, cacheOffset(b, loc, bt, maxPages, rows[0].place.seq, clamped, pageSize, kvHeads * hd),
            b.create<arith::MulIOp>(loc, g, kb.idx(hd)));
        copyRow(kc, base, keys, j * hdp);
        copyRow(vc, base, values, j * hdp);
      }
      auto i64Vec = VectorType::get({vl}, b.getI64Type());
      SmallVector<int64_t> iota(vl);
      for (int64_t j = 0; j < vl; ++j) iota[j] = j;
      auto asI64 = [&](Value x) {
        return b.create<vector::BroadcastOp>(
            loc, i64Vec, b.create<arith::IndexCastOp>(loc, b.getI64Type(), x));
      };
      Value kpos = b.create<arith::AddIOp>(
          loc, asI64(tileStart),
          b.create<arith::ConstantOp>(loc, DenseElementsAttr::get(i64Vec, ArrayRef<int64_t>(iota))));
      SmallVector<Value> maxes, sums;
      for (int64_t v = 0; v < n; ++v) {
        const QueryRow &r = rows[v / group];
        Value sv = b.create<arith::MulFOp>(loc, scores(qRows, v * hdp, keys),
                                           kb.splatLike(kb.f32(scale), zero));
        if (softcap > 0.0f) {
          Value cap = kb.splatLike(kb.f32(softcap), zero);
          sv = b.create<arith::MulFOp>(loc, b.create<math::TanhOp>(loc, b.create<arith::DivFOp>(loc, sv, cap)), cap);
        }
        Value seen = b.create<arith::AndIOp>(
            loc, b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sge, kpos, asI64(r.first)),
            b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sle, kpos, asI64(r.last)));
        sv = b.create<arith::SelectOp>(loc, seen, sv, kb.splatLike(kb.f32(-INFINITY), zero));
        Value mOld = loop.getRegionIterArgs()[v], lOld = loop.getRegionIterArgs()[n + v];
        Value mNew = b.create<arith::MaximumFOp>(
            loc, mOld, b.create<vector::ReductionOp>(loc, vector::CombiningKind::MAXIMUMF, sv));
        // A row may see no key of this tile yet (its range starts later): subtract 0 then,
        // so exp(-inf - -inf) never makes a NaN; its probabilities and correction are 0.
        Value none = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OEQ, mNew, kb.f32(-INFINITY));
        Value mSafe = b.create<arith::SelectOp>(loc, none, kb.f32(0.0f), mNew);
        Value corr = b.create<math::ExpOp>(loc, b.create<arith::SubFOp>(loc, mOld, mSafe));
        Value p = b.create<math::ExpOp>(loc, b.create<arith::SubFOp>(loc, sv, kb.splatLike(mSafe, sv)));
        Value pSum = b.create<vector::ReductionOp>(loc, vector::CombiningKind::ADD, p);
        sums.push_back(b.create<arith::AddFOp>(loc, b.create<arith::MulFOp>(loc, lOld, corr), pSum));
        maxes.push_back(mNew);
        b.create<vector::StoreOp>(loc, p, probs, ValueRange{kb.idx(v * vl)});
        b.create<memref::StoreOp>(loc, corr, corrs, ValueRange{kb.idx(v)});
      }
      accumulate(n, acc, probs, corrs, values);
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
        Value a = kb.loadF32(acc, b.create<arith::AddIOp>(loc, c, kb.idx(v * hdp)), l);
        kb.storeF32(b.create<arith::MulFOp>(loc, a, kb.splatLike(inv, a)), out,
                    b.create<arith::AddIOp>(loc, outBase, c));
      });
    }
  }

private:
  /// An f32 stack buffer of `size` elements, allocated once at the kernel's entry (emit
  /// may run inside loops).
  Value scratch(int64_t size) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&kb.func().getBody().front());
    return b.create<memref::AllocaOp>(loc, MemRefType::get({size}, b.getF32Type()), ValueRange{},
                                      b.getI64IntegerAttr(64));
  }

  /// Copies hd elements of `src` at `from` as f32 into `dst` at the static `to`, and zeros
  /// up to hdp: whole vectors, the last one a masked load.
  void copyRow(Value src, Value from, Value dst, int64_t to) {
    Type elem = cast<MemRefType>(src.getType()).getElementType();
    for (int64_t c = 0; c < hdp; c += vl) {
      Value at = b.create<arith::AddIOp>(loc, from, kb.idx(c));
      Value x;
      if (c + vl <= hd) {
        x = kb.loadF32(src, at, vl);
      } else {
        auto vt = VectorType::get({vl}, elem);
        Value mask = b.create<vector::ConstantMaskOp>(
            loc, VectorType::get({vl}, b.getI1Type()), ArrayRef<int64_t>{hd - c});
        Value pass = b.create<arith::ConstantOp>(loc, DenseElementsAttr::get(vt, b.getZeroAttr(elem)));
        x = b.create<vector::MaskedLoadOp>(loc, vt, src, ValueRange{at}, mask, pass);
        if (!elem.isF32()) x = b.create<arith::ExtFOp>(loc, kb.vecType(), x);
      }
      b.create<vector::StoreOp>(loc, x, dst, ValueRange{kb.idx(to + c)});
    }
  }

  /// The vl raw scores q · k_j of query vector (qRows at qAt) against the tile's keys, as
  /// one vector.
  Value scores(Value qRows, int64_t qAt, Value keys) {
    Value zero = b.create<arith::ConstantOp>(loc, DenseElementsAttr::get(kb.vecType(), 0.0f));
    SmallVector<Value> init(vl, zero);
    auto loop = b.create<scf::ForOp>(loc, kb.idx(0), kb.idx(hdp), kb.idx(vl), init);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value c = loop.getInductionVar();
      Value qv = b.create<vector::LoadOp>(loc, kb.vecType(), qRows,
                                          ValueRange{b.create<arith::AddIOp>(loc, c, kb.idx(qAt))});
      SmallVector<Value> next;
      for (int64_t j = 0; j < vl; ++j) {
        Value kv = b.create<vector::LoadOp>(loc, kb.vecType(), keys,
                                            ValueRange{b.create<arith::AddIOp>(loc, c, kb.idx(j * hdp))});
        next.push_back(b.create<vector::FMAOp>(loc, qv, kv, loop.getRegionIterArgs()[j]));
      }
      b.create<scf::YieldOp>(loc, next);
    }
    return transposeReduce(b, loc, SmallVector<Value>(loop.getResults()));
  }

  /// acc[v] = acc[v] · corr[v] + Σ_j p[v][j] · value_j for every query vector, one chunk of
  /// the head dimension at a time with the n accumulators in registers.
  void accumulate(int64_t n, Value acc, Value probs, Value corrs, Value values) {
    kb.forRange(kb.idx(0), kb.idx(hdp), vl, [&](Value c) {
      SmallVector<Value> o;
      for (int64_t v = 0; v < n; ++v) {
        Value a = b.create<vector::LoadOp>(loc, kb.vecType(), acc,
                                           ValueRange{b.create<arith::AddIOp>(loc, c, kb.idx(v * hdp))});
        Value corr = b.create<memref::LoadOp>(loc, corrs, ValueRange{kb.idx(v)});
        o.push_back(b.create<arith::MulFOp>(loc, a, kb.splatLike(corr, a)));
      }
      for (int64_t j = 0; j < vl; ++j) {
        Value val = b.create<vector::LoadOp>(loc, kb.vecType(), values,
                                             ValueRange{b.create<arith::AddIOp>(loc, c, kb.idx(j * hdp))});
        for (int64_t v = 0; v < n; ++v) {
          Value p = b.create<memref::LoadOp>(loc, probs, ValueRange{kb.idx(v * vl + j)});
          o[v] = b.create<vector::FMAOp>(loc, kb.splatLike(p, val), val, o[v]);
        }
      }
      for (int64_t v = 0; v < n; ++v)
        b.create<vector::StoreOp>(loc, o[v], acc, ValueRange{b.create<arith::AddIOp>(loc, c, kb.idx(v * hdp))});
    });
  }

  KernelBuilder &kb;
  OpBuilder &b;
  Location loc;
  AttentionOp op;
  Value q, kc, vc, bt, out, maxPages, g;
  int64_t heads, hd, pageSize, kvHeads, group, vl, hdp;
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
    r.place = placeToken(b, loc, r.row, ro, cl, batch);
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
  TokenPlace place = placeToken(b, loc, t, ro, cl, batch);
  Value dst = cacheOffset(b, loc, bt, maxPages, place.seq, place.pos, pageSize, rowElems);
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
