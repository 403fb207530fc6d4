//===- SegmentedAttentionKernel.cpp - encoder attention on AMX tiles -----===//
//
// The segmented mvc.attention (no page tables: every row of segment s sees every key of
// segment s, both ways; the frames of a vision tower) with bf16 keys and values on a CPU
// with AMX, when lowering_config sets amx_query_rows / amx_key_rows.
//
// One workgroup per (segment, query head, chunk of amx_query_rows rows). The segment's keys
// go in chunks of amx_key_rows, packed once per chunk into the layouts of AMX B tiles:
//   - K as [16-key block][32-wide d block][16 d-pairs][16 keys][2]: the word transpose of
//     16 keys' d-pairs, so S = Q·Kᵀ is A = Q (16 rows x 32 d) times B = packed K;
//   - V as [32-key block][16-wide d block][16 key-pairs][16 d][2]: pairs of value rows
//     interleaved, so O += P·V is A = P (16 rows x 32 keys) times B = packed V.
// Per block of 32 query rows and 32 keys: four 16x16 score tiles accumulated over the head
// dimension (2 A and 2 B tile registers), stored to scratch; the online softmax in vectors
// (running max and sum per row; probabilities rounded to bf16, as the bf16 model's are);
// the rows' f32 outputs (scratch) rescaled, then accumulated by tiles. Q, K and P enter the
// products as bf16, the products accumulate in f32 (Q rounded as the bf16 model's own
// projection returns it). Head dims that are not a multiple of 32 are zero-padded in the
// packed Q and K (to hdp, the tiles' 32-wide contraction) and in V and the outputs (to hdv,
// a multiple of 16, the accumulators' width), so no tail remains. All tiles have one shape
// each (16x32 bf16 operands, 16x16 f32 accumulators): an AMX tile register keeps one shape
// per kernel.
//
//===----------------------------------------------------------------------===//
#include "compiler/Codegen/CPU/Kernels.h"
#include "compiler/Codegen/Common/PagedCache.h"

#include "mlir/Dialect/AMX/AMXDialect.h"
#include "mlir/Dialect/X86Vector/X86VectorDialect.h"

#include <cmath>
#include <limits>

using namespace mlir;

namespace mvc {
namespace {

constexpr int64_t kTile = 16;   // rows of every tile; f32 columns of an accumulator
constexpr int64_t kBlock = 32;  // query rows per step; bf16 columns of an operand tile
// Keys per softmax step: the per-row work of a step (max and sum reductions, the rescale of
// the row's output) is paid once for this many keys. Gemma 3 4B's tower (2 threads,
// alternating runs): attention 3.69-3.74 s with 128 keys, 3.29-3.49 s with 256; 32 keys
// were ~2x slower still. The step's scores (32 KiB f32) and probabilities stay in L1/L2.
constexpr int64_t kMaxKeyStep = 256;
constexpr float kLog2e = 1.4426950408889634f;

class SegmentedAttentionEmitter : TemplateEmitter {
public:
  using TemplateEmitter::TemplateEmitter;

