//===- GpuAttentionKernel.cpp - paged attention and KV writes for the gpu -===//
//
// Attention: one block (4 warps) per (query token, KV head), as the cpu kernel: the query
// heads sharing the KV head are processed together so each key and value row is read once.
// Keys go in tiles of 32 with an online softmax. Per tile: the page-table lookups of its
// keys (shared), the scores (one warp per (head, key) dot product, shuffle-reduced), the
// running max and correction, the probabilities (shared), then every thread folds the V
// rows into the accumulators it owns (registers). Masks are the cpu kernel's: one key
// interval per token (causal, sliding window, widened to the token's group span when
// group_spans is given), ragged batch via row offsets.
// KV write: one block per token, its threads copying the row into the cache slot.
//
//===----------------------------------------------------------------------===//
#include "compiler/Codegen/CUDA/GpuKernels.h"

using namespace mlir;

namespace mvc {
namespace {

constexpr int64_t kKeyTile = 32, kAttentionThreads = 128;

Type elemOf(Value v) { return cast<RankedTensorType>(v.getType()).getElementType(); }

struct TokenPlace {
  Value seq, pos;
};

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

/// values[i] for a dynamic i < values.size().
Value pick(OpBuilder &b, Location loc, ArrayRef<Value> values, Value i) {
  Value v = values.back();
  for (int64_t h = int64_t(values.size()) - 2; h >= 0; --h) {
    Value is = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, i,
                                       b.create<arith::ConstantIndexOp>(loc, h));
    v = b.create<arith::SelectOp>(loc, is, values[h], v);
  }
  return v;
}

} // namespace

