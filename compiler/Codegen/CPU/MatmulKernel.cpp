//===- MatmulKernel.cpp - register-blocked matmul with fused epilogue ----===//
//
// y[M, N] = x[M, K] · Wᵀ with W packed offline into panels of 16 output columns
// (runtime/artifact/FORMAT.md). The region's lowering_config sizes the work: a workgroup
// owns rows_per_workgroup rows and panels_per_workgroup panels; inside it a microkernel
// keeps microkernel_rows × panels_per_workgroup 16-wide accumulators in registers over
// the whole K loop (f32 FMAs, or vdpbf16ps on bf16 pairs), then applies the fused
// elementwise epilogue and stores each region result once.
//
//===----------------------------------------------------------------------===//
#include "compiler/Codegen/CPU/Kernels.h"

#include "mlir/Dialect/X86Vector/X86VectorDialect.h"
#include "llvm/ADT/DenseMap.h"

using namespace mlir;

namespace mvc {
namespace {

constexpr int64_t kPanel = 16;  // output columns per packed panel (the weight layout)
// How far ahead of its loads a streaming microkernel prefetches its panel. Measured on the
// 270M LM head at 16 rows (2 threads, same runs): 4 KiB 12.6-13.1 ms, 8 KiB 11.4-11.6,
// 16 KiB 12.6-14.1; row tiles without the streaming kernel 13.1-15.5.
constexpr int64_t kStreamAheadBytes = 8192;

class MatmulEmitter : TemplateEmitter {
public:
  using TemplateEmitter::TemplateEmitter;

  FailureOr<LaunchInfo> emit() {
    matmul = cast<MatmulOp>(region.getBody().front().front());
    auto mr = loweringConfigValue(region, "microkernel_rows");
    auto np = loweringConfigValue(region, "panels_per_workgroup");
    auto rb = loweringConfigValue(region, "rows_per_workgroup");
    auto sb = loweringConfigValue(region, "small_batch_rows");
    if (failed(mr) || failed(np) || failed(rb) || failed(sb)) return failure();
    kSmallBatch = *sb;
    kMr = *mr;
    kPanelsPerBlock = *np;
    kRowBlock = *rb;
    auto lhsType = cast<RankedTensorType>(matmul.getLhs().getType());
    auto rhsType = cast<RankedTensorType>(matmul.getRhs().getType());
    if (!matmul.getRhs().getDefiningOp<WeightOp>() &&
        !matmul.getRhs().getDefiningOp<arith::ConstantOp>())
      return matmul.emitError("cpu matmul kernels need a weight or constant (packed offline) as rhs");
    k = lhsType.getDimSize(1);
    n = matmul.getType().getDimSize(1);
    bf16 = rhsType.getElementType().isBF16();
    if (bf16 && k % 2)
      return matmul.emitError("bf16 matmul needs an even contraction size, got ") << k;
    if (!rhsType.getElementType().isF32() && !bf16)
      return matmul.emitError("cpu matmul supports f32 and bf16 weights");
    panels = (n + kPanel - 1) / kPanel;
    int64_t blocks = (panels + kPanelsPerBlock - 1) / kPanelsPerBlock;

    lhs = kb.binding(sig.bindingOf(matmul.getLhs()), lhsType.getElementType());
    rhs = kb.binding(sig.bindingOf(matmul.getRhs()), rhsType.getElementType());
    m = kb.push(0);
    Value mb = b.create<arith::DivUIOp>(loc, kb.workgroupId(), kb.idx(blocks));
    Value nb = b.create<arith::RemUIOp>(loc, kb.workgroupId(), kb.idx(blocks));
    Value m0 = b.create<arith::MulIOp>(loc, mb, kb.idx(kRowBlock));
    Value m1 = b.create<arith::MinUIOp>(loc, b.create<arith::AddIOp>(loc, m0, kb.idx(kRowBlock)), m);
    Value p0 = b.create<arith::MulIOp>(loc, nb, kb.idx(kPanelsPerBlock));
    Value p1 = b.create<arith::MinUIOp>(loc, b.create<arith::AddIOp>(loc, p0, kb.idx(kPanelsPerBlock)),
                                        kb.idx(panels));
    if (bf16 && kb.target().bf16Dot) packLhsPairs(m0, m1);
    rowBase = m0;
    Value rowsHere = b.create<arith::SubIOp>(loc, m1, m0);
    // A small batch (more rows than one tile, at most small_batch_rows) takes every row in
    // one microkernel per panel: each weight row is loaded once and used by all rows while
    // the next is streaming in. Tiles of kMr rows over a block of panels would stream the
    // block from memory in the first tile and only compute in the others.
    {
      OpBuilder::InsertionGuard guard(b);
      if (kSmallBatch > kMr) {
        Value small = b.create<arith::AndIOp>(
            loc, b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ugt, rowsHere, kb.idx(kMr)),
            b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ule, rowsHere, kb.idx(kSmallBatch)));
        auto ifOp = b.create<scf::IfOp>(loc, small, /*withElseRegion=*/true);
        b.setInsertionPointToStart(&ifOp.getThenRegion().front());
        SmallVector<int64_t> rows;
        for (int64_t r = kMr + 1; r <= kSmallBatch; ++r) rows.push_back(r);
        emitRowSwitch(rowsHere, rows, [&](int64_t r) {
          streaming = true;
          kb.forRange(p0, p1, 1, [&](Value p) { emitMicroKernel(m0, r, p, 1); });
          streaming = false;
        });
        b.setInsertionPointToStart(&ifOp.getElseRegion().front());
      }
      emitRowTiles(m0, m1, rowsHere, p0, p1);
    }
    kb.finish();
    SymExpr mExpr = dims(matmul.getLhs())[0];
    return LaunchInfo{SymExpr::ceilDiv(mExpr, kRowBlock) * blocks, {mExpr}};
  }

private:
  /// One case per static row count in `rows`, selected by `count` at run time.
  void emitRowSwitch(Value count, ArrayRef<int64_t> rows, llvm::function_ref<void(int64_t)> body) {
    auto sw = b.create<scf::IndexSwitchOp>(loc, TypeRange{}, count, rows, rows.size());
    OpBuilder::InsertionGuard guard(b);
    b.createBlock(&sw.getDefaultRegion());
    b.create<scf::YieldOp>(loc);
    for (auto [i, r] : llvm::enumerate(rows)) {
      b.createBlock(&sw.getCaseRegions()[i]);
      body(r);
      b.create<scf::YieldOp>(loc);
    }
  }

