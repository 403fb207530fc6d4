//===- AttentionKernel.cpp - paged attention for the cpu ------------------===//
//
// Attention: one workgroup per (KV head, block of lowering_config.query_rows query rows).
// The rows of a block (when they belong to one sequence) and the query heads that share the
// KV head are processed together, so each key and value row is read once for all of them;
// keys go in tiles with an online softmax (running max and sum per tile), so scores never
// touch memory.
//
//===----------------------------------------------------------------------===//
#include "compiler/Codegen/CPU/Kernels.h"
#include "compiler/Codegen/Common/PagedCache.h"

#include "mlir/Dialect/X86Vector/X86VectorDialect.h"

#include <limits>
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
      next.push_back(
          arith::AddFOp::create(b, loc, vector::ShuffleOp::create(b, loc, cur[i], cur[i + 1], lo),
                                vector::ShuffleOp::create(b, loc, cur[i], cur[i + 1], hi)));
    cur = next;
  }
  return cur[0];
}

/// Emits attention for `rows` (all of one sequence) and KV head `g` as small matrix
/// products over tiles of `vl` keys (vl = the target's f32 lanes):
///   - f32 caches with pages of whole tiles and hd a whole number of vectors read the
///     tile's rows straight from the cache page (tiles aligned to vl positions, the next
///     tile's rows prefetched when few query vectors wait on memory); otherwise the tile's
///     key and value rows are converted once into f32 scratch rows padded to a whole
///     number of vectors (masked loads, zero padding), so no scalar tail remains;
///   - S = Q·Kᵀ: per query vector, vl independent accumulators over the head dimension,
///     folded into one vector of vl scores by transposeReduce;
///   - the online softmax runs on that vector (a key outside a row's range scores -inf);
///   - O += P·V: per chunk of the head dimension the accumulators of every query vector
///     stay in registers while each value row is loaded once and multiplied by each
///     query's probability (broadcast from a scratch row).
/// Each key and value row is read from the cache once for the rows × query heads of the
/// group.
///
/// bf16 caches on a CPU with vdpbf16ps (dotBf16) skip the f32 copies: Q and each tile's
/// probabilities are rounded to bf16 (as the bf16 model's own projections and softmax output
/// are), Q·Kᵀ takes vdpbf16ps straight on the cache rows, and P·V interleaves pairs of value
/// rows (see interleavedDim) for vdpbf16ps with a pair of probabilities. Tiles are aligned to
/// the page (vl divides the page size), so every tile addresses its rows from one base; in
/// a tile partly out of range the other rows' scores are masked and their values zeroed.
/// The sum of the probabilities stays a vector of partial sums until the end (no per-tile
/// reduction chain).
class AttentionBlockEmitter {
public:
  /// The workgroup's KV head `g` and, of the query heads sharing it, `group / headSplits`
  /// from `firstHead`.
  AttentionBlockEmitter(KernelBuilder &kb, AttentionOp op, Value q, Value kc, Value vc, Value bt,
                        Value out, Value maxPages, Value g, Value firstHead, int64_t headSplits,
                        Value segments)
      : kb(kb), b(kb.b()), loc(kb.loc()), op(op), q(q), kc(kc), vc(vc), bt(bt), out(out),
        maxPages(maxPages), g(g), firstHead(firstHead), segments(segments) {
    AttentionShape shape = AttentionShape::of(op);
    std::tie(heads, hd, pageSize, kvHeads, group) =
        std::tie(shape.heads, shape.hd, shape.pageSize, shape.kvHeads, shape.group);
    group /= headSplits;  // from here on: the query heads of this workgroup
    scale = shape.scale;
    softcap = shape.softcap;
    vl = kb.target().vectorWidth;
    hdp = (hd + vl - 1) / vl * vl;
    auto isBf16 = [](Value m) { return cast<MemRefType>(m.getType()).getElementType().isBF16(); };
    dotBf16 = kb.target().bf16Dot && vl == 16 && hd % (2 * vl) == 0 && isBf16(kc) && isBf16(vc);
    auto isF32 = [](Value m) { return cast<MemRefType>(m.getType()).getElementType().isF32(); };
    direct = pageSize % vl == 0 && (dotBf16 || (hd % vl == 0 && isF32(kc) && isF32(vc)));
  }

  void emit(ArrayRef<QueryRow> rows) {
    int64_t n = int64_t(rows.size()) * group; // query vectors
    auto [kFirst, kLast] = keyRange(rows);
    allocateScratch(n);
    SmallVector<Value> qBase = loadQueries(rows);
    scf::ForOp loop = emitTileLoop(rows, kFirst, kLast);
    if (dotBf16) unpermute(n);
    writeOutputs(rows, loop, qBase);
  }

private:
  /// The keys any of `rows` sees: [first, last] over the rows that are valid.
  std::pair<Value, Value> keyRange(ArrayRef<QueryRow> rows) {
    Value kFirst = rows[0].first, kLast = rows[0].last;
    for (const QueryRow &r : rows.drop_front()) {
      // Rows past the end do not widen the range.
      kFirst = arith::SelectOp::create(b, loc, r.valid,
                                       arith::MinSIOp::create(b, loc, kFirst, r.first), kFirst);
      kLast = arith::SelectOp::create(b, loc, r.valid,
                                      arith::MaxSIOp::create(b, loc, kLast, r.last), kLast);
    }
    return {kFirst, kLast};
  }