FailureOr<LaunchInfo> emitGpuAttentionKernel(gpu::GPUModuleOp module, StringRef name,
                                             DispatchRegionOp region, const DispatchSignature &sig,
                                             const DimsOf &dims) {
  auto op = cast<AttentionOp>(region.getBody().front().front());
  auto qType = op.getQuery().getType();
  auto cacheType = op.getKeyCache().getType();
  int64_t heads = qType.getDimSize(1), hd = qType.getDimSize(2);
  int64_t pageSize = cacheType.getDimSize(1), kvHeads = cacheType.getDimSize(2);
  int64_t group = heads / kvHeads;
  float scale = op.getScale().convertToFloat(), softcap = op.getSoftcap().convertToFloat();
  int64_t window = op.getSlidingWindow();

  GpuKernelBuilder kb(module, name, sig.operands.size() + sig.results.size(), 2, kAttentionThreads);
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  auto add = [&](Value x, Value y) -> Value { return b.create<arith::AddIOp>(loc, x, y); };
  auto mul = [&](Value x, Value y) -> Value { return b.create<arith::MulIOp>(loc, x, y); };
  auto mulf = [&](Value x, Value y) -> Value { return b.create<arith::MulFOp>(loc, x, y); };
  auto sle = [&](Value x, Value y) -> Value {
    return b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sle, x, y);
  };

  Value q = kb.binding(sig.bindingOf(op.getQuery()), elemOf(op.getQuery()));
  Value kc = kb.binding(sig.bindingOf(op.getKeyCache()), elemOf(op.getKeyCache()));
  Value vc = kb.binding(sig.bindingOf(op.getValueCache()), elemOf(op.getValueCache()));
  Value bt = kb.binding(sig.bindingOf(op.getBlockTable()), b.getI32Type());
  Value ro = kb.binding(sig.bindingOf(op.getRowOffsets()), b.getI32Type());
  Value cl = kb.binding(sig.bindingOf(op.getCacheLens()), b.getI32Type());
  Value sp = op.getGroupSpans() ? kb.binding(sig.bindingOf(op.getGroupSpans()), b.getI32Type()) : Value();
  Value out = kb.binding(sig.operands.size(), elemOf(op.getResult()));
  Value batch = kb.push(0), maxPages = kb.push(1);

  int64_t rowsQ = group * hd;
  Value qRows = kb.sharedArray(rowsQ, b.getF32Type());
  Value scores = kb.sharedArray(group * kKeyTile, b.getF32Type());
  Value keyBase = kb.sharedArray(kKeyTile, b.getI64Type());

  Value t = b.create<arith::DivUIOp>(loc, kb.blockId(), kb.idx(kvHeads));
  Value g = b.create<arith::RemUIOp>(loc, kb.blockId(), kb.idx(kvHeads));
  TokenPlace place = placeToken(kb, t, ro, cl, batch);
  // The keys token t sees form one interval [kFirst, kLast]: causal (and windowed) keys,
  // widened to its bidirectional group (a contiguous span containing it), as the cpu kernel.
  // With a group, kLast may lie past the token's own position: those keys are in the cache.
  Value kLast = place.pos, kFirst = kb.idx(0);
  if (window > 0)
    kFirst = b.create<arith::MaxSIOp>(
        loc, b.create<arith::SubIOp>(loc, add(kLast, kb.idx(1)), kb.idx(window)), kb.idx(0));
  if (sp) {
    auto load = [&](int64_t i) -> Value {
      return b.create<arith::IndexCastOp>(
          loc, b.getIndexType(), b.create<memref::LoadOp>(loc, sp, add(mul(t, kb.idx(2)), kb.idx(i))));
    };
    Value start = load(0), end = load(1);
    Value inGroup = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, start, end);
    Value groupLast = b.create<arith::SubIOp>(loc, end, kb.idx(1));
    kLast = b.create<arith::SelectOp>(loc, inGroup, b.create<arith::MaxSIOp>(loc, kLast, groupLast), kLast);
    if (window > 0 && !op.getGroupWindowClip())
      kFirst = b.create<arith::SelectOp>(loc, inGroup, b.create<arith::MinSIOp>(loc, kFirst, start),
                                         kFirst);
  }
  Value qBase = mul(add(mul(t, kb.idx(heads)), mul(g, kb.idx(group))), kb.idx(hd));
  kb.forThreads(kb.idx(rowsQ), [&](Value c) {
    b.create<memref::StoreOp>(loc, kb.loadF32(q, add(qBase, c)), qRows, c);
  });
  kb.barrier();

  // Thread i owns accumulator elements i, i + 128, ... of the group's [group, hd] rows.
  int64_t owned = (rowsQ + kAttentionThreads - 1) / kAttentionThreads;
  auto ownedElem = [&](int64_t i) {
    Value e = add(kb.threadId(), kb.idx(i * kAttentionThreads));
    return b.create<arith::MinUIOp>(loc, e, kb.idx(rowsQ - 1)).getResult();
  };
  SmallVector<Value> init;
  for (int64_t h = 0; h < group; ++h) init.push_back(kb.f32(-INFINITY));
  for (int64_t h = 0; h < group; ++h) init.push_back(kb.f32(0.0f));
  for (int64_t i = 0; i < owned; ++i) init.push_back(kb.f32(0.0f));

  Value numKeys = b.create<arith::SubIOp>(loc, add(kLast, kb.idx(1)), kFirst);
  Value numTiles = b.create<arith::DivUIOp>(loc, add(numKeys, kb.idx(kKeyTile - 1)), kb.idx(kKeyTile));
  auto final = kb.forRangeCarried(
      kb.idx(0), numTiles, kb.idx(1), init, [&](Value tile, ValueRange carried) -> SmallVector<Value> {
        Value tileStart = add(kFirst, mul(tile, kb.idx(kKeyTile)));
        // Where each key of the tile lives (keys past kLast read the last key, masked below).
        kb.forThreads(kb.idx(kKeyTile), [&](Value j) {
          Value kpos = b.create<arith::MinSIOp>(loc, add(tileStart, j), kLast);
          Value base = add(cacheOffset(kb, bt, maxPages, place.seq, kpos, pageSize, kvHeads * hd),
                           mul(g, kb.idx(hd)));
          b.create<memref::StoreOp>(loc, b.create<arith::IndexCastOp>(loc, b.getI64Type(), base),
                                    keyBase, j);
        });
        kb.barrier();
        auto keyRow = [&](Value j) {
          return b.create<arith::IndexCastOp>(loc, b.getIndexType(),
                                              b.create<memref::LoadOp>(loc, keyBase, j)).getResult();
        };
        // Scores: warp w takes pairs (head, key) w, w + 4, ...; lanes split the head dim.
        kb.forRange(kb.warpId(), kb.idx(group * kKeyTile), kb.numWarps(), [&](Value p) {
          Value h = b.create<arith::DivUIOp>(loc, p, kb.idx(kKeyTile));
          Value j = b.create<arith::RemUIOp>(loc, p, kb.idx(kKeyTile));
          Value kRow = keyRow(j), qRow = mul(h, kb.idx(hd));
          Value part = kb.forRangeCarried(
              kb.laneId(), kb.idx(hd), kb.idx(kWarpSize), ValueRange{kb.f32(0.0f)},
              [&](Value d, ValueRange acc) -> SmallVector<Value> {
                Value qv = b.create<memref::LoadOp>(loc, qRows, add(qRow, d));
                return {b.create<math::FmaOp>(loc, qv, kb.loadF32(kc, add(kRow, d)), acc[0])};
              })[0];
          Value s = mulf(kb.warpReduce(part, false), kb.f32(scale));
          if (softcap > 0.0f)
            s = mulf(b.create<math::TanhOp>(loc, b.create<arith::DivFOp>(loc, s, kb.f32(softcap))),
                     kb.f32(softcap));
          Value valid = sle(add(tileStart, j), kLast);
          s = b.create<arith::SelectOp>(loc, valid, s, kb.f32(-INFINITY));
          Value lane0 = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, kb.laneId(), kb.idx(0));
          kb.ifThen(lane0, [&] { b.create<memref::StoreOp>(loc, s, scores, p); });
        });
        kb.barrier();
        // Running max and correction per head (every thread computes the same values).
        SmallVector<Value> maxes, corr;
        for (int64_t h = 0; h < group; ++h) {
          Value tileMax = kb.forRangeCarried(
              kb.idx(0), kb.idx(kKeyTile), kb.idx(1), ValueRange{kb.f32(-INFINITY)},
              [&](Value j, ValueRange acc) -> SmallVector<Value> {
                Value s = b.create<memref::LoadOp>(loc, scores, add(j, kb.idx(h * kKeyTile)));
                return {b.create<arith::MaximumFOp>(loc, acc[0], s)};
              })[0];
          maxes.push_back(b.create<arith::MaximumFOp>(loc, carried[h], tileMax));
          corr.push_back(b.create<math::ExpOp>(loc, b.create<arith::SubFOp>(loc, carried[h], maxes[h])));
        }
        kb.barrier();
        kb.forThreads(kb.idx(group * kKeyTile), [&](Value p) {
          Value h = b.create<arith::DivUIOp>(loc, p, kb.idx(kKeyTile));
          Value s = b.create<memref::LoadOp>(loc, scores, p);
          b.create<memref::StoreOp>(
              loc, b.create<math::ExpOp>(loc, b.create<arith::SubFOp>(loc, s, pick(b, loc, maxes, h))),
              scores, p);
        });
        kb.barrier();
        SmallVector<Value> next(maxes);
        for (int64_t h = 0; h < group; ++h) {
          Value pSum = kb.forRangeCarried(
              kb.idx(0), kb.idx(kKeyTile), kb.idx(1), ValueRange{kb.f32(0.0f)},
              [&](Value j, ValueRange acc) -> SmallVector<Value> {
                return {b.create<arith::AddFOp>(
                    loc, acc[0], b.create<memref::LoadOp>(loc, scores, add(j, kb.idx(h * kKeyTile))))};
              })[0];
          next.push_back(b.create<arith::AddFOp>(loc, mulf(carried[group + h], corr[h]), pSum));
        }
        for (int64_t i = 0; i < owned; ++i) {
          Value e = ownedElem(i);
          Value h = b.create<arith::DivUIOp>(loc, e, kb.idx(hd));
          Value d = b.create<arith::RemUIOp>(loc, e, kb.idx(hd));
          Value pRow = mul(h, kb.idx(kKeyTile));
          Value a = mulf(carried[2 * group + i], pick(b, loc, corr, h));
          a = kb.forRangeCarried(kb.idx(0), kb.idx(kKeyTile), kb.idx(1), ValueRange{a},
                                 [&](Value j, ValueRange acc) -> SmallVector<Value> {
                                   Value pj = b.create<memref::LoadOp>(loc, scores, add(pRow, j));
                                   Value v = kb.loadF32(vc, add(keyRow(j), d));
                                   return {b.create<math::FmaOp>(loc, pj, v, acc[0])};
                                 })[0];
          next.push_back(a);
        }
        // The next tile overwrites the keys' rows and probabilities only after this one.
        kb.barrier();
        return next;
      });
  for (int64_t i = 0; i < owned; ++i) {
    Value e = add(kb.threadId(), kb.idx(i * kAttentionThreads));
    Value inside = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, e, kb.idx(rowsQ));
    kb.ifThen(inside, [&] {
      Value h = b.create<arith::DivUIOp>(loc, e, kb.idx(hd));
      Value sum = pick(b, loc, ArrayRef<Value>(final).slice(group, group), h);
      kb.storeF32(b.create<arith::DivFOp>(loc, final[2 * group + i], sum), out, add(qBase, e));
    });
  }
  kb.finish();
  std::vector<SymExpr> qDims = dims(op.getQuery()), btDims = dims(op.getBlockTable());
  LaunchInfo launch{qDims[0] * kvHeads, {btDims[0], btDims[1]}};
  launch.block = {kAttentionThreads, 1, 1};
  return launch;
}

