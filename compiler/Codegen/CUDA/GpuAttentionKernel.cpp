//===- GpuAttentionKernel.cpp - paged flash attention on the tensor cores -===//
//
// Attention, flash style on the tensor cores. A block (4 warps) takes 32 query vectors:
// `tokens` = 32 / group consecutive tokens x the `group` query heads sharing one KV head
// (the cpu kernel's query-row blocking), so each key and value row is read once for all
// of them. Keys go in tiles gathered through the page table into shared memory with
// cp.async (the K tile of the next step loads while this step's softmax and P·V run, the
// V tile while the next step's Q·Kᵀ runs). Warp w computes S = Q·Kᵀ for query vectors
// 16 (w / 2) .. +16 (both warps of a pair compute the same S: the softmax statistics then
// need no exchange between warps) and accumulates O += P·V for its half of the head dim,
// w % 2, so the accumulators take head_dim / 4 registers per thread. The softmax is
// online, in registers (row statistics across the 4 lanes of a quad by shuffles); P goes
// from the S accumulators straight into the A operand of the P·V mma.
//   - f32 caches: 3xTF32 m16n8k8 (about f32 accuracy: the f32 goldens keep 2e-5); Q
//     fragments are read from global memory (L1) at each step, K and V fragments with
//     ld.shared (ldmatrix moves 16-bit elements only).
//   - bf16 caches: bf16 m16n8k16 with f32 accumulation; Q (rounded to bf16 once) sits in
//     shared memory; fragments of Q and K with ldmatrix, of V with ldmatrix.trans.
// Masks are the cpu kernel's: one key interval per token (causal, sliding window, widened
// to the token's group span when group_spans is given; a segment's key_mask), softcap, GQA,
// ragged batch. The tokens of a block may belong to several sequences (decode: one token
// each): the block runs the key loop once per sequence present, rows of other sequences
// masked, and the warps holding none of its rows skip the mma work (decode: half the warps
// idle for G=4).
//
//===----------------------------------------------------------------------===//
#include "compiler/Codegen/Common/KernelMath.h"
#include "compiler/Codegen/CUDA/GpuKernels.h"
#include "compiler/Codegen/CUDA/GpuMma.h"
#include "compiler/Codegen/Common/PagedCache.h"

#include <limits>
#include <tuple>

using namespace mlir;

namespace mvc {
namespace {

Type elemOf(Value v) { return cast<RankedTensorType>(v.getType()).getElementType(); }

/// What the template is written for (warps × mma rows); the region's lowering_config
/// (--mvc-set-gpu-lowering-config) must ask for exactly this.
constexpr int64_t kSupportedThreads = 128, kSupportedQueryVectors = 32;
/// Static shared memory a block may use without the opt-in for more (sm_80 and sm_90a).
constexpr int64_t kSharedBudget = 48 * 1024;

/// One of the two query vectors (accumulator rows g and g + 8) a thread holds.
struct QueryVector {
  Value seq;         // its sequence, -1 for a padding vector or a token past the end
  Value first, last; // the keys it sees: [first, last] in absolute positions
  Value inTile;      // a real vector of the block (else its address is clamped)
  Value base;        // element offset of its row in the query and output
};

class FlashAttentionEmitter : KernelMath {
public:
  FlashAttentionEmitter(gpu::GPUModuleOp module, StringRef name, DispatchRegionOp region,
                        const DispatchSignature &sig, const DimsOf &dims)
      : module(module), name(name), region(region), sig(sig), dims(dims) {}

  FailureOr<LaunchInfo> emit();

private:
  Value loadIndex(Value mem, Value at) {
    return arith::IndexCastOp::create(*b, loc, b->getIndexType(),
                                      memref::LoadOp::create(*b, loc, mem, at));
  }
  void storeIndex(Value v, Value mem, Value at) {
    memref::StoreOp::create(*b, loc, arith::IndexCastOp::create(*b, loc, b->getI64Type(), v), mem,
                            at);
  }
  /// Max (or sum) of `v` over the 4 lanes of this thread's quad (one accumulator row).
  Value quadReduce(Value v, bool isMax) {
    Value width = arith::ConstantOp::create(*b, loc, b->getI32IntegerAttr(kWarpSize));
    for (int offset : {1, 2}) {
      Value off = arith::ConstantOp::create(*b, loc, b->getI32IntegerAttr(offset));
      Value other =
          gpu::ShuffleOp::create(*b, loc, v, off, width, gpu::ShuffleMode::XOR).getShuffleResult();
      v = isMax ? Value(arith::MaximumFOp::create(*b, loc, v, other))
                : Value(arith::AddFOp::create(*b, loc, v, other));
    }
    return v;
  }