  /// f32 caches: Q, keys, values and probabilities as f32 rows. bf16 caches with
  /// vdpbf16ps: Q and the probabilities rounded to bf16 (as the bf16 model's own
  /// projections and softmax output are); keys and values are read from the cache as is.
  void allocateScratch(int64_t n) {
    acc = scratch(n * hdp);
    corrs = scratch(n);
    if (dotBf16) {
      qPairs = scratch(n * hd, b.getBF16Type());
      probPairs = scratch(n * vl / 2, b.getI32Type());
    } else {
      qRows = scratch(n * hdp);
      if (!direct) {
        keys = scratch(vl * hdp);
        values = scratch(vl * hdp);
      }
      probs = scratch(n * vl);
    }
    zero = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(kb.vecType(), 0.0f));
  }

  /// Copies (or rounds) each query vector into scratch and zeroes its accumulator; returns
  /// each row's offset in `q` (and `out`).
  SmallVector<Value> loadQueries(ArrayRef<QueryRow> rows) {
    SmallVector<Value> qBase;
    for (auto [i, r] : llvm::enumerate(rows)) {
      qBase.push_back(arith::MulIOp::create(
          b, loc,
          arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, r.row, kb.idx(heads)),
                                firstHead),
          kb.idx(hd)));
      for (int64_t h = 0; h < group; ++h) {
        int64_t v = int64_t(i) * group + h;
        Value from = arith::AddIOp::create(b, loc, qBase.back(), kb.idx(h * hd));
        if (dotBf16) {
          for (int64_t c = 0; c < hd; c += vl)
            vector::StoreOp::create(
                b, loc,
                arith::TruncFOp::create(
                    b, loc, VectorType::get({vl}, b.getBF16Type()),
                    kb.loadF32(q, arith::AddIOp::create(b, loc, from, kb.idx(c)), vl)),
                qPairs, ValueRange{kb.idx(v * hd + c)});
        } else {
          copyRow(q, from, qRows, v * hdp);
        }
        for (int64_t c = 0; c < hdp; c += vl)
          vector::StoreOp::create(b, loc, zero, acc, ValueRange{kb.idx(v * hdp + c)});
      }
    }
    return qBase;
  }

  /// The loop over key tiles, carrying per query vector the running max (a scalar) and
  /// the running sum of probabilities (a vector of per-lane partial sums, reduced once at
  /// the end).
  scf::ForOp emitTileLoop(ArrayRef<QueryRow> rows, Value kFirst, Value kLast) {
    int64_t n = int64_t(rows.size()) * group;
    SmallVector<Value> init;
    for (int64_t v = 0; v < n; ++v) init.push_back(kb.f32(-INFINITY));
    for (int64_t v = 0; v < n; ++v) init.push_back(zero);
    // Direct tiles (whole tiles per page): tiles are aligned to vl positions, so each lies
    // in one page of the sequence and its rows are at fixed distances from one address (no
    // per-key page lookups, no per-key pointers), whether or not all its keys are in range.
    // Elsewhere tiles start at the first key and every row is looked up (and clamped into
    // the range).
    Value tile0 = kFirst, numTiles;
    if (direct) {
      Value firstTile = arith::DivUIOp::create(b, loc, kFirst, kb.idx(vl));
      tile0 = arith::MulIOp::create(b, loc, firstTile, kb.idx(vl));
      numTiles = arith::AddIOp::create(
          b, loc,
          arith::SubIOp::create(b, loc, arith::DivUIOp::create(b, loc, kLast, kb.idx(vl)),
                                firstTile),
          kb.idx(1));
    } else {
      Value numKeys =
          arith::SubIOp::create(b, loc, arith::AddIOp::create(b, loc, kLast, kb.idx(1)), kFirst);
      numTiles = arith::DivUIOp::create(
          b, loc, arith::AddIOp::create(b, loc, numKeys, kb.idx(vl - 1)), kb.idx(vl));
    }
    auto loop = scf::ForOp::create(b, loc, kb.idx(0), numTiles, kb.idx(1), init);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value tileStart = arith::AddIOp::create(
          b, loc, tile0, arith::MulIOp::create(b, loc, loop.getInductionVar(), kb.idx(vl)));
      Value headOffset = arith::MulIOp::create(b, loc, g, kb.idx(hd));
      auto lookedUp = [&]() {
        TileRows t;
        for (int64_t j = 0; j < vl; ++j) {
          // Keys outside the range repeat its first or last one (in bounds, written); their
          // scores are masked.
          Value clamped = arith::MaxSIOp::create(
              b, loc,
              arith::MinSIOp::create(b, loc, arith::AddIOp::create(b, loc, tileStart, kb.idx(j)),
                                     kLast),
              kFirst);
          t.perRow.push_back(arith::AddIOp::create(
              b, loc,
              cacheOffset(b, loc, bt, maxPages, rows[0].place.seq, clamped, pageSize, kvHeads * hd,
                          segments),
              headOffset));
          if (!dotBf16) {
            copyRow(kc, t.perRow.back(), keys, j * hdp);
            copyRow(vc, t.perRow.back(), values, j * hdp);
          }
        }
        return t;
      };
      SmallVector<Value> next;
      if (direct) {
        Value whole = arith::AndIOp::create(
            b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, tileStart, kFirst),
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sle,
                                  arith::AddIOp::create(b, loc, tileStart, kb.idx(vl - 1)), kLast));
        auto ifWhole =
            scf::IfOp::create(b, loc, TypeRange(ValueRange(init)), whole, /*withElseRegion=*/true);
        OpBuilder::InsertionGuard inner(b);
        b.setInsertionPointToStart(&ifWhole.getThenRegion().front());
        auto inPage = [&]() {
          TileRows t;
          t.base = arith::AddIOp::create(b, loc,
                                         cacheOffset(b, loc, bt, maxPages, rows[0].place.seq,
                                                     tileStart, pageSize, kvHeads * hd),
                                         headOffset);
          t.stride = kvHeads * hd;
          return t;
        };
        TileRows t = inPage();
        // Few query vectors (decode) wait on memory: prefetch the next tile's rows; after
        // the last tile, the last tile's again (the block table holds no page beyond it, and
        // an aligned tile's rows all lie in its page). Many (a prefill block) reuse each row
        // enough to hide the latency.
        if (n <= 8) {
          Value lastTile = arith::MulIOp::create(
              b, loc, arith::DivUIOp::create(b, loc, kLast, kb.idx(vl)), kb.idx(vl));
          Value nextStart = arith::MinSIOp::create(
              b, loc, arith::AddIOp::create(b, loc, tileStart, kb.idx(vl)), lastTile);
          t.ahead = arith::AddIOp::create(b, loc,
                                          cacheOffset(b, loc, bt, maxPages, rows[0].place.seq,
                                                      nextStart, pageSize, kvHeads * hd),
                                          headOffset);
        }
        scf::YieldOp::create(b, loc, tile(rows, loop, tileStart, t));
        // A tile that is partly out of range reads its page's other rows too: their scores
        // are masked, and their value rows are zeroed (probability 0 times a stale value
        // of the page could still be NaN).
        b.setInsertionPointToStart(&ifWhole.getElseRegion().front());
        TileRows partial = inPage();
        partial.start = tileStart;
        partial.first = kFirst;
        partial.last = kLast;
        scf::YieldOp::create(b, loc, tile(rows, loop, tileStart, partial));
        next = SmallVector<Value>(ifWhole.getResults());
      } else {
        next = tile(rows, loop, tileStart, lookedUp());
      }
      scf::YieldOp::create(b, loc, next);
    }
    return loop;
  }

  /// Each valid query vector's accumulator divided by its sum of probabilities, into `out`.
  void writeOutputs(ArrayRef<QueryRow> rows, scf::ForOp loop, ArrayRef<Value> qBase) {
    int64_t n = int64_t(rows.size()) * group;
    for (int64_t v = 0; v < n; ++v) {
      const QueryRow &r = rows[v / group];
      auto ifValid = scf::IfOp::create(b, loc, r.valid, /*withElseRegion=*/false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&ifValid.getThenRegion().front());
      Value sum = vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD,
                                              loop.getResult(n + v), arith::FastMathFlags::reassoc);
      Value inv = arith::DivFOp::create(b, loc, kb.f32(1.0f), sum);
      Value outBase = arith::AddIOp::create(b, loc, qBase[v / group], kb.idx((v % group) * hd));
      kb.forChunks(hd, [&](Value c, int l) {
        Value a = kb.loadF32(acc, arith::AddIOp::create(b, loc, c, kb.idx(v * hdp)), l);
        kb.storeF32(arith::MulFOp::create(b, loc, a, kb.splatLike(inv, a)), out,
                    arith::AddIOp::create(b, loc, outBase, c));
      });
    }
  }

  /// Where a tile's key and value rows are: at base + j·stride, or at perRow[j]. With a
  /// base, `ahead` is the base of the tile after it, whose rows are prefetched while this
  /// one is computed (a page is only a few KiB, too short for the hardware prefetcher).
  struct TileRows {
    Value base, ahead;
    Value start, first, last; // a partial in-page tile: its first key and the keys in range
    int64_t stride = 0;
    SmallVector<Value> perRow;
    Value at(OpBuilder &b, Location loc, int64_t j, Value c) const {
      if (!perRow.empty()) return arith::AddIOp::create(b, loc, perRow[j], c);
      return rowOf(b, loc, base, j, c);
    }
    /// `row` (a vector of key `key`'s K or V row) where the key is in a partial tile's
    /// range, else `none`.
    Value keepInRange(OpBuilder &b, Location loc, Value key, Value row, Value none) const {
      Value in = arith::AndIOp::create(
          b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, key, first),
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sle, key, last));
      return arith::SelectOp::create(b, loc, in, row, none);
    }
    /// Prefetches row j of the tile ahead at element c (one cache line of it).
    void prefetch(OpBuilder &b, Location loc, Value mem, int64_t j, Value c) const {
      if (ahead) prefetchAt(b, loc, mem, rowOf(b, loc, ahead, j, c));
    }
    static void prefetchAt(OpBuilder &b, Location loc, Value mem, Value at) {
      memref::PrefetchOp::create(b, loc, mem, ValueRange{at}, /*isWrite=*/false,
                                 /*localityHint=*/3, /*isDataCache=*/true);
    }
    /// Element c of row j (static, or a run-time index) of the tile based at `from`.
    Value rowOf(OpBuilder &b, Location loc, Value from, int64_t j, Value c) const {
      return arith::AddIOp::create(
          b, loc,
          arith::AddIOp::create(b, loc, from, arith::ConstantIndexOp::create(b, loc, j * stride)),
          c);
    }
    Value rowOf(OpBuilder &b, Location loc, Value from, Value j, Value c) const {
      Value offset =
          arith::MulIOp::create(b, loc, j, arith::ConstantIndexOp::create(b, loc, stride));
      return arith::AddIOp::create(b, loc, arith::AddIOp::create(b, loc, from, offset), c);
    }
  };

  /// One tile of vl keys from tileStart for every query vector: scores, the online softmax
  /// and P·V. Returns the loop's next (max..., sum...) values.
  SmallVector<Value> tile(ArrayRef<QueryRow> rows, scf::ForOp loop, Value tileStart, const TileRows &t) {
    int64_t n = int64_t(rows.size()) * group;
    Value zero = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(kb.vecType(), 0.0f));
    auto i64Vec = VectorType::get({vl}, b.getI64Type());
    SmallVector<int64_t> iota(vl);
    for (int64_t j = 0; j < vl; ++j) iota[j] = j;
    auto asI64 = [&](Value x) {
      return vector::BroadcastOp::create(b, loc, i64Vec,
                                         arith::IndexCastOp::create(b, loc, b.getI64Type(), x));
    };
    Value kpos = arith::AddIOp::create(
        b, loc, asI64(tileStart),
        arith::ConstantOp::create(b, loc, DenseElementsAttr::get(i64Vec, ArrayRef<int64_t>(iota))));
    // key_mask: the tile's visible keys, read once for all query vectors (the rows of a
    // segmented block share their segment and its key range).
    Value visible = keyMask ? visibleKeys(rows[0], kpos, tileStart, asI64) : Value();
    SmallVector<Value> maxes, sums;
    for (int64_t v = 0; v < n; ++v) {
      const QueryRow &r = rows[v / group];
      Value raw = dotBf16 ? scoresBf16(v * hd, t, /*prefetch=*/v == 0) : scores(v * hdp, t, v == 0);
      Value sv = arith::MulFOp::create(b, loc, raw, kb.splatLike(kb.f32(scale), zero));
      if (softcap > 0.0f) {
        Value cap = kb.splatLike(kb.f32(softcap), zero);
        sv = arith::MulFOp::create(
            b, loc, math::TanhOp::create(b, loc, arith::DivFOp::create(b, loc, sv, cap)), cap);
      }
      Value seen = arith::AndIOp::create(
          b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, kpos, asI64(r.first)),
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sle, kpos, asI64(r.last)));
      if (visible)
        sv = arith::SelectOp::create(b, loc, visible, sv,
                                     kb.splatLike(kb.f32(-std::numeric_limits<float>::max()), sv));
      sv = arith::SelectOp::create(b, loc, seen, sv, kb.splatLike(kb.f32(-INFINITY), zero));
      Value mOld = loop.getRegionIterArgs()[v], lOld = loop.getRegionIterArgs()[n + v];
      Value mNew = arith::MaximumFOp::create(
          b, loc, mOld, vector::ReductionOp::create(b, loc, vector::CombiningKind::MAXIMUMF, sv));
      // A row may see no key of this tile yet (its range starts later): subtract 0 then,
      // so exp(-inf - -inf) never makes a NaN; its probabilities and correction are 0.
      Value none =
          arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, mNew, kb.f32(-INFINITY));
      Value mSafe = arith::SelectOp::create(b, loc, none, kb.f32(0.0f), mNew);
      Value corr = math::ExpOp::create(b, loc, arith::SubFOp::create(b, loc, mOld, mSafe));
      Value p =
          math::ExpOp::create(b, loc, arith::SubFOp::create(b, loc, sv, kb.splatLike(mSafe, sv)));
      sums.push_back(arith::AddFOp::create(
          b, loc, arith::MulFOp::create(b, loc, lOld, kb.splatLike(corr, p)), p));
      maxes.push_back(mNew);
      if (dotBf16) {
        Value pb = arith::TruncFOp::create(b, loc, VectorType::get({vl}, b.getBF16Type()), p);
        vector::StoreOp::create(
            b, loc,
            vector::BitCastOp::create(b, loc, VectorType::get({vl / 2}, b.getI32Type()), pb),
            probPairs, ValueRange{kb.idx(v * vl / 2)});
      } else {
        vector::StoreOp::create(b, loc, p, probs, ValueRange{kb.idx(v * vl)});
      }
      memref::StoreOp::create(b, loc, corr, corrs, ValueRange{kb.idx(v)});
    }
    if (dotBf16)
      accumulateBf16(n, t);
    else
      accumulate(n, t);
    SmallVector<Value> next(maxes);
    next.append(sums);
    return next;
  }

  /// Which of the tile's keys (kpos from tileStart, in the segment of `r`) key_mask leaves
  /// visible; their scores stay, the others become the lowest f32 (transformers' additive
  /// mask). Only lanes of keys in the segment are read.
  template <typename AsI64>
  Value visibleKeys(const QueryRow &r, Value kpos, Value tileStart, AsI64 asI64) {
    auto i32Vec = VectorType::get({vl}, b.getI32Type());
    Value inSegment = arith::AndIOp::create(
        b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, kpos, asI64(r.first)),
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sle, kpos, asI64(r.last)));
    Value at = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, r.place.seq, kb.idx(pageSize)), tileStart);
    Value zeros = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(i32Vec, int32_t(0)));
    Value entries =
        vector::MaskedLoadOp::create(b, loc, i32Vec, keyMask, ValueRange{at}, inSegment, zeros);
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, entries, zeros);
  }

  /// A stack buffer of `size` elements (f32 unless given), allocated once at the kernel's
  /// entry (emit may run inside loops).
  Value scratch(int64_t size, Type elem = {}) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&kb.func().getBody().front());
    return memref::AllocaOp::create(b, loc, MemRefType::get({size}, elem ? elem : b.getF32Type()),
                                    ValueRange{}, b.getI64IntegerAttr(64));
  }

  /// Copies hd elements of `src` at `from` as f32 into `dst` at the static `to`, and zeros
  /// up to hdp: whole vectors, the last one a masked load.
  void copyRow(Value src, Value from, Value dst, int64_t to) {
    Type elem = cast<MemRefType>(src.getType()).getElementType();
    for (int64_t c = 0; c < hdp; c += vl) {
      Value at = arith::AddIOp::create(b, loc, from, kb.idx(c));
      Value x;
      if (c + vl <= hd) {
        x = kb.loadF32(src, at, vl);
      } else {
        auto vt = VectorType::get({vl}, elem);
        Value mask = vector::ConstantMaskOp::create(b, loc, VectorType::get({vl}, b.getI1Type()),
                                                    ArrayRef<int64_t>{hd - c});
        Value pass =
            arith::ConstantOp::create(b, loc, DenseElementsAttr::get(vt, b.getZeroAttr(elem)));
        x = vector::MaskedLoadOp::create(b, loc, vt, src, ValueRange{at}, mask, pass);
        if (!elem.isF32()) x = arith::ExtFOp::create(b, loc, kb.vecType(), x);
      }
      vector::StoreOp::create(b, loc, x, dst, ValueRange{kb.idx(to + c)});
    }
  }

  /// The vl raw scores q · k_j of query vector (qRows at qAt) against the tile's keys, as
  /// one vector: from the cache rows of a direct tile (`prefetch`: and fetch the next
  /// tile's), else from the scratch copies.
  Value scores(int64_t qAt, const TileRows &t, bool prefetch) {
    bool fromCache = t.perRow.empty();
    Value zero = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(kb.vecType(), 0.0f));
    SmallVector<Value> init(vl, zero);
    auto loop = scf::ForOp::create(b, loc, kb.idx(0), kb.idx(hdp), kb.idx(vl), init);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value c = loop.getInductionVar();
      Value qv = vector::LoadOp::create(b, loc, kb.vecType(), qRows,
                                        ValueRange{arith::AddIOp::create(b, loc, c, kb.idx(qAt))});
      SmallVector<Value> next;
      for (int64_t j = 0; j < vl; ++j) {
        Value kv;
        if (fromCache) {
          kv = vector::LoadOp::create(b, loc, kb.vecType(), kc, ValueRange{t.at(b, loc, j, c)});
          if (prefetch) t.prefetch(b, loc, kc, j, c);
        } else {
          kv = vector::LoadOp::create(b, loc, kb.vecType(), keys,
                                      ValueRange{arith::AddIOp::create(b, loc, c, kb.idx(j * hdp))});
        }
        next.push_back(vector::FMAOp::create(b, loc, qv, kv, loop.getRegionIterArgs()[j]));
      }
      scf::YieldOp::create(b, loc, next);
    }
    return transposeReduce(b, loc, SmallVector<Value>(loop.getResults()));
  }

  /// acc[v] = acc[v] · corr[v] + Σ_j p[v][j] · value_j for every query vector, one chunk of
  /// the head dimension at a time with the n accumulators in registers. A direct tile's
  /// value rows come from the cache (rows of a partial tile outside the range as zeros:
  /// probability 0 times a stale row could still be NaN), with the next tile's prefetched.
  void accumulate(int64_t n, const TileRows &t) {
    bool fromCache = t.perRow.empty();
    kb.forRange(kb.idx(0), kb.idx(hdp), vl, [&](Value c) {
      SmallVector<Value> o;
      for (int64_t v = 0; v < n; ++v) {
        Value a =
            vector::LoadOp::create(b, loc, kb.vecType(), acc,
                                   ValueRange{arith::AddIOp::create(b, loc, c, kb.idx(v * hdp))});
        Value corr = memref::LoadOp::create(b, loc, corrs, ValueRange{kb.idx(v)});
        o.push_back(arith::MulFOp::create(b, loc, a, kb.splatLike(corr, a)));
      }
      for (int64_t j = 0; j < vl; ++j) {
        Value val;
        if (fromCache) {
          val = vector::LoadOp::create(b, loc, kb.vecType(), vc, ValueRange{t.at(b, loc, j, c)});
          t.prefetch(b, loc, vc, j, c);
          if (t.start)
            val = t.keepInRange(b, loc, arith::AddIOp::create(b, loc, t.start, kb.idx(j)), val, zero);
        } else {
          val = vector::LoadOp::create(b, loc, kb.vecType(), values,
                                       ValueRange{arith::AddIOp::create(b, loc, c, kb.idx(j * hdp))});
        }
        for (int64_t v = 0; v < n; ++v) {
          Value p = memref::LoadOp::create(b, loc, probs, ValueRange{kb.idx(v * vl + j)});
          o[v] = vector::FMAOp::create(b, loc, kb.splatLike(p, val), val, o[v]);
        }
      }
      for (int64_t v = 0; v < n; ++v)
        vector::StoreOp::create(b, loc, o[v], acc,
                                ValueRange{arith::AddIOp::create(b, loc, c, kb.idx(v * hdp))});
    });
  }

  VectorType bf16x32() { return VectorType::get({2 * vl}, b.getBF16Type()); }

  /// scores() on a bf16 cache: vdpbf16ps of the bf16 query (qPairs at qAt) with each key
  /// row straight from the cache (t.at), 2·vl elements of the head per step; `prefetch`
  /// also fetches the next tile's key rows (t.ahead).
  Value scoresBf16(int64_t qAt, const TileRows &t, bool prefetch) {
    Value zero = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(kb.vecType(), 0.0f));
    SmallVector<Value> init(vl, zero);
    auto loop = scf::ForOp::create(b, loc, kb.idx(0), kb.idx(hd), kb.idx(2 * vl), init);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value c = loop.getInductionVar();
      Value qv = vector::LoadOp::create(b, loc, bf16x32(), qPairs,
                                        ValueRange{arith::AddIOp::create(b, loc, c, kb.idx(qAt))});
      SmallVector<Value> next;
      for (int64_t j = 0; j < vl; ++j) {
        Value kv = vector::LoadOp::create(b, loc, bf16x32(), kc, ValueRange{t.at(b, loc, j, c)});
        if (prefetch) t.prefetch(b, loc, kc, j, c);
        next.push_back(x86vector::DotBF16Op::create(b, loc, loop.getRegionIterArgs()[j], qv, kv));
      }
      scf::YieldOp::create(b, loc, next);
    }
    return transposeReduce(b, loc, SmallVector<Value>(loop.getResults()));
  }

  /// The bf16 head dimension of a pair of value rows, interleaved for vdpbf16ps: half h
  /// (0 or 1) holds, in lane i, the pair (row0[d], row1[d]) of d = 8·(i/4) + 4·h + i%4 —
  /// the word interleave of each 128-bit lane (vpunpcklwd / vpunpckhwd), no cross-lane
  /// moves. The accumulators keep that order; unpermute() restores it at the end.
  static int64_t interleavedDim(int64_t h, int64_t i) { return 8 * (i / 4) + 4 * h + i % 4; }

  /// accumulate() on a bf16 cache: per 2·vl elements of the head, value rows j and j+1 are
  /// interleaved (see interleavedDim) and every query vector's accumulators take
  /// vdpbf16ps with its pair of bf16 probabilities (p_j, p_j+1) broadcast. With more than
  /// 8 query vectors each half of the chunk is a pass of its own (16 accumulators).
  void accumulateBf16(int64_t n, const TileRows &t) {
    auto i32Vec = VectorType::get({vl}, b.getI32Type());
    SmallVector<int64_t> mask[2];
    for (int64_t h = 0; h < 2; ++h)
      for (int64_t i = 0; i < vl; ++i) {
        mask[h].push_back(interleavedDim(h, i));
        mask[h].push_back(2 * vl + interleavedDim(h, i));
      }
    SmallVector<SmallVector<int64_t>> passes;
    if (n <= 8) passes = {{0, 1}};
    else passes = {{0}, {1}};
    kb.forRange(kb.idx(0), kb.idx(hd), 2 * vl, [&](Value c) {
      for (ArrayRef<int64_t> halves : passes) {
        auto at = [&](int64_t v, int64_t h) {
          return arith::AddIOp::create(b, loc, c, kb.idx(v * hdp + h * vl)).getResult();
        };
        SmallVector<Value> o; // [v][half]
        for (int64_t v = 0; v < n; ++v) {
          Value corr = memref::LoadOp::create(b, loc, corrs, ValueRange{kb.idx(v)});
          for (int64_t h : halves) {
            Value a = vector::LoadOp::create(b, loc, kb.vecType(), acc, ValueRange{at(v, h)});
            o.push_back(arith::MulFOp::create(b, loc, a, kb.splatLike(corr, a)));
          }
        }
        // One pair of value rows (r0, r1) and the probability pairs at `jp` into every
        // accumulator.
        auto pairStep = [&](ArrayRef<Value> in, Value r0, Value r1, Value jp) {
          SmallVector<Value> mixed, next(in.begin(), in.end());
          for (int64_t h : halves)
            mixed.push_back(vector::ShuffleOp::create(b, loc, r0, r1, mask[h]));
          for (int64_t v = 0; v < n; ++v) {
            Value pair = memref::LoadOp::create(
                b, loc, probPairs,
                ValueRange{arith::AddIOp::create(b, loc, jp, kb.idx(v * vl / 2))});
            Value pv = vector::BitCastOp::create(b, loc, bf16x32(),
                                                 vector::BroadcastOp::create(b, loc, i32Vec, pair));
            for (size_t h = 0; h < halves.size(); ++h) {
              Value &slot = next[v * halves.size() + h];
              // The broadcast last: vdpbf16ps can take it from memory ({1to16}).
              slot = x86vector::DotBF16Op::create(b, loc, slot, mixed[h], pv);
            }
          }
          return next;
        };
        if (t.perRow.empty()) {
          // Rows at fixed distances: a loop over the pairs. Unrolled, the probability
          // broadcasts (the same for every chunk of the head) would be hoisted out of the
          // chunk loop and spilled, each dot product then waiting on a reload instead of
          // taking its broadcast from memory.
          auto pairs = scf::ForOp::create(b, loc, kb.idx(0), kb.idx(vl / 2), kb.idx(1), o);
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToStart(pairs.getBody());
          Value jp = pairs.getInductionVar();
          // Rows j0 = 2·jp and j0 + 1 (one stride further).
          Value j0 = arith::MulIOp::create(b, loc, jp, kb.idx(2));
          auto pair = [&](Value from) {
            Value at0 = t.rowOf(b, loc, from, j0, c);
            return std::make_pair(at0,
                                  arith::AddIOp::create(b, loc, at0, kb.idx(t.stride)).getResult());
          };
          auto [at0, at1] = pair(t.base);
          Value r0 = vector::LoadOp::create(b, loc, bf16x32(), vc, ValueRange{at0});
          Value r1 = vector::LoadOp::create(b, loc, bf16x32(), vc, ValueRange{at1});
          if (t.start) {
            Value none = arith::ConstantOp::create(
                b, loc, DenseElementsAttr::get(bf16x32(), b.getZeroAttr(b.getBF16Type())));
            Value key0 = arith::AddIOp::create(b, loc, t.start, j0);
            r0 = t.keepInRange(b, loc, key0, r0, none);
            r1 = t.keepInRange(b, loc, arith::AddIOp::create(b, loc, key0, kb.idx(1)), r1, none);
          }
          if (halves.front() == 0 && t.ahead) {
            auto [ahead0, ahead1] = pair(t.ahead);
            for (Value at : {ahead0, ahead1}) TileRows::prefetchAt(b, loc, vc, at);
          }
          scf::YieldOp::create(b, loc,
                               pairStep(SmallVector<Value>(pairs.getRegionIterArgs()), r0, r1, jp));
          o.assign(pairs.getResults().begin(), pairs.getResults().end());
        } else {
          for (int64_t jp = 0; jp < vl / 2; ++jp) {
            Value r0 =
                vector::LoadOp::create(b, loc, bf16x32(), vc, ValueRange{t.at(b, loc, 2 * jp, c)});
            Value r1 = vector::LoadOp::create(b, loc, bf16x32(), vc,
                                              ValueRange{t.at(b, loc, 2 * jp + 1, c)});
            o = pairStep(o, r0, r1, kb.idx(jp));
          }
        }
        for (int64_t v = 0; v < n; ++v)
          for (auto [k, h] : llvm::enumerate(halves))
            vector::StoreOp::create(b, loc, o[v * halves.size() + k], acc, ValueRange{at(v, h)});
      }
    });
  }

  /// Puts accumulateBf16's interleaved head dimension back in order, in place.
  void unpermute(int64_t n) {
    SmallVector<int64_t> lane(2 * vl); // natural d of a chunk -> position in (half 0 ++ half 1)
    for (int64_t h = 0; h < 2; ++h)
      for (int64_t i = 0; i < vl; ++i) lane[interleavedDim(h, i)] = h * vl + i;
    ArrayRef<int64_t> all(lane);
    for (int64_t v = 0; v < n; ++v)
      for (int64_t c = 0; c < hd; c += 2 * vl) {
        Value lo =
            vector::LoadOp::create(b, loc, kb.vecType(), acc, ValueRange{kb.idx(v * hdp + c)});
        Value hi =
            vector::LoadOp::create(b, loc, kb.vecType(), acc, ValueRange{kb.idx(v * hdp + c + vl)});
        for (int64_t h = 0; h < 2; ++h)
          vector::StoreOp::create(b, loc,
                                  vector::ShuffleOp::create(b, loc, lo, hi, all.slice(h * vl, vl)),
                                  acc, ValueRange{kb.idx(v * hdp + c + h * vl)});
      }
  }

  KernelBuilder &kb;
  OpBuilder &b;
  Location loc;
  AttentionOp op;
  Value q, kc, vc, bt, out, maxPages, g;
  Value firstHead;  // the first query head of the workgroup
  Value segments; // variable-length segments: their row offsets, or null