FailureOr<LaunchInfo> emitGpuKvWriteKernel(gpu::GPUModuleOp module, StringRef name,
                                           DispatchRegionOp region, const DispatchSignature &sig,
                                           const DimsOf &dims) {
  auto op = cast<KvWriteOp>(region.getBody().front().front());
  auto cacheType = cast<RankedTensorType>(op.getCache().getType());
  int64_t pageSize = cacheType.getDimSize(1);
  int64_t rowElems = cacheType.getDimSize(2) * cacheType.getDimSize(3);
  GpuKernelBuilder kb(module, name, sig.operands.size() + sig.results.size(), 2,
                      gpuRowBlockSize(rowElems));
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  Value values = kb.binding(sig.bindingOf(op.getValues()), elemOf(op.getValues()));
  Value bt = kb.binding(sig.bindingOf(op.getBlockTable()), b.getI32Type());
  Value ro = kb.binding(sig.bindingOf(op.getRowOffsets()), b.getI32Type());
  Value cl = kb.binding(sig.bindingOf(op.getCacheLens()), b.getI32Type());
  // The result is the cache itself: the schedule binds the state buffer here.
  Value cache = kb.binding(sig.operands.size(), cacheType.getElementType());
  Value batch = kb.push(0), maxPages = kb.push(1);
  Value t = kb.blockId();
  TokenPlace place = placeToken(kb, t, ro, cl, batch);
  Value dst = cacheOffset(kb, bt, maxPages, place.seq, place.pos, pageSize, rowElems);
  Value src = b.create<arith::MulIOp>(loc, t, kb.idx(rowElems));
  kb.forThreads(kb.idx(rowElems), [&](Value c) {
    kb.storeF32(kb.loadF32(values, b.create<arith::AddIOp>(loc, src, c)), cache,
                b.create<arith::AddIOp>(loc, dst, c));
  });
  kb.finish();
  std::vector<SymExpr> vDims = dims(op.getValues()), btDims = dims(op.getBlockTable());
  LaunchInfo launch{vDims[0], {btDims[0], btDims[1]}};
  launch.block = {kb.blockSize(), 1, 1};
  return launch;
}

} // namespace mvc