  /// Rows [m0, m1) in tiles of kMr rows over the workgroup's panels, then the leftover rows.
  void emitRowTiles(Value m0, Value m1, Value rowsHere, Value p0, Value p1) {
    Value mMain = b.create<arith::AddIOp>(
        loc, m0, b.create<arith::MulIOp>(loc, b.create<arith::DivUIOp>(loc, rowsHere, kb.idx(kMr)),
                                         kb.idx(kMr)));
    kb.forRange(m0, mMain, kMr, [&](Value row) { emitPanels(row, kMr, p0, p1); });
    // The leftover rows (fewer than a tile) in one microkernel of exactly that many rows,
    // so every row shares each weight load: small batches read the weights once.
    Value leftover = b.create<arith::SubIOp>(loc, m1, mMain);
    SmallVector<int64_t> cases;
    for (int64_t r = 1; r < kMr; ++r) cases.push_back(r);
    emitRowSwitch(leftover, cases, [&](int64_t r) { emitPanels(mMain, r, p0, p1); });
  }

  /// A full block of panels in one microkernel, else one panel at a time.
  void emitPanels(Value row, int64_t mr, Value p0, Value p1) {
    Value full = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq,
                                         b.create<arith::SubIOp>(loc, p1, p0),
                                         kb.idx(kPanelsPerBlock));
    auto ifOp = b.create<scf::IfOp>(loc, full, /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&ifOp.getThenRegion().front());
      emitMicroKernel(row, mr, p0, kPanelsPerBlock);
      b.setInsertionPointToStart(&ifOp.getElseRegion().front());
      kb.forRange(p0, p1, 1, [&](Value p) { emitMicroKernel(row, mr, p, 1); });
    }
  }

  VectorType accType() { return VectorType::get({kPanel}, b.getF32Type()); }

  void emitMicroKernel(Value row, int64_t mr, Value panel, int64_t np) {
    // Few accumulators (single rows, single panels) would serialize on the FMA latency:
    // keep `split` independent sets over interleaved k steps and add them at the end.
    int64_t tile = mr * np;
    int64_t split = tile >= 8 ? 1 : std::min<int64_t>(4, 8 / tile);
    int64_t steps = bf16 ? k / 2 : k;
    Value zero = b.create<arith::ConstantOp>(loc, DenseElementsAttr::get(accType(), 0.0f));
    auto step = [&](Value kk, ArrayRef<Value> acc) {
      return bf16 ? bf16Step(row, mr, panel, np, kk, acc) : f32Step(row, mr, panel, np, kk, acc);
    };
    SmallVector<Value> init(tile * split, zero);
    auto loop = b.create<scf::ForOp>(loc, kb.idx(0), kb.idx(steps / split * split), kb.idx(split), init);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      SmallVector<Value> acc(loop.getRegionIterArgs().begin(), loop.getRegionIterArgs().end());
      SmallVector<Value> next;
      for (int64_t s = 0; s < split; ++s) {
        Value kk = b.create<arith::AddIOp>(loc, loop.getInductionVar(), kb.idx(s));
        next.append(step(kk, ArrayRef<Value>(acc).slice(s * tile, tile)));
      }
      b.create<scf::YieldOp>(loc, next);
    }
    SmallVector<Value> sums(loop.getResults().begin(), loop.getResults().begin() + tile);
    for (int64_t s = 1; s < split; ++s)
      for (int64_t t = 0; t < tile; ++t)
        sums[t] = b.create<arith::AddFOp>(loc, sums[t], loop.getResult(s * tile + t));
    if (steps % split) {
      auto rest = b.create<scf::ForOp>(loc, kb.idx(steps / split * split), kb.idx(steps), kb.idx(1), sums);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(rest.getBody());
      SmallVector<Value> acc(rest.getRegionIterArgs().begin(), rest.getRegionIterArgs().end());
      b.create<scf::YieldOp>(loc, step(rest.getInductionVar(), acc));
      b.setInsertionPointAfter(rest);
      sums.assign(rest.getResults().begin(), rest.getResults().end());
    }
    for (int64_t i = 0; i < mr; ++i)
      for (int64_t j = 0; j < np; ++j)
        emitEpilogue(b.create<arith::AddIOp>(loc, row, kb.idx(i)),
                     b.create<arith::AddIOp>(loc, panel, kb.idx(j)), sums[i * np + j]);
  }

  /// vdpbf16ps takes the activation as bf16 pairs broadcast to every lane: convert this
  /// workgroup's rows once into a stack buffer of pairs (one i32 each), so the microkernel
  /// broadcasts them straight from memory instead of converting per panel.
  void packLhsPairs(Value m0, Value m1) {
    int64_t pairs = k / 2;
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&kb.func().getBody().front());
      lhsPairs = b.create<memref::AllocaOp>(loc, MemRefType::get({kRowBlock * pairs}, b.getI32Type()));
    }
    auto lhsElem = cast<MemRefType>(lhs.getType()).getElementType();
    kb.forRange(m0, m1, 1, [&](Value row) {
      Value src = b.create<arith::MulIOp>(loc, row, kb.idx(k));
      Value dst = b.create<arith::MulIOp>(loc, b.create<arith::SubIOp>(loc, row, m0), kb.idx(pairs));
      auto packChunk = [&](Value p, int64_t width) {
        Value at = b.create<arith::AddIOp>(loc, src, b.create<arith::MulIOp>(loc, p, kb.idx(2)));
        Value x = b.create<vector::LoadOp>(loc, VectorType::get({2 * width}, lhsElem), lhs, at);
        if (!lhsElem.isBF16())
          x = b.create<arith::TruncFOp>(loc, VectorType::get({2 * width}, b.getBF16Type()), x);
        Value words = b.create<vector::BitCastOp>(loc, VectorType::get({width}, b.getI32Type()), x);
        b.create<vector::StoreOp>(loc, words, lhsPairs,
                                  ValueRange{b.create<arith::AddIOp>(loc, dst, p)});
      };
      int64_t main = pairs / kPanel * kPanel;
      if (main) kb.forRange(kb.idx(0), kb.idx(main), kPanel, [&](Value p) { packChunk(p, kPanel); });
      if (main < pairs) kb.forRange(kb.idx(main), kb.idx(pairs), 1, [&](Value p) { packChunk(p, 1); });
    });
  }

  Value lhsIndex(Value row, int64_t i, Value kIndex) {
    Value r = b.create<arith::AddIOp>(loc, row, kb.idx(i));
    return b.create<arith::AddIOp>(loc, b.create<arith::MulIOp>(loc, r, kb.idx(k)), kIndex);
  }

  SmallVector<Value> f32Step(Value row, int64_t mr, Value panel, int64_t np, Value kk,
                             ArrayRef<Value> acc) {
    SmallVector<Value> bv, next(acc.begin(), acc.end());
    for (int64_t j = 0; j < np; ++j) {
      Value p = b.create<arith::AddIOp>(loc, panel, kb.idx(j));
      Value off = b.create<arith::AddIOp>(
          loc, b.create<arith::MulIOp>(loc, p, kb.idx(k * kPanel)),
          b.create<arith::MulIOp>(loc, kk, kb.idx(kPanel)));
      bv.push_back(loadWeights(accType(), off));
    }
    for (int64_t i = 0; i < mr; ++i) {
      Value a = kb.loadF32(lhs, lhsIndex(row, i, kk), 0);
      Value av = b.create<vector::BroadcastOp>(loc, accType(), a);
      for (int64_t j = 0; j < np; ++j)
        next[i * np + j] = b.create<vector::FMAOp>(loc, av, bv[j], acc[i * np + j]);
    }
    return next;
  }

  /// One step's 16 columns of a weight panel at element `off`. A streaming microkernel
  /// (one panel, small batch) also prefetches kStreamAheadBytes ahead: it reads one cache
  /// line per step, one stream per thread, which the hardware prefetcher alone keeps too
  /// few lines ahead of. The address
  /// is clamped to the last weight, so it never leaves the buffer.
  Value loadWeights(VectorType type, Value off) {
    Value v = b.create<vector::LoadOp>(loc, type, rhs, off);
    if (streaming) {
      int64_t elemBytes = bf16 ? 2 : 4;
      Value ahead = b.create<arith::MinUIOp>(
          loc, b.create<arith::AddIOp>(loc, off, kb.idx(kStreamAheadBytes / elemBytes)),
          kb.idx(panels * k * kPanel - 1));
      b.create<memref::PrefetchOp>(loc, rhs, ValueRange{ahead}, /*isWrite=*/false,
                                   /*localityHint=*/3, /*isDataCache=*/true);
    }
    return v;
  }

  /// One pair of k: vdpbf16ps where the CPU has it, else two f32 FMAs on widened bf16.
  SmallVector<Value> bf16Step(Value row, int64_t mr, Value panel, int64_t np, Value kk,
                              ArrayRef<Value> acc) {
    auto bf16x32 = VectorType::get({2 * kPanel}, b.getBF16Type());
    auto i32x16 = VectorType::get({kPanel}, b.getI32Type());
    SmallVector<Value> bv, next(acc.begin(), acc.end());
    for (int64_t j = 0; j < np; ++j) {
      Value p = b.create<arith::AddIOp>(loc, panel, kb.idx(j));
      Value off = b.create<arith::AddIOp>(
          loc, b.create<arith::MulIOp>(loc, p, kb.idx(k * kPanel)),
          b.create<arith::MulIOp>(loc, kk, kb.idx(2 * kPanel)));
      bv.push_back(loadWeights(bf16x32, off));
    }
    Value k2 = b.create<arith::MulIOp>(loc, kk, kb.idx(2));
    for (int64_t i = 0; i < mr; ++i) {
      Value idx = lhsIndex(row, i, k2);
      if (kb.target().bf16Dot) {
        Value r = b.create<arith::SubIOp>(loc, b.create<arith::AddIOp>(loc, row, kb.idx(i)), rowBase);
        Value scalar = b.create<memref::LoadOp>(
            loc, lhsPairs,
            ValueRange{b.create<arith::AddIOp>(loc, b.create<arith::MulIOp>(loc, r, kb.idx(k / 2)), kk)});
        Value av = b.create<vector::BitCastOp>(
            loc, bf16x32, b.create<vector::BroadcastOp>(loc, i32x16, scalar));
        // The broadcast last: with one panel it is used once, and vdpbf16ps takes it from
        // memory ({1to16}) instead of a separate vbroadcastss.
        for (int64_t j = 0; j < np; ++j)
          next[i * np + j] = b.create<x86vector::DotBF16Op>(loc, acc[i * np + j], bv[j], av);
        continue;
      }
      // Same semantics as vdpbf16ps: the activation is rounded to bf16 too.
      auto roundBf16 = [&](Value x) -> Value {
        Value t = b.create<arith::TruncFOp>(loc, b.getBF16Type(), x);
        return b.create<arith::ExtFOp>(loc, b.getF32Type(), t);
      };
      Value a0 = b.create<vector::BroadcastOp>(loc, accType(), roundBf16(kb.loadF32(lhs, idx, 0)));
      Value a1 = b.create<vector::BroadcastOp>(
          loc, accType(),
          roundBf16(kb.loadF32(lhs, b.create<arith::AddIOp>(loc, idx, kb.idx(1)), 0)));
      for (int64_t j = 0; j < np; ++j) {
        Value words = b.create<vector::BitCastOp>(loc, i32x16, bv[j]);
        Value sixteen = b.create<arith::ConstantOp>(loc, DenseElementsAttr::get(i32x16, int32_t(16)));
        Value himask = b.create<arith::ConstantOp>(
            loc, DenseElementsAttr::get(i32x16, int32_t(0xffff0000u)));
        Value even = b.create<vector::BitCastOp>(loc, accType(),
                                                 b.create<arith::ShLIOp>(loc, words, sixteen));
        Value odd = b.create<vector::BitCastOp>(loc, accType(),
                                                b.create<arith::AndIOp>(loc, words, himask));
        Value s = b.create<vector::FMAOp>(loc, a0, even, acc[i * np + j]);
        next[i * np + j] = b.create<vector::FMAOp>(loc, a1, odd, s);
      }
    }
    return next;
  }

  /// Applies the fused elementwise ops to one 16-column tile and stores region results.
  void emitEpilogue(Value row, Value panel, Value acc) {
    Value col = b.create<arith::MulIOp>(loc, panel, kb.idx(kPanel));
    Value at = b.create<arith::AddIOp>(loc, b.create<arith::MulIOp>(loc, row, kb.idx(n)), col);
    // A partial last panel is read and written under a mask.
    Value mask;
    if (n % kPanel) {
      Value valid = b.create<arith::MinSIOp>(loc, b.create<arith::SubIOp>(loc, kb.idx(n), col),
                                             kb.idx(kPanel));
      mask = b.create<vector::CreateMaskOp>(loc, VectorType::get({kPanel}, b.getI1Type()),
                                            ValueRange{valid});
    }
    llvm::DenseMap<Value, Value> tile;
    tile[matmul.getResult()] = acc;
    auto load = [&](Value v) -> Value {
      if (auto it = tile.find(v); it != tile.end()) return it->second;
      auto type = cast<RankedTensorType>(v.getType());
      Value mem = kb.binding(sig.bindingOf(v), type.getElementType());
      Value index = type.getRank() == 1 ? col : at;
      auto vt = VectorType::get({kPanel}, type.getElementType());
      Value x;
      if (mask) {
        Value pass = b.create<arith::ConstantOp>(loc, DenseElementsAttr::get(
                                                          vt, b.getZeroAttr(type.getElementType())));
        x = b.create<vector::MaskedLoadOp>(loc, vt, mem, ValueRange{index}, mask, pass);
      } else {
        x = b.create<vector::LoadOp>(loc, vt, mem, index);
      }
      if (!type.getElementType().isF32()) x = b.create<arith::ExtFOp>(loc, accType(), x);
      return x;
    };
    for (Operation &op : region.getBody().front().without_terminator()) {
      if (&op == matmul.getOperation()) continue;
      SmallVector<Value> args;
      for (Value operand : op.getOperands()) args.push_back(load(operand));
      tile[op.getResult(0)] = emitElementwise(kb, &op, args);
    }
    auto yield = cast<YieldOp>(region.getBody().front().getTerminator());
    for (auto [i, v] : llvm::enumerate(yield.getValues())) {
      auto type = cast<RankedTensorType>(v.getType());
      Value mem = kb.binding(sig.operands.size() + i, type.getElementType());
      Value x = tile[v];
      if (!type.getElementType().isF32())
        x = b.create<arith::TruncFOp>(loc, VectorType::get({kPanel}, type.getElementType()), x);
      if (mask)
        b.create<vector::MaskedStoreOp>(loc, mem, ValueRange{at}, mask, x);
      else
        b.create<vector::StoreOp>(loc, x, mem, at);
    }
  }

  MatmulOp matmul;
  int64_t k = 0, n = 0, panels = 0;
  int64_t kMr = 0, kPanelsPerBlock = 0, kRowBlock = 0, kSmallBatch = 0;  // from lowering_config
  bool bf16 = false;
  bool streaming = false;  // emitting the small-batch microkernel (prefetches its panel)
  Value lhs, rhs, m;
  Value lhsPairs, rowBase;  // bf16 pairs of this workgroup's rows (vdpbf16ps path)
};

} // namespace

FailureOr<LaunchInfo> emitMatmulKernel(KernelBuilder &kb, DispatchRegionOp region,
                                       const DispatchSignature &sig, const DimsOf &dims) {
  return MatmulEmitter(kb, region, sig, dims).emit();
}

} // namespace mvc