  FailureOr<LaunchInfo> emit(CpuAttentionConfigAttr config) {
    op = cast<AttentionOp>(region.getBody().front().front());
    AttentionShape shape = AttentionShape::of(op);
    heads = shape.heads;
    hd = shape.hd;
    segment = shape.pageSize;
    kvHeads = shape.kvHeads;
    group = shape.group;
    scale = shape.scale;
    softcap = shape.softcap;
    queryRows = config.getAmxQueryRows();
    keyRows = config.getAmxKeyRows();
    auto elem = [](Value v) { return cast<RankedTensorType>(v.getType()).getElementType(); };
    if (!op.isSegmented() || !kb.target().amxBf16 || !elem(op.getKeyCache()).isBF16() ||
        !elem(op.getValueCache()).isBF16() || segment % queryRows || segment % keyRows ||
        hd % 2 || kb.target().vectorWidth != kTile)
      return op.emitError("the AMX attention template takes a segmented attention with bf16 "
                          "keys and values, an even head dimension and segments of whole "
                          "amx_query_rows and amx_key_rows blocks, on an AMX target");
    hdp = (hd + kBlock - 1) / kBlock * kBlock;
    hdv = (hd + kTile - 1) / kTile * kTile;
    if (keyRows > kMaxKeyStep || keyRows % kBlock || queryRows % kBlock)
      return op.emitError("the AMX attention template takes amx_key_rows up to ")
             << kMaxKeyStep << " and both row counts in whole blocks of " << kBlock;

    q = kb.binding(sig.bindingOf(op.getQuery()), elem(op.getQuery()));
    kcPairs = kb.binding(sig.bindingOf(op.getKeyCache()), b.getI32Type()); // hd is even
    vc = kb.binding(sig.bindingOf(op.getValueCache()), b.getBF16Type());
    if (op.getKeyMask()) keyMask = kb.binding(sig.bindingOf(op.getKeyMask()), b.getI32Type());
    out = kb.binding(sig.operands.size(), elem(op.getResult()));
    allocateScratch();

    // Workgroup w = (segment s, query head h, chunk c), chunk-minor.
    int64_t chunks = segment / queryRows;
    Value w = kb.workgroupId();
    Value c = arith::RemUIOp::create(b, loc, w, kb.idx(chunks));
    Value sh = arith::DivUIOp::create(b, loc, w, kb.idx(chunks));
    h = arith::RemUIOp::create(b, loc, sh, kb.idx(heads));
    s = arith::DivUIOp::create(b, loc, sh, kb.idx(heads));
    g = arith::DivUIOp::create(b, loc, h, kb.idx(group));
    // The chunk's first query row (a row of q and out).
    row0 = add(mul(s, kb.idx(segment)), mul(c, kb.idx(queryRows)));

    Value zero = f32Splat(0.0f);
    kb.forRange(kb.idx(0), kb.idx(queryRows), 1, [&](Value r) {
      // The lowest finite f32, not -inf: the first rescale is then 2^(finite - max) = 0,
      // where 2^(-inf) would take the polynomial through -inf - (-inf) = NaN.
      memref::StoreOp::create(b, loc, kb.f32(-std::numeric_limits<float>::max()), rowMax,
                              ValueRange{r});
      memref::StoreOp::create(b, loc, kb.f32(0.0f), rowSum, ValueRange{r});
      for (int64_t d = 0; d < hdv; d += kTile)
        vector::StoreOp::create(b, loc, zero, outAcc, ValueRange{r, kb.idx(d)});
    });
    packQueries(); // once: every key chunk reads them
    kb.forRange(kb.idx(0), kb.idx(segment), keyRows, [&](Value key0) {
      packKeys(key0);
      packValues(key0);
      SmallVector<Value> visible = visibleKeys(key0);
      // Software pipeline over the chunk's 32-row blocks: while the vector units run
      // block j's softmax, the tile unit computes block j+1's scores and block j-1's
      // P·V (double-buffered scores and probabilities), so the two overlap instead of
      // taking turns. Block 0's scores before, the last block's P·V after.
      int64_t blocks = queryRows / kBlock;
      for (int64_t n = 0; n < keyRows / kBlock; ++n) scoreUnit(n, kb.idx(0), kb.idx(0));
      kb.forRange(kb.idx(0), kb.idx(blocks), 1, [&](Value j) {
        Value cur = arith::RemUIOp::create(b, loc, j, kb.idx(2));
        Value other = arith::SubIOp::create(b, loc, kb.idx(1), cur);
        softmaxBlock(j, cur, other, blocks, visible);
      });
      Value last = kb.idx((blocks - 1) * kBlock);
      for (const ValueUnit &u : valueUnits()) valueUnit(u, last, kb.idx((blocks - 1) % 2));
    });
    writeOutputs();
    kb.finish();
    std::vector<SymExpr> kDims = dims(op.getKeyCache());
    return LaunchInfo{kDims[0] * (heads * chunks), {}};
  }

private:
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  Value f32Splat(float v) {
    return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(kb.vecType(), v));
  }
  VectorType vec(int64_t n, Type t) { return VectorType::get({n}, t); }
  amx::TileType tileType(Type t) { return amx::TileType::get({kTile, t.isF32() ? kTile : kBlock}, t); }