  void stageTokens(Value q);
  QueryVector queryVector(int64_t r);
  /// Starts the cp.async copies of keys [tileStart, tileStart + keyTile) of sequence `seq`
  /// (those past kLast read key kLast; they are masked) into `tile`.
  void stageTile(Value tile, Value cache, Value tileStart, Value kLast, Value seq);
  SmallVector<Value> scores();
  void accumulate(ArrayRef<Value> p, MutableArrayRef<Value> o);
  SmallVector<Value> keyTileStep(Value s, Value kFirst, Value kLast, Value numTiles, Value active,
                                 Value j, ValueRange carried);
  /// scf.if on a warp-uniform `cond`: body()'s values, else `otherwise` (same types).
  SmallVector<Value> ifWarp(Value cond, ValueRange otherwise, const std::function<SmallVector<Value>()> &body) {
    SmallVector<Type> types;
    for (Value v : otherwise) types.push_back(v.getType());
    auto ifOp = scf::IfOp::create(*b, loc, types, cond, /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(*b);
    b->setInsertionPointToStart(&ifOp.getThenRegion().front());
    scf::YieldOp::create(*b, loc, body());
    b->setInsertionPointToStart(&ifOp.getElseRegion().front());
    scf::YieldOp::create(*b, loc, otherwise);
    return SmallVector<Value>(ifOp.getResults());
  }

  gpu::GPUModuleOp module;
  StringRef name;
  DispatchRegionOp region;
  const DispatchSignature &sig;
  const DimsOf &dims;
  GpuKernelBuilder *kb = nullptr;
  OpBuilder *b = nullptr;
  Location loc = UnknownLoc::get(region.getContext());
  AttentionOp op;
  int64_t heads = 0, hd = 0, pageSize = 0, kvHeads = 0, group = 0, tokens = 0;
  int64_t paddedHd = 0, stride = 0, elemBytes = 0, chunk = 0, keyTile = 0;
  int64_t numThreads = 0, queryVectors = 0; // from lowering_config
  bool bf16 = false;
  float scale = 0, softcap = 0;
  Type cacheElem;
  Value q, kcPtr, vcPtr, bt, ro, cl, sp, km, out, batch, maxPages, numRows;
  Value qTile, kTile, vTile, tokSeq, tokFirst, tokLast;
  Value lane, g, t, mTile, dBase, kvh, firstTok;
  QueryVector rows[2];
};

/// Token info of the block in shared memory (sequence, visible keys), and for bf16 the
/// query vectors rounded to bf16. Padding columns of the tiles are zeroed once (cp.async
/// writes only the head_dim real ones, and Q·Kᵀ sums over the padded length).
void FlashAttentionEmitter::stageTokens(Value q) {
  int64_t window = op.getSlidingWindow();
  kb->forThreads(kb->idx(keyTile * stride), [&](Value e) {
    kb->storeF32(kb->f32(0.0f), kTile, e);
    kb->storeF32(kb->f32(0.0f), vTile, e);
  });
  if (bf16)
    kb->forThreads(kb->idx(queryVectors * paddedHd), [&](Value e) {
      Value v = div(e, paddedHd), d = rem(e, paddedHd);
      Value tok = add(firstTok, div(v, group));
      Value head = add(mul(kvh, kb->idx(group)), rem(v, group));
      Value ok = both(both(cmp(arith::CmpIPredicate::ult, v, kb->idx(tokens * group)),
                           cmp(arith::CmpIPredicate::ult, tok, numRows)),
                      cmp(arith::CmpIPredicate::ult, d, kb->idx(hd)));
      Value row = arith::MinUIOp::create(*b, loc, tok, sub(numRows, kb->idx(1)));
      Value at = add(mul(add(mul(row, kb->idx(heads)), head), kb->idx(hd)),
                     arith::MinUIOp::create(*b, loc, d, kb->idx(hd - 1)));
      Value x = select(ok, kb->loadF32(q, at), kb->f32(0.0f));
      // Stored as the bf16 bits: a bf16-typed store lets the host compiler of cuda-emu
      // re-form an f32 -> bf16 truncation that needs __truncsfbf2.
      Value bits = arith::BitcastOp::create(*b, loc, b->getI16Type(),
                                            arith::TruncFOp::create(*b, loc, b->getBF16Type(), x));
      memref::StoreOp::create(*b, loc, bits, qTile, add(mul(v, kb->idx(stride)), d));
    });
  kb->forThreads(kb->idx(tokens), [&](Value i) {
    Value tok = add(firstTok, i);
    Value valid = cmp(arith::CmpIPredicate::ult, tok, numRows);
    TokenPlace place = placeToken(
        *b, loc, arith::MinUIOp::create(*b, loc, tok, sub(numRows, kb->idx(1))), ro, cl, batch,
        pageSize);
    // The keys a token sees form one interval [first, last]: causal (and windowed) keys,
    // widened to its bidirectional group (a contiguous span containing it), as the cpu
    // kernel. With a group, last may lie past the token's own position (in the cache).
    Value last = op.isSegmented() ? kb->idx(pageSize - 1)
                 : op.isVarlen() ? sub(segmentLength(*b, loc, ro, place.seq), kb->idx(1))
                                 : place.pos;
    Value first = kb->idx(0);
    if (window > 0)
      first =
          arith::MaxSIOp::create(*b, loc, sub(add(last, kb->idx(1)), kb->idx(window)), kb->idx(0));
    if (sp) {
      Value row = arith::MinUIOp::create(*b, loc, tok, sub(numRows, kb->idx(1)));
      Value start = loadIndex(sp, mul(row, kb->idx(2)));
      Value end = loadIndex(sp, add(mul(row, kb->idx(2)), kb->idx(1)));
      Value inGroup = cmp(arith::CmpIPredicate::slt, start, end);
      last = select(inGroup, arith::MaxSIOp::create(*b, loc, last, sub(end, kb->idx(1))), last);
      if (window > 0 && !op.getGroupWindowClip())
        first = select(inGroup, arith::MinSIOp::create(*b, loc, first, start), first);
    }
    storeIndex(select(valid, place.seq, kb->idx(-1)), tokSeq, i);
    storeIndex(first, tokFirst, i);
    storeIndex(last, tokLast, i);
  });
  kb->barrier();
}

QueryVector FlashAttentionEmitter::queryVector(int64_t r) {
  QueryVector qv;
  Value v = add(mul(mTile, kb->idx(16)), add(g, kb->idx(8 * r)));
  qv.inTile = cmp(arith::CmpIPredicate::ult, v, kb->idx(tokens * group));
  Value tokIdx = arith::MinUIOp::create(*b, loc, div(v, group), kb->idx(tokens - 1));
  qv.seq = select(qv.inTile, loadIndex(tokSeq, tokIdx), kb->idx(-1));
  qv.first = loadIndex(tokFirst, tokIdx);
  qv.last = loadIndex(tokLast, tokIdx);
  Value row = arith::MinUIOp::create(*b, loc, add(firstTok, tokIdx), sub(numRows, kb->idx(1)));
  Value head = add(mul(kvh, kb->idx(group)), rem(v, group));
  qv.base = mul(add(mul(row, kb->idx(heads)), head), kb->idx(hd));
  return qv;
}

void FlashAttentionEmitter::stageTile(Value tile, Value cache, Value tileStart, Value kLast, Value seq) {
  int64_t chunksPerRow = hd * elemBytes / chunk, chunkElems = chunk / elemBytes;
  kb->forThreads(kb->idx(keyTile * chunksPerRow), [&](Value e) {
    Value row = div(e, chunksPerRow), c = mul(rem(e, chunksPerRow), kb->idx(chunkElems));
    Value kpos = arith::MinSIOp::create(*b, loc, add(tileStart, row), kLast);
    Value base = add(cacheOffset(*b, loc, bt, maxPages, seq, kpos, pageSize, kvHeads * hd,
                                 op.isVarlen() ? ro : Value()),
                     mul(kvh, kb->idx(hd)));
    cpAsync(*b, loc, sharedElementPointer(*b, loc, tile, add(mul(row, kb->idx(stride)), c)),
            globalElementPointer(*b, loc, cache, cacheElem, add(base, c)), chunk);
  });
}

/// S = Q·Kᵀ for this warp's 16 query vectors and the key tile: keyTile / 8 accumulator
/// tiles (16 x 8), 4 values each: rows g, g, g + 8, g + 8; keys 2t, 2t + 1, 2t, 2t + 1.
SmallVector<Value> FlashAttentionEmitter::scores() {
  int64_t nTiles = keyTile / 8;
  SmallVector<Value> s(nTiles * 4, kb->f32(0.0f));
  Value quarter = div(lane, 8), row8 = rem(lane, 8);
  if (bf16) {
    // ldmatrix x4: matrix i = lane / 8 gives A register i (rows +8 for odd i, k +8 for i >= 2)
    // and, on the K tile, B registers b0/b1 of key tiles jn and jn + 1.
    Value qRow = add(mul(mTile, kb->idx(16)), add(mul(rem(quarter, 2), kb->idx(8)), row8));
    Value qCol = mul(div(quarter, 2), kb->idx(8));
    Value kRow = add(mul(div(quarter, 2), kb->idx(8)), row8);
    Value kCol = mul(rem(quarter, 2), kb->idx(8));
    for (int64_t ks = 0; ks < paddedHd; ks += 16) {
      SmallVector<Value> a = ldmatrix(
          *b, loc, sharedElementPointer(*b, loc, qTile, add(mul(qRow, kb->idx(stride)), add(qCol, kb->idx(ks)))),
          4, false);
      for (int64_t jn = 0; jn < nTiles; jn += 2) {
        Value at = add(mul(add(kRow, kb->idx(8 * jn)), kb->idx(stride)), add(kCol, kb->idx(ks)));
        SmallVector<Value> w = ldmatrix(*b, loc, sharedElementPointer(*b, loc, kTile, at), 4, false);
        mmaSync(*b, loc, a, {w[0], w[1]}, MutableArrayRef<Value>(s).slice(4 * jn, 4), NVVM::MMATypes::bf16);
        mmaSync(*b, loc, a, {w[2], w[3]}, MutableArrayRef<Value>(s).slice(4 * jn + 4, 4), NVVM::MMATypes::bf16);
      }
    }
    return s;
  }
  // 3xTF32: A (g, t), (g + 8, t), (g, t + 4), (g + 8, t + 4) from the query rows in global
  // memory; B (k = t, n = g), (k = t + 4, n = g) from the K tile's rows.
  for (int64_t ks = 0; ks < paddedHd; ks += 8) {
    SmallVector<Value> aBig, aSmall;
    for (auto [r, dk] : {std::pair<int64_t, int64_t>{0, 0}, {1, 0}, {0, 4}, {1, 4}}) {
      Value d = add(t, kb->idx(ks + dk));
      Value x;
      if (ks + 8 <= hd) {
        x = select(rows[r].inTile, kb->loadF32(q, add(rows[r].base, d)), kb->f32(0.0f));
      } else {
        Value inside = both(rows[r].inTile, cmp(arith::CmpIPredicate::ult, d, kb->idx(hd)));
        Value at = add(rows[r].base, arith::MinUIOp::create(*b, loc, d, kb->idx(hd - 1)));
        x = select(inside, kb->loadF32(q, at), kb->f32(0.0f));
      }
      auto [big, small] = splitTf32(*b, loc, x);
      aBig.push_back(big);
      aSmall.push_back(small);
    }
    for (int64_t jn = 0; jn < nTiles; ++jn) {
      SmallVector<Value> bBig, bSmall;
      for (int64_t dk : {0, 4}) {
        Value at = add(mul(add(g, kb->idx(8 * jn)), kb->idx(stride)), add(t, kb->idx(ks + dk)));
        auto [big, small] = splitTf32(*b, loc, memref::LoadOp::create(*b, loc, kTile, at));
        bBig.push_back(big);
        bSmall.push_back(small);
      }
      auto acc = MutableArrayRef<Value>(s).slice(4 * jn, 4);
      // The small products first, so they are not lost against the big one.
      mmaSync(*b, loc, aSmall, bBig, acc, NVVM::MMATypes::tf32);
      mmaSync(*b, loc, aBig, bSmall, acc, NVVM::MMATypes::tf32);
      mmaSync(*b, loc, aBig, bBig, acc, NVVM::MMATypes::tf32);
    }
  }
  return s;
}

/// O += P·V for this warp's 16 query vectors and its half of the head dim; `p` is in the
/// S accumulator layout.
void FlashAttentionEmitter::accumulate(ArrayRef<Value> p, MutableArrayRef<Value> o) {
  int64_t nTiles = keyTile / 8, dTiles = paddedHd / 16;
  if (bf16) {
    // A of keys 16c..+16 is S tiles 2c and 2c + 1 as they are (the m16n8k16 A layout
    // matches two m16n8 accumulators side by side). B from ldmatrix.trans of V rows:
    // matrix i = lane / 8 covers keys +8 for odd i and head-dim tile +1 for i >= 2.
    Value quarter = div(lane, 8), row8 = rem(lane, 8);
    for (int64_t c = 0; c < nTiles / 2; ++c) {
      SmallVector<Value> a;
      // {(g, k), (g+8, k), (g, k+8), (g+8, k+8)}, k = 2t, 2t + 1
      for (int64_t jn : {2 * c, 2 * c + 1})
        for (int64_t h : {0, 2}) a.push_back(packBf16(*b, loc, p[4 * jn + h], p[4 * jn + h + 1]));
      for (int64_t n = 0; n < dTiles; n += 2) {
        bool pair = n + 1 < dTiles;
        Value key = add(kb->idx(16 * c), add(mul(rem(quarter, 2), kb->idx(8)), row8));
        Value col = add(dBase, kb->idx(8 * n));
        if (pair) col = add(col, mul(div(quarter, 2), kb->idx(8)));
        SmallVector<Value> w = ldmatrix(
            *b, loc, sharedElementPointer(*b, loc, vTile, add(mul(key, kb->idx(stride)), col)), pair ? 4 : 2, true);
        mmaSync(*b, loc, a, {w[0], w[1]}, o.slice(4 * n, 4), NVVM::MMATypes::bf16);
        if (pair) mmaSync(*b, loc, a, {w[2], w[3]}, o.slice(4 * n + 4, 4), NVVM::MMATypes::bf16);
      }
    }
    return;
  }
  // 3xTF32 on k8 steps of 8 keys. The accumulator holds keys 2t and 2t + 1 of each row,
  // not t and t + 4 as the A operand wants: the k order of one step is free as long as A
  // and B agree, so A column t is key 2t and column t + 4 key 2t + 1, and B row t reads V
  // row 2t, row t + 4 V row 2t + 1.
  for (int64_t c = 0; c < nTiles; ++c) {
    SmallVector<Value> aBig, aSmall;
    for (int64_t i : {0, 2, 1, 3}) {
      auto [big, small] = splitTf32(*b, loc, p[4 * c + i]);
      aBig.push_back(big);
      aSmall.push_back(small);
    }
    Value key = add(kb->idx(8 * c), mul(t, kb->idx(2)));
    for (int64_t n = 0; n < dTiles; ++n) {
      Value col = add(dBase, add(g, kb->idx(8 * n)));
      SmallVector<Value> bBig, bSmall;
      for (int64_t dk : {0, 1}) {
        Value at = add(mul(add(key, kb->idx(dk)), kb->idx(stride)), col);
        auto [big, small] = splitTf32(*b, loc, memref::LoadOp::create(*b, loc, vTile, at));
        bBig.push_back(big);
        bSmall.push_back(small);
      }
      auto acc = o.slice(4 * n, 4);
      mmaSync(*b, loc, aSmall, bBig, acc, NVVM::MMATypes::tf32);
      mmaSync(*b, loc, aBig, bSmall, acc, NVVM::MMATypes::tf32);
      mmaSync(*b, loc, aBig, bBig, acc, NVVM::MMATypes::tf32);
    }
  }
}

/// One key tile j of sequence s. Carried: running max (2), partial sums (2, this lane's
/// keys only: the quad sums them at the end), O accumulators.
SmallVector<Value> FlashAttentionEmitter::keyTileStep(Value s, Value kFirst, Value kLast, Value numTiles,
                                                      Value active, Value j, ValueRange carried) {
  Value tileStart = add(kFirst, mul(j, kb->idx(keyTile)));
  Value more = cmp(arith::CmpIPredicate::ult, add(j, kb->idx(1)), numTiles);
  int64_t numScores = keyTile / 8 * 4;
  // Groups in flight: K(j), V(j). K(j) has landed when at most one is left.
  cpAsyncWait(*b, loc, 1);
  kb->barrier();
  // S and the online softmax; a warp with no query vector of sequence s keeps its state.
  SmallVector<Value> idle(carried.begin(), carried.end());
  idle.append(numScores, kb->f32(0.0f));
  SmallVector<Value> state = ifWarp(active, idle, [&] {
    SmallVector<Value> sc = scores();
    SmallVector<Value> next(carried.begin(), carried.end());
    Value tileMax[2] = {kb->f32(-INFINITY), kb->f32(-INFINITY)};
    for (int64_t jn = 0; jn < keyTile / 8; ++jn)
      for (int64_t i = 0; i < 4; ++i) {
        const QueryVector &r = rows[i >> 1];
        Value kpos = add(tileStart, add(mul(t, kb->idx(2)), kb->idx(8 * jn + (i & 1))));
        Value x = mulf(sc[4 * jn + i], kb->f32(scale));
        if (softcap > 0.0f)
          x = mulf(
              math::TanhOp::create(*b, loc, arith::DivFOp::create(*b, loc, x, kb->f32(softcap))),
              kb->f32(softcap));
        Value seen = both(cmp(arith::CmpIPredicate::eq, r.seq, s),
                          both(cmp(arith::CmpIPredicate::sge, kpos, r.first),
                               cmp(arith::CmpIPredicate::sle, kpos, r.last)));
        if (km) {
          // key_mask (segments): a hidden key scores the lowest f32 (see the op). The entry
          // of a key past the segment is not read (clamped; its score is -inf anyway).
          Value at = add(mul(s, kb->idx(pageSize)),
                         arith::MinSIOp::create(*b, loc, kpos, kb->idx(pageSize - 1)));
          Value hidden = cmp(arith::CmpIPredicate::eq, memref::LoadOp::create(*b, loc, km, at),
                             arith::ConstantIntOp::create(*b, loc, 0, 32));
          x = select(hidden, kb->f32(-std::numeric_limits<float>::max()), x);
        }
        sc[4 * jn + i] = select(seen, x, kb->f32(-INFINITY));
        tileMax[i >> 1] = arith::MaximumFOp::create(*b, loc, tileMax[i >> 1], sc[4 * jn + i]);
      }
    Value corr[2], mSafe[2];
    for (int64_t r = 0; r < 2; ++r) {
      Value mNew = arith::MaximumFOp::create(*b, loc, carried[r], quadReduce(tileMax[r], true));
      // A row that has seen no key yet subtracts 0, so exp(-inf - -inf) never makes a NaN.
      Value none =
          arith::CmpFOp::create(*b, loc, arith::CmpFPredicate::OEQ, mNew, kb->f32(-INFINITY));
      mSafe[r] = select(none, kb->f32(0.0f), mNew);
      corr[r] = math::ExpOp::create(*b, loc, arith::SubFOp::create(*b, loc, carried[r], mSafe[r]));
      next[r] = mNew;
      next[2 + r] = mulf(carried[2 + r], corr[r]);
    }
    for (int64_t e = 0; e < numScores; ++e) {
      int64_t r = (e % 4) >> 1;
      sc[e] = math::ExpOp::create(*b, loc, arith::SubFOp::create(*b, loc, sc[e], mSafe[r]));
      next[2 + r] = arith::AddFOp::create(*b, loc, next[2 + r], sc[e]);
    }
    for (int64_t e = 4; e < int64_t(next.size()); ++e) next[e] = mulf(next[e], corr[((e - 4) % 4) >> 1]);
    next.append(sc);
    return next;
  });
  kb->barrier(); // every warp is done with K(j)
  kb->ifThen(more, [&] { stageTile(kTile, kcPtr, add(tileStart, kb->idx(keyTile)), kLast, s); });
  cpAsyncCommit(*b, loc);

  cpAsyncWait(*b, loc, 1); // V(j); K(j + 1) may still be in flight
  kb->barrier();
  ArrayRef<Value> p = ArrayRef<Value>(state).take_back(numScores);
  SmallVector<Value> next(state.begin(), state.end() - numScores);
  next = ifWarp(active, next, [&] {
    SmallVector<Value> acc(next);
    accumulate(p, MutableArrayRef<Value>(acc).drop_front(4));
    return acc;
  });
  kb->barrier(); // every warp is done with V(j)
  kb->ifThen(more, [&] { stageTile(vTile, vcPtr, add(tileStart, kb->idx(keyTile)), kLast, s); });
  cpAsyncCommit(*b, loc);
  return next;
}

FailureOr<LaunchInfo> FlashAttentionEmitter::emit() {
  op = cast<AttentionOp>(region.getBody().front().front());
  auto cacheType = op.getKeyCache().getType();
  AttentionShape shape = AttentionShape::of(op);
  std::tie(heads, hd, pageSize, kvHeads, group) =
      std::tie(shape.heads, shape.hd, shape.pageSize, shape.kvHeads, shape.group);
  scale = shape.scale;
  softcap = shape.softcap;
  cacheElem = cacheType.getElementType();
  bf16 = cacheElem.isBF16();
  if ((!bf16 && !cacheElem.isF32()) || op.getValueCache().getType().getElementType() != cacheElem)
    return op.emitError("gpu attention supports f32 or bf16 KV caches (both the same)");
  FailureOr<GpuAttentionConfigAttr> config = loweringConfig<GpuAttentionConfigAttr>(region);
  if (failed(config)) return failure();
  if (config->getThreads() != kSupportedThreads || config->getQueryVectors() != kSupportedQueryVectors)
    return region.emitError("gpu attention: the template supports lowering_config threads ")
           << kSupportedThreads << " and query_vectors " << kSupportedQueryVectors << ", not "
           << config->getThreads() << " and " << config->getQueryVectors();
  numThreads = config->getThreads();
  queryVectors = config->getQueryVectors();
  if (group > queryVectors)
    return op.emitError("gpu attention supports at most ") << queryVectors << " query heads per KV head";
  tokens = queryVectors / group;
  elemBytes = bf16 ? 2 : 4;
  paddedHd = (hd + 15) / 16 * 16;
  // Rows padded by 16 bytes: the fragment loads of a warp hit 32 different banks.
  stride = paddedHd + 16 / elemBytes;
  int64_t rowBytes = hd * elemBytes;
  chunk = rowBytes % 16 == 0 ? 16 : rowBytes % 8 == 0 ? 8 : 4;
  if (rowBytes % 4)
    return op.emitError("gpu attention needs KV rows of a multiple of 4 bytes");
  int64_t fixed = (bf16 ? queryVectors * stride * 2 : 0) + 3 * tokens * 8;
  keyTile = 32;
  while (keyTile > 16 && fixed + 2 * keyTile * stride * elemBytes > kSharedBudget) keyTile /= 2;
  if (fixed + 2 * keyTile * stride * elemBytes > kSharedBudget)
    return op.emitError("gpu attention: head_dim ") << hd << " needs more than 48 KiB of shared memory";

  GpuKernelBuilder builder(module, name, sig.operands.size() + sig.results.size(), 3, numThreads);
  builder.setMinBlocksPerMultiprocessor(2);
  kb = &builder;
  b = &builder.b();
  loc = builder.loc();
  bindMath(*b, loc);
  q = builder.binding(sig.bindingOf(op.getQuery()), elemOf(op.getQuery()));
  kcPtr = builder.bindingPointer(sig.bindingOf(op.getKeyCache()));
  vcPtr = builder.bindingPointer(sig.bindingOf(op.getValueCache()));
  // Segmented (no tables): sequence s is page s, whole, attended both ways.
  if (op.isVarlen()) {
    ro = builder.binding(sig.bindingOf(op.getSegments()), b->getI32Type());
  } else if (!op.isSegmented()) {
    bt = builder.binding(sig.bindingOf(op.getBlockTable()), b->getI32Type());
    ro = builder.binding(sig.bindingOf(op.getRowOffsets()), b->getI32Type());
    cl = builder.binding(sig.bindingOf(op.getCacheLens()), b->getI32Type());
  }
  if (op.getGroupSpans()) sp = builder.binding(sig.bindingOf(op.getGroupSpans()), b->getI32Type());
  if (op.getKeyMask()) km = builder.binding(sig.bindingOf(op.getKeyMask()), b->getI32Type());
  out = builder.binding(sig.operands.size(), elemOf(op.getResult()));
  batch = builder.push(0);
  maxPages = builder.push(1);
  numRows = builder.push(2);

  kTile = builder.sharedArray(keyTile * stride, cacheElem);
  vTile = builder.sharedArray(keyTile * stride, cacheElem);
  if (bf16) qTile = builder.sharedArray(queryVectors * stride, b->getI16Type());
  tokSeq = builder.sharedArray(tokens, b->getI64Type());
  tokFirst = builder.sharedArray(tokens, b->getI64Type());
  tokLast = builder.sharedArray(tokens, b->getI64Type());

  lane = builder.laneId();
  g = div(lane, 4);
  t = rem(lane, 4);
  Value warp = builder.warpId();
  mTile = div(warp, 2);
  dBase = mul(rem(warp, 2), kb->idx(paddedHd / 2));
  firstTok = mul(div(builder.blockId(), kvHeads), kb->idx(tokens));
  kvh = rem(builder.blockId(), kvHeads);
  stageTokens(q);
  rows[0] = queryVector(0);
  rows[1] = queryVector(1);

  // The sequences of the block's tokens: consecutive, from the first token's to the last's.
  Value sFirst = loadIndex(tokSeq, kb->idx(0));
  Value sLast = builder.forRangeCarried(
      kb->idx(0), kb->idx(tokens), kb->idx(1), ValueRange{sFirst},
      [&](Value i, ValueRange acc) -> SmallVector<Value> {
        return {arith::MaxSIOp::create(*b, loc, acc[0], loadIndex(tokSeq, i))};
      })[0];
  SmallVector<Value> init = {kb->f32(-INFINITY), kb->f32(-INFINITY), kb->f32(0.0f), kb->f32(0.0f)};
  init.append((paddedHd / 16) * 4, kb->f32(0.0f));
  auto final = builder.forRangeCarried(
      sFirst, add(sLast, kb->idx(1)), kb->idx(1), init, [&](Value s, ValueRange carried) -> SmallVector<Value> {
        // The keys of sequence s the block needs: the union of its tokens' intervals.
        auto range = kb->forRangeCarried(
            kb->idx(0), kb->idx(tokens), kb->idx(1), ValueRange{kb->idx(int64_t(1) << 40), kb->idx(-1)},
            [&](Value i, ValueRange acc) -> SmallVector<Value> {
              Value mine = cmp(arith::CmpIPredicate::eq, loadIndex(tokSeq, i), s);
              return {select(mine, arith::MinSIOp::create(*b, loc, acc[0], loadIndex(tokFirst, i)),
                             acc[0]),
                      select(mine, arith::MaxSIOp::create(*b, loc, acc[1], loadIndex(tokLast, i)),
                             acc[1])};
            });
        Value kFirst = range[0], kLast = range[1];
        Value numKeys =
            arith::MaxSIOp::create(*b, loc, sub(add(kLast, kb->idx(1)), kFirst), kb->idx(0));
        Value numTiles = div(add(numKeys, kb->idx(keyTile - 1)), keyTile);
        Value any = cmp(arith::CmpIPredicate::ugt, numTiles, kb->idx(0));
        // Does this warp's m tile (query vectors 16 mTile .. +16) hold a token of s? Not in
        // decode, mostly: one token per sequence leaves the other tile's warps idle.
        Value vFirst = mul(mTile, kb->idx(16));
        Value none = arith::ConstantOp::create(*b, loc, b->getBoolAttr(false));
        Value active = kb->forRangeCarried(
            kb->idx(0), kb->idx(tokens), kb->idx(1), ValueRange{none},
            [&](Value i, ValueRange acc) -> SmallVector<Value> {
              Value v0 = mul(i, kb->idx(group));
              Value overlaps = both(cmp(arith::CmpIPredicate::ult, v0, add(vFirst, kb->idx(16))),
                                    cmp(arith::CmpIPredicate::ugt, add(v0, kb->idx(group)), vFirst));
              Value mine = both(overlaps, cmp(arith::CmpIPredicate::eq, loadIndex(tokSeq, i), s));
              return {arith::OrIOp::create(*b, loc, acc[0], mine)};
            })[0];
        kb->ifThen(any, [&] { stageTile(kTile, kcPtr, kFirst, kLast, s); });
        cpAsyncCommit(*b, loc);
        kb->ifThen(any, [&] { stageTile(vTile, vcPtr, kFirst, kLast, s); });
        cpAsyncCommit(*b, loc);
        return kb->forRangeCarried(kb->idx(0), numTiles, kb->idx(1), carried,
                                   [&](Value j, ValueRange c) -> SmallVector<Value> {
                                     return keyTileStep(s, kFirst, kLast, numTiles, active, j, c);
                                   });
      });

  // O / l, for real vectors and head-dim columns.
  Value sum[2] = {quadReduce(final[2], false), quadReduce(final[3], false)};
  for (int64_t n = 0; n < paddedHd / 16; ++n)
    for (int64_t i = 0; i < 4; ++i) {
      const QueryVector &r = rows[i >> 1];
      Value col = add(dBase, add(mul(t, kb->idx(2)), kb->idx(8 * n + (i & 1))));
      Value ok = both(cmp(arith::CmpIPredicate::sge, r.seq, kb->idx(0)),
                      cmp(arith::CmpIPredicate::ult, col, kb->idx(hd)));
      kb->ifThen(ok, [&] {
        kb->storeF32(arith::DivFOp::create(*b, loc, final[4 + 4 * n + i], sum[i >> 1]), out,
                     add(r.base, col));
      });
    }
  builder.finish();
  std::vector<SymExpr> qDims = dims(op.getQuery());
  std::vector<SymExpr> tables =
      op.isSegmented() ? std::vector<SymExpr>{dims(op.getKeyCache())[0], SymExpr(1)}
      : op.isVarlen()  ? std::vector<SymExpr>{dims(op.getSegments())[0], SymExpr(1)}
                       : dims(op.getBlockTable());
  LaunchInfo launch{SymExpr::ceilDiv(qDims[0], tokens) * kvHeads, {tables[0], tables[1], qDims[0]}};
  launch.block = {numThreads, 1, 1};
  return launch;
}

} // namespace

FailureOr<LaunchInfo> emitGpuAttentionKernel(gpu::GPUModuleOp module, StringRef name,
                                             DispatchRegionOp region, const DispatchSignature &sig,
                                             const DimsOf &dims) {
  return FlashAttentionEmitter(module, name, region, sig, dims).emit();
}

} // namespace mvc