public:
  Value keyMask; // segmented: key_mask [segments, page_size] i32, or null

private:
  int64_t heads, hd, pageSize, kvHeads, group, vl, hdp;
  float scale, softcap;
  bool dotBf16; // bf16 caches on a CPU with vdpbf16ps
  // Tiles aligned to vl positions, read straight from the cache (dotBf16, or f32 caches
  // with hd a whole number of vectors); else each tile's rows are copied to f32 scratch.
  bool direct;
  // The scratch buffers of the emit() in progress.
  Value acc, corrs, qRows, keys, values, probs, qPairs, probPairs;
  Value zero; // a vector of f32 zeros
};

} // namespace

FailureOr<LaunchInfo> emitAttentionKernel(KernelBuilder &kb, DispatchRegionOp region,
                                          const DispatchSignature &sig, const DimsOf &dims) {
  auto op = cast<AttentionOp>(region.getBody().front().front());
  FailureOr<CpuAttentionConfigAttr> config = loweringConfig<CpuAttentionConfigAttr>(region);
  if (failed(config)) return failure();
  if (config->getAmxQueryRows()) return emitSegmentedAmxAttention(kb, region, sig, dims, *config);
  int64_t queryRows = config->getQueryRows();
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  int64_t kvHeads = op.getKeyCache().getType().getDimSize(2);
  int64_t window = op.getSlidingWindow();

  Value q = kb.binding(sig.bindingOf(op.getQuery()), elemOf(op.getQuery()));
  Value kc = kb.binding(sig.bindingOf(op.getKeyCache()), elemOf(op.getKeyCache()));
  Value vc = kb.binding(sig.bindingOf(op.getValueCache()), elemOf(op.getValueCache()));
  // Segmented (no tables): sequence s is page s, whole, attended both ways. Variable-length
  // segments: sequence s is rows segments[s].., whole, attended both ways.
  bool segmented = op.isSegmented(), varlen = op.isVarlen();
  int64_t pageSize = op.getKeyCache().getType().getDimSize(1);
  Value bt, ro, cl;
  if (varlen) {
    ro = kb.binding(sig.bindingOf(op.getSegments()), b.getI32Type());
  } else if (!segmented) {
    bt = kb.binding(sig.bindingOf(op.getBlockTable()), b.getI32Type());
    ro = kb.binding(sig.bindingOf(op.getRowOffsets()), b.getI32Type());
    cl = kb.binding(sig.bindingOf(op.getCacheLens()), b.getI32Type());
  }
  Value sp = op.getGroupSpans() ? kb.binding(sig.bindingOf(op.getGroupSpans()), b.getI32Type()) : Value();
  Value out = kb.binding(sig.operands.size(), elemOf(op.getResult()));
  Value batch = kb.push(0), maxPages = kb.push(1), numRows = kb.push(2);

  // Workgroup = (KV head, block of query_rows consecutive rows), head-major: the threads
  // work through one head's blocks together, so that head's keys and values stay in the
  // shared cache while every block reads them (a SigLIP head is 2.4 MB of f32 K and V).
  Value blocks = arith::DivUIOp::create(
      b, loc, arith::AddIOp::create(b, loc, numRows, kb.idx(queryRows - 1)), kb.idx(queryRows));
  // head_splits: the query heads sharing KV head g go to that many workgroups, split s
  // taking group / head_splits of them from head g·group + s·(group / head_splits).
  int64_t headSplits = config->getHeadSplits();
  int64_t group = AttentionShape::of(op).group;
  Value block = arith::RemUIOp::create(b, loc, kb.workgroupId(), blocks);
  Value pair = arith::DivUIOp::create(b, loc, kb.workgroupId(), blocks);
  Value g = arith::DivUIOp::create(b, loc, pair, kb.idx(headSplits));
  Value firstHead = arith::AddIOp::create(
      b, loc, arith::MulIOp::create(b, loc, g, kb.idx(group)),
      arith::MulIOp::create(b, loc, arith::RemUIOp::create(b, loc, pair, kb.idx(headSplits)),
                            kb.idx(group / headSplits)));
  Value firstRow = arith::MulIOp::create(b, loc, block, kb.idx(queryRows));
  Value lastRow = arith::SubIOp::create(b, loc, numRows, kb.idx(1));

  // The keys row t sees form one interval [first, last]: causal (and windowed) keys,
  // widened to its bidirectional group (a contiguous span containing it).
  auto queryRow = [&](Value t) {
    QueryRow r;
    r.valid = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, t, numRows);
    r.row = arith::MinUIOp::create(b, loc, t, lastRow);
    r.place = placeToken(b, loc, r.row, ro, cl, batch, pageSize);
    r.last = segmented ? kb.idx(pageSize - 1)
             : varlen  ? arith::SubIOp::create(b, loc, segmentLength(b, loc, ro, r.place.seq), kb.idx(1))
                       : r.place.pos;
    r.first = kb.idx(0);
    if (window > 0)
      r.first = arith::MaxSIOp::create(
          b, loc,
          arith::SubIOp::create(b, loc, arith::AddIOp::create(b, loc, r.last, kb.idx(1)),
                                kb.idx(window)),
          kb.idx(0));
    if (sp) {
      auto load = [&](int64_t i) -> Value {
        Value at = arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, r.row, kb.idx(2)),
                                         kb.idx(i));
        return arith::IndexCastOp::create(b, loc, b.getIndexType(),
                                          memref::LoadOp::create(b, loc, sp, at));
      };
      Value start = load(0), end = load(1);
      Value inGroup = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, start, end);
      Value groupLast = arith::SubIOp::create(b, loc, end, kb.idx(1));
      r.last = arith::SelectOp::create(b, loc, inGroup,
                                       arith::MaxSIOp::create(b, loc, r.last, groupLast), r.last);
      if (window > 0 && !op.getGroupWindowClip())
        r.first = arith::SelectOp::create(b, loc, inGroup,
                                          arith::MinSIOp::create(b, loc, r.first, start), r.first);
    }
    return r;
  };

  AttentionBlockEmitter emitter(kb, op, q, kc, vc, bt, out, maxPages, g, firstHead, headSplits,
                                varlen ? ro : Value());
  if (op.getKeyMask()) emitter.keyMask = kb.binding(sig.bindingOf(op.getKeyMask()), b.getI32Type());
  if (queryRows == 1) {
    emitter.emit({queryRow(firstRow)});
  } else {
    // Rows of one sequence share keys; a block that straddles sequences (or is the short
    // last one) goes row by row.
    SmallVector<QueryRow> rows;
    for (int64_t i = 0; i < queryRows; ++i)
      rows.push_back(queryRow(arith::AddIOp::create(b, loc, firstRow, kb.idx(i))));
    Value shared =
        arith::AndIOp::create(b, loc, rows.back().valid,
                              arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                                    rows.front().place.seq, rows.back().place.seq));
    auto ifShared = scf::IfOp::create(b, loc, shared, /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifShared.getThenRegion().front());
    emitter.emit(rows);
    b.setInsertionPointToStart(&ifShared.getElseRegion().front());
    Value end = arith::MinUIOp::create(
        b, loc, arith::AddIOp::create(b, loc, firstRow, kb.idx(queryRows)), numRows);
    kb.forRange(firstRow, end, 1, [&](Value t) { emitter.emit({queryRow(t)}); });
  }
  kb.finish();
  std::vector<SymExpr> qDims = dims(op.getQuery());
  // Variable-length segments: `batch` is the row offsets' length (the last entry never
  // matches a row, so the search over them is the same).
  std::vector<SymExpr> tables =
      segmented ? std::vector<SymExpr>{dims(op.getKeyCache())[0], SymExpr(1)}
      : varlen  ? std::vector<SymExpr>{dims(op.getSegments())[0], SymExpr(1)}
                : dims(op.getBlockTable());
  return LaunchInfo{SymExpr::ceilDiv(qDims[0], queryRows) * (kvHeads * headSplits),
                    {tables[0], tables[1], qDims[0]}};
}

} // namespace mvc