  /// Stack scratch, 64-byte aligned, allocated once at the kernel's entry.
  Value scratch(ArrayRef<int64_t> shape, Type elem) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&kb.func().getBody().front());
    return memref::AllocaOp::create(b, loc, MemRefType::get(shape, elem), ValueRange{},
                                    b.getI64IntegerAttr(64));
  }
  /// One byte buffer seen as `a` and as `bView` (both identity layouts over it).
  std::pair<Value, Value> twoViews(MemRefType a, MemRefType bView, int64_t bytes) {
    Value raw = scratch({bytes}, b.getI8Type());
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointAfter(raw.getDefiningOp());
    Value zeroShift = arith::ConstantIndexOp::create(b, loc, 0);
    return {memref::ViewOp::create(b, loc, a, raw, zeroShift, ValueRange{}),
            memref::ViewOp::create(b, loc, bView, raw, zeroShift, ValueRange{})};
  }

  void allocateScratch() {
    Type bf = b.getBF16Type(), f32 = b.getF32Type(), i32 = b.getI32Type();
    int64_t kTiles = keyRows / kTile * (hdp / kBlock); // B tiles of the packed keys
    std::tie(keyTiles, keyWords) =
        twoViews(MemRefType::get({kTiles * kTile, kBlock}, bf),
                 MemRefType::get({kTiles * kTile, kTile}, i32), kTiles * kTile * kBlock * 2);
    int64_t vTiles = keyRows / kBlock * (hdv / kTile); // B tiles of the packed values
    valueTiles = scratch({vTiles * kTile, kBlock}, bf);
    queryTiles = scratch({queryRows, hdp}, bf);
    // Two buffers each (rows 0..31 and 32..63): one block's softmax reads one while the
    // tile unit fills or reads the other.
    scores = scratch({2 * kBlock, keyRows}, f32);
    probs = scratch({2 * kBlock, keyRows}, bf);
    outAcc = scratch({queryRows, hdv}, f32);
    rowMax = scratch({queryRows}, f32);
    rowSum = scratch({queryRows}, f32);
  }

  /// Element offset of (row, head `head`) in a [rows, heads, hd] tensor.
  Value rowOffset(Value row, Value head, int64_t headsOfRow) {
    return mul(add(mul(row, kb.idx(headsOfRow)), head), kb.idx(hd));
  }

  /// `lanes` bf16 of `mem` at `at`, zero where the head dimension ends before column
  /// d + lanes (d static): a masked load.
  Value loadHeadBf16(Value mem, Value at, int64_t d, int64_t lanes) {
    auto vt = vec(lanes, b.getBF16Type());
    if (d + lanes <= hd) return vector::LoadOp::create(b, loc, vt, mem, ValueRange{at});
    Value zeros =
        arith::ConstantOp::create(b, loc, DenseElementsAttr::get(vt, b.getZeroAttr(b.getBF16Type())));
    if (d >= hd) return zeros;
    Value mask = vector::ConstantMaskOp::create(b, loc, vec(lanes, b.getI1Type()),
                                                ArrayRef<int64_t>{hd - d});
    return vector::MaskedLoadOp::create(b, loc, vt, mem, ValueRange{at}, mask, zeros);
  }

  /// Keys [key0, key0 + keyRows) of the segment into keyTiles: tile row
  /// ((j / 16) · blocks + db) · 16 + p holds d-pair 16 · db + p of keys j..j+15 (j a
  /// multiple of 16), one 16-lane gather of 32-bit pairs at the keys' row stride.
  void packKeys(Value key0) {
    int64_t dBlocks = hdp / kBlock;
    int64_t stride = kvHeads * hd / 2; // pairs between consecutive keys
    auto i32x16 = vec(kTile, b.getI32Type());
    SmallVector<int32_t> lanes;
    for (int64_t n = 0; n < kTile; ++n) lanes.push_back(int32_t(n * stride));
    Value offsets = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(i32x16, ArrayRef<int32_t>(lanes)));
    Value all = vector::ConstantMaskOp::create(b, loc, vec(kTile, b.getI1Type()), ArrayRef<int64_t>{kTile});
    Value none = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(i32x16, int32_t(0)));
    kb.forRange(kb.idx(0), kb.idx(keyRows), kTile, [&](Value j) {
      Value from = arith::DivUIOp::create(
          b, loc, rowOffset(add(mul(s, kb.idx(segment)), add(key0, j)), g, kvHeads), kb.idx(2));
      Value tileRow = mul(arith::DivUIOp::create(b, loc, j, kb.idx(kTile)), kb.idx(dBlocks * kTile));
      for (int64_t db = 0; db < dBlocks; ++db)
        for (int64_t p = 0; p < kTile; ++p) {
          int64_t pair = db * kTile + p;
          Value words = pair < hd / 2 ? vector::GatherOp::create(b, loc, i32x16, kcPairs,
                                                                 ValueRange{add(from, kb.idx(pair))},
                                                                 offsets, all, none)
                                            .getResult()
                                      : none;
          vector::StoreOp::create(b, loc, words, keyWords,
                                  ValueRange{add(tileRow, kb.idx(pair)), kb.idx(0)});
        }
    });
  }

  /// Values [key0, key0 + keyRows) into valueTiles: rows 2i and 2i + 1 of each 32-key
  /// block interleaved per 16-wide d block, row ((block · dBlocks) + db) · 16 + i.
  void packValues(Value key0) {
    int64_t dBlocks = hdv / kTile;
    SmallVector<int64_t> interleave;
    for (int64_t n = 0; n < kTile; ++n) {
      interleave.push_back(n);
      interleave.push_back(kTile + n);
    }
    kb.forRange(kb.idx(0), kb.idx(keyRows / 2), 1, [&](Value i) {
      Value j0 = mul(i, kb.idx(2));
      Value from0 = rowOffset(add(mul(s, kb.idx(segment)), add(key0, j0)), g, kvHeads);
      Value from1 = add(from0, kb.idx(kvHeads * hd));
      Value tileRow = add(mul(arith::DivUIOp::create(b, loc, i, kb.idx(kTile)),
                              kb.idx(dBlocks * kTile)),
                          arith::RemUIOp::create(b, loc, i, kb.idx(kTile)));
      for (int64_t db = 0; db < dBlocks; ++db) {
        Value r0 = loadHeadBf16(vc, add(from0, kb.idx(db * kTile)), db * kTile, kTile);
        Value r1 = loadHeadBf16(vc, add(from1, kb.idx(db * kTile)), db * kTile, kTile);
        vector::StoreOp::create(b, loc, vector::ShuffleOp::create(b, loc, r0, r1, interleave),
                                valueTiles, ValueRange{add(tileRow, kb.idx(db * kTile)), kb.idx(0)});
      }
    });
  }

  /// The chunk's query rows (head h) as bf16 into queryTiles, zero-padded to hdp.
  void packQueries() {
    Type qElem = cast<MemRefType>(q.getType()).getElementType();
    kb.forRange(kb.idx(0), kb.idx(queryRows), 1, [&](Value r) {
      Value from = rowOffset(add(row0, r), h, heads);
      for (int64_t d = 0; d < hdp; d += kTile) {
        Value x;
        if (qElem.isBF16()) {
          x = loadHeadBf16(q, add(from, kb.idx(d)), d, kTile);
        } else {
          Value v;
          if (d + kTile <= hd) {
            v = kb.loadF32(q, add(from, kb.idx(d)), kTile);
          } else if (d >= hd) {
            v = f32Splat(0.0f);
          } else {
            Value mask = vector::ConstantMaskOp::create(b, loc, vec(kTile, b.getI1Type()),
                                                        ArrayRef<int64_t>{hd - d});
            v = vector::MaskedLoadOp::create(b, loc, kb.vecType(), q, ValueRange{add(from, kb.idx(d))},
                                             mask, f32Splat(0.0f));
          }
          x = arith::TruncFOp::create(b, loc, vec(kTile, b.getBF16Type()), v);
        }
        vector::StoreOp::create(b, loc, x, queryTiles, ValueRange{r, kb.idx(d)});
      }
    });
  }

  /// Scores of block `rb` (chunk rows rb..rb+31) against the packed keys' 32-key block n,
  /// into score buffer `buf`: four 16x16 tiles (2 A and 2 B tile registers) accumulated
  /// over the head dimension.
  void scoreUnit(int64_t n, Value rb, Value buf) {
    Type bf = b.getBF16Type(), f32 = b.getF32Type();
    int64_t dBlocks = hdp / kBlock;
    SmallVector<Value> acc;
    for (int64_t t = 0; t < 4; ++t) acc.push_back(amx::TileZeroOp::create(b, loc, tileType(f32)));
    for (int64_t db = 0; db < dBlocks; ++db) {
      Value a[2], w[2];
      for (int64_t i = 0; i < 2; ++i)
        a[i] = amx::TileLoadOp::create(b, loc, tileType(bf), queryTiles,
                                       ValueRange{add(rb, kb.idx(kTile * i)), kb.idx(db * kBlock)});
      for (int64_t j = 0; j < 2; ++j)
        w[j] = amx::TileLoadOp::create(b, loc, tileType(bf), keyTiles,
                                       ValueRange{kb.idx(((2 * n + j) * dBlocks + db) * kTile), kb.idx(0)});
      for (int64_t i = 0; i < 2; ++i)
        for (int64_t j = 0; j < 2; ++j)
          acc[i * 2 + j] = amx::TileMulFOp::create(b, loc, tileType(f32), a[i], w[j], acc[i * 2 + j]);
    }
    Value row = mul(buf, kb.idx(kBlock));
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t j = 0; j < 2; ++j)
        amx::TileStoreOp::create(b, loc, scores,
                                 ValueRange{add(row, kb.idx(kTile * i)), kb.idx(n * kBlock + kTile * j)},
                                 acc[i * 2 + j]);
  }

  /// A piece of O += P·V: 16-wide d blocks [db0, db0 + dbs) (dbs <= 2) of both row tiles
  /// over the 32-key blocks [n0, n1); dbs x 2 accumulators, so the tile unit always has
  /// independent products in flight.
  struct ValueUnit {
    int64_t db0, dbs, n0, n1;
  };
  SmallVector<ValueUnit> valueUnits() {
    SmallVector<ValueUnit> units;
    int64_t vBlocks = hdv / kTile, keyBlocks = keyRows / kBlock;
    int64_t perUnit = std::max<int64_t>(1, keyBlocks / 2);
    for (int64_t db0 = 0; db0 < vBlocks; db0 += 2)
      for (int64_t n0 = 0; n0 < keyBlocks; n0 += perUnit)
        units.push_back({db0, std::min<int64_t>(2, vBlocks - db0), n0, std::min(keyBlocks, n0 + perUnit)});
    return units;
  }
  void valueUnit(const ValueUnit &u, Value rb, Value buf) {
    Type bf = b.getBF16Type(), f32 = b.getF32Type();
    int64_t vBlocks = hdv / kTile;
    SmallVector<SmallVector<Value, 2>> at;
    SmallVector<Value> o;
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t j = 0; j < u.dbs; ++j) {
        at.push_back({add(rb, kb.idx(kTile * i)), kb.idx((u.db0 + j) * kTile)});
        o.push_back(amx::TileLoadOp::create(b, loc, tileType(f32), outAcc, at.back()));
      }
    Value row = mul(buf, kb.idx(kBlock));
    for (int64_t n = u.n0; n < u.n1; ++n) {
      SmallVector<Value, 2> v, pt;
      for (int64_t j = 0; j < u.dbs; ++j)
        v.push_back(amx::TileLoadOp::create(b, loc, tileType(bf), valueTiles,
                                            ValueRange{kb.idx((n * vBlocks + u.db0 + j) * kTile), kb.idx(0)}));
      for (int64_t i = 0; i < 2; ++i)
        pt.push_back(amx::TileLoadOp::create(b, loc, tileType(bf), probs,
                                             ValueRange{add(row, kb.idx(kTile * i)), kb.idx(n * kBlock)}));
      for (int64_t i = 0; i < 2; ++i)
        for (int64_t j = 0; j < u.dbs; ++j)
          o[i * u.dbs + j] = amx::TileMulFOp::create(b, loc, tileType(f32), pt[i], v[j], o[i * u.dbs + j]);
    }
    for (size_t t = 0; t < o.size(); ++t) amx::TileStoreOp::create(b, loc, outAcc, at[t], o[t]);
  }

  /// Per 16 keys of the chunk at `key0`, whether the key is visible (with a key_mask).
  SmallVector<Value> visibleKeys(Value key0) {
    SmallVector<Value> visible;
    if (!keyMask) return visible;
    auto i32x16 = vec(kTile, b.getI32Type());
    Value zeros = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(i32x16, int32_t(0)));
    Value at = add(mul(s, kb.idx(segment)), key0);
    for (int64_t j = 0; j < keyRows / kTile; ++j)
      visible.push_back(arith::CmpIOp::create(
          b, loc, arith::CmpIPredicate::ne,
          vector::LoadOp::create(b, loc, i32x16, keyMask, ValueRange{add(at, kb.idx(kTile * j))}),
          zeros));
    return visible;
  }

  /// Block j's softmax (score and probability buffer `cur`), row by row; the tile work of
  /// the neighbouring blocks (scores of block j+1 into buffer `other`, P·V of block j-1
  /// from buffer `other`) spread over the rows as units, each issued before its row's
  /// vector work so that both run at once.
  void softmaxBlock(Value j, Value cur, Value other, int64_t blocks,
                    ArrayRef<Value> visible) {
    Value rb = mul(j, kb.idx(kBlock));
    int64_t scoreUnits = keyRows / kBlock;
    SmallVector<ValueUnit> values = valueUnits();
    int64_t units = scoreUnits + int64_t(values.size());
    // Row r issues the units u with u * 32 / units == r.
    SmallVector<int64_t> rows;
    SmallVector<SmallVector<int64_t>> unitsOf;
    for (int64_t u = 0; u < units; ++u) {
      int64_t r = u * kBlock / units;
      if (rows.empty() || rows.back() != r) {
        rows.push_back(r);
        unitsOf.emplace_back();
      }
      unitsOf.back().push_back(u);
    }
    Value hasNext = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, j, kb.idx(blocks - 1));
    Value hasPrev = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt, j, kb.idx(0));
    Value next = add(rb, kb.idx(kBlock)), prev = arith::SubIOp::create(b, loc, rb, kb.idx(kBlock));
    kb.forRange(kb.idx(0), kb.idx(kBlock), 1, [&](Value r) {
      auto sw = scf::IndexSwitchOp::create(b, loc, TypeRange{}, r, rows, rows.size());
      {
        OpBuilder::InsertionGuard guard(b);
        b.createBlock(&sw.getDefaultRegion());
        scf::YieldOp::create(b, loc);
        for (size_t c = 0; c < rows.size(); ++c) {
          b.createBlock(&sw.getCaseRegions()[c]);
          for (int64_t u : unitsOf[c]) {
            bool score = u < scoreUnits;
            auto ifOp = scf::IfOp::create(b, loc, score ? hasNext : hasPrev, /*withElseRegion=*/false);
            OpBuilder::InsertionGuard inner(b);
            b.setInsertionPointToStart(&ifOp.getThenRegion().front());
            if (score)
              scoreUnit(u, next, other);
            else
              valueUnit(values[u - scoreUnits], prev, other);
          }
          scf::YieldOp::create(b, loc);
        }
      }
      softmaxRow(rb, r, mul(cur, kb.idx(kBlock)), visible);
    });
  }

  /// The online softmax of row r of a block (chunk row r0 + r; buffer row bufRow + r) over
  /// the chunk's keyRows keys: per row the new running max and sum,
  /// its probabilities as bf16 into `probs`, and its output row rescaled by
  /// exp(old max - new max). It works in base 2: each score is multiplied by
  /// scale · log2(e) once (a tile's raw dot products times one constant), the running
  /// max is kept in those units, and e^(scale·(s - max)) = 2^(x - max_x). Scores are finite: the max needs no NaN handling (nnan: plain
  /// vmaxps), and its reduction may go in any order (reassoc: a tree, not a chain). With a
  /// key_mask, the scores of hidden keys (segment keys `key` ..) are the lowest f32; a step
  /// whose keys are all hidden then takes probability 1 for each (a row that sees no key
  /// averages all, as transformers does), wiped by the rescale exp(lowest - max) = 0 at
  /// the row's first visible key.
  void softmaxRow(Value r0, Value r, Value bufRow, ArrayRef<Value> visible) {
    int64_t parts = keyRows / kTile;
    auto fast = arith::FastMathFlags::nnan | arith::FastMathFlags::reassoc;
    {
      Value chunkRow = add(r0, r);
      SmallVector<Value> sv;
      for (int64_t j = 0; j < parts; ++j) {
        Value x = vector::LoadOp::create(b, loc, kb.vecType(), scores,
                                         ValueRange{add(bufRow, r), kb.idx(kTile * j)});
        if (softcap > 0.0f)
          x = arith::MulFOp::create(
              b, loc,
              math::TanhOp::create(b, loc, arith::MulFOp::create(b, loc, x, f32Splat(scale / softcap))),
              f32Splat(softcap * kLog2e));
        else
          x = arith::MulFOp::create(b, loc, x, f32Splat(scale * kLog2e));
        if (keyMask)
          x = arith::SelectOp::create(b, loc, visible[j], x,
                                      f32Splat(-std::numeric_limits<float>::max()));
        sv.push_back(x);
      }
      Value rowTop = tree(sv, [&](Value x, Value y) { return maxPs(x, y); });
      Value mOld = memref::LoadOp::create(b, loc, rowMax, ValueRange{chunkRow});
      Value mNew = arith::MaxNumFOp::create(
          b, loc, mOld,
          vector::ReductionOp::create(b, loc, vector::CombiningKind::MAXNUMF, rowTop, fast), fast);
      Value mSplat = kb.splatLike(mNew, sv[0]);
      SmallVector<Value> ps;
      for (int64_t j = 0; j < parts; ++j) {
        Value p = exp2NonPositive(arith::SubFOp::create(b, loc, sv[j], mSplat));
        vector::StoreOp::create(b, loc, arith::TruncFOp::create(b, loc, vec(kTile, b.getBF16Type()), p),
                                probs, ValueRange{add(bufRow, r), kb.idx(kTile * j)});
        ps.push_back(p);
      }
      Value total = tree(ps, [&](Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); });
      Value sum = vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD, total,
                                              arith::FastMathFlags::reassoc);
      Value lOld = memref::LoadOp::create(b, loc, rowSum, ValueRange{chunkRow});
      memref::StoreOp::create(b, loc, mNew, rowMax, ValueRange{chunkRow});
      // A new max rescales what the row has so far by exp(old - new); once the max
      // settles (most steps) nothing needs rescaling.
      Value grew = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, mNew, mOld);
      auto ifGrew = scf::IfOp::create(b, loc, TypeRange{b.getF32Type()}, grew, /*withElseRegion=*/true);
      {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(&ifGrew.getThenRegion().front());
        // In vectors too: a libm exp2f call here would spill every vector register and,
        // worse, reload the tile configuration (ldtilecfg) after it.
        Value corrV = exp2NonPositive(kb.splatLike(arith::SubFOp::create(b, loc, mOld, mNew), sv[0]));
        Value corr = vector::ExtractOp::create(b, loc, corrV, ArrayRef<int64_t>{0});
        for (int64_t d = 0; d < hdv; d += kTile) {
          SmallVector<Value, 2> at{chunkRow, kb.idx(d)};
          Value o = vector::LoadOp::create(b, loc, kb.vecType(), outAcc, at);
          vector::StoreOp::create(b, loc, arith::MulFOp::create(b, loc, o, corrV), outAcc, at);
        }
        scf::YieldOp::create(b, loc, ValueRange{arith::MulFOp::create(b, loc, lOld, corr)});
        b.setInsertionPointToStart(&ifGrew.getElseRegion().front());
        scf::YieldOp::create(b, loc, ValueRange{lOld});
      }
      memref::StoreOp::create(b, loc, arith::AddFOp::create(b, loc, ifGrew.getResult(0), sum),
                              rowSum, ValueRange{chunkRow});
    }
  }

  /// vmaxps. Scores are never NaN, but arith.maxnumf keeps its NaN rule even with nnan
  /// (vcmpunordps and a blend per vector); the softmax takes the plain instruction.
  Value maxPs(Value x, Value y) {
    return LLVM::CallIntrinsicOp::create(b, loc, Type(kb.vecType()), b.getStringAttr("llvm.x86.avx512.max.ps.512"),
                                         ValueRange{x, y, kb.i32(4)})
        .getResult(0);
  }

  /// `xs` combined pairwise (a tree: log2 of the latency chain a running fold has).
  Value tree(SmallVector<Value> xs, llvm::function_ref<Value(Value, Value)> combine) {
    while (xs.size() > 1) {
      SmallVector<Value> next;
      for (size_t i = 0; i + 1 < xs.size(); i += 2) next.push_back(combine(xs[i], xs[i + 1]));
      if (xs.size() % 2) next.push_back(xs.back());
      xs = std::move(next);
    }
    return xs.front();
  }

  /// 2^t for a vector of t <= 0 (scores minus their running max, in base-2 units), the
  /// bulk of the softmax's work: t = n + f with n = round(t) and f in [-1/2, 1/2]; 2^f by
  /// a degree-4 polynomial fitted for the least maximum relative error on that interval
  /// (2.7e-6 in f32 arithmetic, as small as the degree-5 Taylor series' 2.4e-6 and one
  /// FMA cheaper; far below the bf16 rounding the probabilities get next); vscalefps
  /// multiplies by 2^n, which gives 0 (not a wrapped exponent) for the lowest f32 a hidden
  /// key scores. 8 instructions a vector where math.exp's general expansion (any x, NaN
  /// propagation) takes ~25.
  Value exp2NonPositive(Value t) {
    Value n = math::RoundEvenOp::create(b, loc, t);
    Value f = arith::SubFOp::create(b, loc, t, n);
    // Highest power first.
    const float c[] = {9.570102207362652e-3f, 5.591786280274391e-2f, 2.40247443318367e-1f,
                       6.931217908859253e-1f, 9.999992847442627e-1f};
    Value poly = f32Splat(c[0]);
    for (int i = 1; i < 5; ++i) poly = math::FmaOp::create(b, loc, poly, f, f32Splat(c[i]));
    // scalef(poly, n) on all 16 lanes, rounding as MXCSR says (4: _MM_FROUND_CUR_DIRECTION).
    Value allLanes = arith::ConstantOp::create(b, loc, b.getI16IntegerAttr(-1));
    return x86vector::MaskScaleFOp::create(b, loc, kb.vecType(), poly, n, poly, allLanes,
                                           kb.i32(4));
  }

  /// Every row's accumulated output divided by its sum of probabilities, into `out`.
  void writeOutputs() {
    kb.forRange(kb.idx(0), kb.idx(queryRows), 1, [&](Value r) {
      Value inv = arith::DivFOp::create(b, loc, kb.f32(1.0f),
                                        memref::LoadOp::create(b, loc, rowSum, ValueRange{r}));
      Value to = rowOffset(add(row0, r), h, heads);
      kb.forChunks(hd, [&](Value d, int lanes) {
        Value o = lanes ? vector::LoadOp::create(b, loc, vec(lanes, b.getF32Type()), outAcc,
                                                 ValueRange{r, d}).getResult()
                        : memref::LoadOp::create(b, loc, outAcc, ValueRange{r, d}).getResult();
        kb.storeF32(arith::MulFOp::create(b, loc, o, kb.splatLike(inv, o)), out, add(to, d));
      });
    });
  }

  AttentionOp op;
  int64_t heads = 0, hd = 0, hdp = 0, hdv = 0, segment = 0, kvHeads = 0, group = 0;
  int64_t queryRows = 0, keyRows = 0; // from lowering_config
  float scale = 1.0f, softcap = 0.0f;
  Value q, kcPairs, vc, out; // the keys as 32-bit d-pairs
  Value keyMask;             // key_mask [segments, segment] i32, or null
  Value s, h, g, row0; // this workgroup's segment, query head, KV head, first row
  Value keyTiles, keyWords, valueTiles, queryTiles, scores, probs, outAcc, rowMax, rowSum;
};

} // namespace

FailureOr<LaunchInfo> emitSegmentedAmxAttention(KernelBuilder &kb, DispatchRegionOp region,
                                                const DispatchSignature &sig, const DimsOf &dims,
                                                CpuAttentionConfigAttr config) {
  return SegmentedAttentionEmitter(kb, region, sig, dims).emit(config);
}

} // namespace mvc
