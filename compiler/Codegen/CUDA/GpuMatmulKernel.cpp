//===- GpuMatmulKernel.cpp - tensor-core matmul with fused epilogue (gpu) -===//
//
// y[M, N] = x[M, K] · Wᵀ (W row_major [N, K], `transpose_b`) or x · W (W [K, N]) on the
// tensor cores with mma.sync (sm_80+):
//   - bf16 weights: m16n8k16 bf16 × bf16 → f32; x is rounded to bf16 as the cpu kernel's
//     vdpbf16ps path rounds it;
//   - f32 weights: 3xTF32 on m16n8k8 (each operand split into a tf32 "big" part and the
//     tf32 of the remainder; big·big + big·small + small·big), about f32 accuracy, so the
//     f32 goldens keep their tolerance.
// A block (4 warps) owns a 64×64 tile of y; each warp a 32×32 quarter (2×4 mma tiles of
// 16×8 f32 accumulators in registers). K goes in steps of 32: both operand tiles are staged
// through shared memory (f32, zero-filled past the edges, rows padded against bank
// conflicts), then every warp reads its fragments from there. The region's elementwise ops
// are applied to each accumulator element and each region result is stored once.
//
//===----------------------------------------------------------------------===//
#include "compiler/Codegen/CUDA/GpuKernels.h"
#include "compiler/Codegen/CUDA/GpuMma.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "llvm/ADT/DenseMap.h"

using namespace mlir;

namespace mvc {
namespace {

constexpr int64_t kTileM = 64, kTileN = 64, kTileK = 32, kThreads = 128;
constexpr int64_t kWarpTileM = 32, kWarpTileN = 32, kMmaM = 16, kMmaN = 8;
constexpr int64_t kStride = kTileK + 4; // shared-memory row stride (floats)

class GpuMatmulEmitter {
public:
  GpuMatmulEmitter(gpu::GPUModuleOp module, StringRef name, DispatchRegionOp region,
                   const DispatchSignature &sig, const DimsOf &dims)
      : module(module), name(name), region(region), sig(sig), dims(dims) {}

  FailureOr<LaunchInfo> emit() {
    matmul = cast<MatmulOp>(region.getBody().front().front());
    auto lhsType = cast<RankedTensorType>(matmul.getLhs().getType());
    auto rhsType = cast<RankedTensorType>(matmul.getRhs().getType());
    if (lhsType.isDynamicDim(1) || !rhsType.hasStaticShape())
      return matmul.emitError("gpu matmul needs static K and a static rhs");
    bf16 = rhsType.getElementType().isBF16();
    if (!bf16 && !rhsType.getElementType().isF32())
      return matmul.emitError("gpu matmul supports f32 and bf16 weights");
    k = lhsType.getDimSize(1);
    n = matmul.getType().getDimSize(1);
    transposed = matmul.getTransposeB();
    int64_t nBlocks = (n + kTileN - 1) / kTileN;

    GpuKernelBuilder builder(module, name, sig.operands.size() + sig.results.size(), 1, kThreads);
    kb = &builder;
    b = &builder.b();
    loc = builder.loc();
    Value lhs = builder.binding(sig.bindingOf(matmul.getLhs()), lhsType.getElementType());
    Value rhs = builder.binding(sig.bindingOf(matmul.getRhs()), rhsType.getElementType());
    m = builder.push(0);
    aTile = builder.sharedArray(kTileM * kStride, b->getF32Type());
    bTile = builder.sharedArray(kTileN * kStride, b->getF32Type());
    Value m0 = mul(div(builder.blockId(), nBlocks), kb->idx(kTileM));
    Value n0 = mul(b->create<arith::RemUIOp>(loc, builder.blockId(), kb->idx(nBlocks)), kb->idx(kTileN));
    Value warp = builder.warpId(), lane = builder.laneId();
    warpRow = mul(div(warp, 2), kb->idx(kWarpTileM));
    warpCol = mul(b->create<arith::RemUIOp>(loc, warp, kb->idx(2)), kb->idx(kWarpTileN));
    group = div(lane, 4);
    inGroup = b->create<arith::RemUIOp>(loc, lane, kb->idx(4));

    SmallVector<Value> init(kAccs * 4, builder.f32(0.0f));
    auto acc = builder.forRangeCarried(
        kb->idx(0), kb->idx(k), kb->idx(kTileK), init,
        [&](Value k0, ValueRange carried) -> SmallVector<Value> {
          stage(lhs, rhs, m0, n0, k0);
          builder.barrier();
          SmallVector<Value> next(carried.begin(), carried.end());
          int64_t kStep = bf16 ? 16 : 8;
          for (int64_t ks = 0; ks < kTileK; ks += kStep) {
            if (bf16)
              bf16Step(ks, next);
            else
              tf32Step(ks, next);
          }
          // The tiles are overwritten by the next step only after every warp read them.
          builder.barrier();
          return next;
        });

    // Accumulator (mi, ni, r): row g (+8 for r >= 2), column 2t + (r & 1) of its 16×8 tile.
    for (int64_t mi = 0; mi < kWarpTileM / kMmaM; ++mi)
      for (int64_t ni = 0; ni < kWarpTileN / kMmaN; ++ni)
        for (int64_t r = 0; r < 4; ++r) {
          Value row = add(m0, add(warpRow, add(group, kb->idx(mi * kMmaM + (r >= 2 ? 8 : 0)))));
          Value col = add(n0, add(warpCol, add(mul(inGroup, kb->idx(2)), kb->idx(ni * kMmaN + (r & 1)))));
          Value value = acc[(mi * (kWarpTileN / kMmaN) + ni) * 4 + r];
          builder.ifThen(both(lt(row, m), lt(col, kb->idx(n))), [&] { emitEpilogue(row, col, value); });
        }
    builder.finish();
    SymExpr mExpr = dims(matmul.getLhs())[0];
    LaunchInfo launch{SymExpr::ceilDiv(mExpr, kTileM) * nBlocks, {mExpr}};
    launch.block = {kThreads, 1, 1};
    return launch;
  }

private:
  static constexpr int64_t kAccs = (kWarpTileM / kMmaM) * (kWarpTileN / kMmaN);

  Value add(Value x, Value y) { return b->create<arith::AddIOp>(loc, x, y); }
  Value mul(Value x, Value y) { return b->create<arith::MulIOp>(loc, x, y); }
  Value div(Value x, int64_t d) { return b->create<arith::DivUIOp>(loc, x, kb->idx(d)); }
  Value lt(Value x, Value y) { return b->create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, x, y); }
  Value both(Value x, Value y) { return b->create<arith::AndIOp>(loc, x, y); }
  /// min(x, bound - 1): an address that is always inside the matrix.
  Value clamp(Value x, Value bound) {
    return b->create<arith::MinUIOp>(loc, x, b->create<arith::SubIOp>(loc, bound, kb->idx(1)));
  }

  /// Copies x[m0:+64, k0:+32] and W's [n0:+64, k0:+32] into shared memory ([row][k], f32).
  void stage(Value lhs, Value rhs, Value m0, Value n0, Value k0) {
    for (int64_t i = 0; i < kTileM * kTileK / kThreads; ++i) {
      Value e = add(kb->threadId(), kb->idx(i * kThreads));
      Value r = div(e, kTileK), kk = b->create<arith::RemUIOp>(loc, e, kb->idx(kTileK));
      Value row = add(m0, r), kAt = add(k0, kk);
      Value ok = both(lt(row, m), lt(kAt, kb->idx(k)));
      Value at = add(mul(clamp(row, m), kb->idx(k)), clamp(kAt, kb->idx(k)));
      Value v = b->create<arith::SelectOp>(loc, ok, kb->loadF32(lhs, at), kb->f32(0.0f));
      b->create<memref::StoreOp>(loc, v, aTile, add(mul(r, kb->idx(kStride)), kk));
    }
    for (int64_t i = 0; i < kTileN * kTileK / kThreads; ++i) {
      Value e = add(kb->threadId(), kb->idx(i * kThreads));
      // Consecutive threads read consecutive elements of W's rows.
      Value c, kk;
      if (transposed) {
        c = div(e, kTileK);
        kk = b->create<arith::RemUIOp>(loc, e, kb->idx(kTileK));
      } else {
        c = b->create<arith::RemUIOp>(loc, e, kb->idx(kTileN));
        kk = div(e, kTileN);
      }
      Value col = add(n0, c), kAt = add(k0, kk);
      Value ok = both(lt(col, kb->idx(n)), lt(kAt, kb->idx(k)));
      Value cc = clamp(col, kb->idx(n)), kc = clamp(kAt, kb->idx(k));
      Value at = transposed ? add(mul(cc, kb->idx(k)), kc) : add(mul(kc, kb->idx(n)), cc);
      Value v = b->create<arith::SelectOp>(loc, ok, kb->loadF32(rhs, at), kb->f32(0.0f));
      b->create<memref::StoreOp>(loc, v, bTile, add(mul(c, kb->idx(kStride)), kk));
    }
  }

  Value tileAt(Value tile, Value row, int64_t rowOffset, Value col, int64_t colOffset) {
    Value at = add(mul(add(row, kb->idx(rowOffset)), kb->idx(kStride)), add(col, kb->idx(colOffset)));
    return b->create<memref::LoadOp>(loc, tile, at);
  }

  /// One k16 step: fragments per the PTX ISA's m16n8k16 .bf16 layout (g = lane / 4,
  /// t = lane % 4): A regs {(g, 2t), (g+8, 2t), (g, 2t+8), (g+8, 2t+8)}, B regs
  /// {(k=2t, n=g), (k=2t+8, n=g)}, each a pair of consecutive k.
  void bf16Step(int64_t ks, SmallVector<Value> &acc) {
    Value k2 = mul(inGroup, kb->idx(2));
    SmallVector<SmallVector<Value>> aFrags, bFrags;
    for (int64_t mi = 0; mi < kWarpTileM / kMmaM; ++mi) {
      Value row = add(warpRow, add(group, kb->idx(mi * kMmaM)));
      SmallVector<Value> a;
      for (auto [dr, dk] : {std::pair<int64_t, int64_t>{0, 0}, {8, 0}, {0, 8}, {8, 8}})
        a.push_back(packBf16(*b, loc, tileAt(aTile, row, dr, k2, ks + dk), tileAt(aTile, row, dr, k2, ks + dk + 1)));
      aFrags.push_back(a);
    }
    for (int64_t ni = 0; ni < kWarpTileN / kMmaN; ++ni) {
      Value col = add(warpCol, add(group, kb->idx(ni * kMmaN)));
      SmallVector<Value> bf;
      for (int64_t dk : {0, 8})
        bf.push_back(packBf16(*b, loc, tileAt(bTile, col, 0, k2, ks + dk), tileAt(bTile, col, 0, k2, ks + dk + 1)));
      bFrags.push_back(bf);
    }
    for (int64_t mi = 0; mi < kWarpTileM / kMmaM; ++mi)
      for (int64_t ni = 0; ni < kWarpTileN / kMmaN; ++ni)
        mmaSync(*b, loc, aFrags[mi], bFrags[ni],
                MutableArrayRef<Value>(acc).slice((mi * (kWarpTileN / kMmaN) + ni) * 4, 4),
                NVVM::MMATypes::bf16);
  }

  /// One k8 step in 3xTF32: fragments per the m16n8k8 .tf32 layout: A regs {(g, t),
  /// (g+8, t), (g, t+4), (g+8, t+4)}, B regs {(k=t, n=g), (k=t+4, n=g)}.
  void tf32Step(int64_t ks, SmallVector<Value> &acc) {
    SmallVector<SmallVector<Value>> aBig, aSmall, bBig, bSmall;
    for (int64_t mi = 0; mi < kWarpTileM / kMmaM; ++mi) {
      Value row = add(warpRow, add(group, kb->idx(mi * kMmaM)));
      SmallVector<Value> big, small;
      for (auto [dr, dk] : {std::pair<int64_t, int64_t>{0, 0}, {8, 0}, {0, 4}, {8, 4}}) {
        auto [hi, lo] = splitTf32(*b, loc, tileAt(aTile, row, dr, inGroup, ks + dk));
        big.push_back(hi);
        small.push_back(lo);
      }
      aBig.push_back(big);
      aSmall.push_back(small);
    }
    for (int64_t ni = 0; ni < kWarpTileN / kMmaN; ++ni) {
      Value col = add(warpCol, add(group, kb->idx(ni * kMmaN)));
      SmallVector<Value> big, small;
      for (int64_t dk : {0, 4}) {
        auto [hi, lo] = splitTf32(*b, loc, tileAt(bTile, col, 0, inGroup, ks + dk));
        big.push_back(hi);
        small.push_back(lo);
      }
      bBig.push_back(big);
      bSmall.push_back(small);
    }
    for (int64_t mi = 0; mi < kWarpTileM / kMmaM; ++mi)
      for (int64_t ni = 0; ni < kWarpTileN / kMmaN; ++ni) {
        auto c = MutableArrayRef<Value>(acc).slice((mi * (kWarpTileN / kMmaN) + ni) * 4, 4);
        // The small products first, so they are not lost against the big one.
        mmaSync(*b, loc, aSmall[mi], bBig[ni], c, NVVM::MMATypes::tf32);
        mmaSync(*b, loc, aBig[mi], bSmall[ni], c, NVVM::MMATypes::tf32);
        mmaSync(*b, loc, aBig[mi], bBig[ni], c, NVVM::MMATypes::tf32);
      }
  }

  /// Applies the fused elementwise ops to output (row, col) and stores region results.
  void emitEpilogue(Value row, Value col, Value acc) {
    Value at = add(mul(row, kb->idx(n)), col);
    llvm::DenseMap<Value, Value> value;
    value[matmul.getResult()] = acc;
    auto load = [&](Value v) -> Value {
      if (auto it = value.find(v); it != value.end()) return it->second;
      auto type = cast<RankedTensorType>(v.getType());
      Value mem = kb->binding(sig.bindingOf(v), type.getElementType());
      return kb->loadF32(mem, type.getRank() == 1 ? col : at);
    };
    for (Operation &op : region.getBody().front().without_terminator()) {
      if (&op == matmul.getOperation()) continue;
      SmallVector<Value> args;
      for (Value operand : op.getOperands()) args.push_back(load(operand));
      value[op.getResult(0)] = emitElementwise(*b, loc, &op, args);
    }
    auto yield = cast<YieldOp>(region.getBody().front().getTerminator());
    for (auto [i, v] : llvm::enumerate(yield.getValues())) {
      auto type = cast<RankedTensorType>(v.getType());
      kb->storeF32(value[v], kb->binding(sig.operands.size() + i, type.getElementType()), at);
    }
  }

  gpu::GPUModuleOp module;
  StringRef name;
  DispatchRegionOp region;
  const DispatchSignature &sig;
  const DimsOf &dims;
  GpuKernelBuilder *kb = nullptr;
  OpBuilder *b = nullptr;
  Location loc = UnknownLoc::get(region.getContext());
  MatmulOp matmul;
  int64_t k = 0, n = 0;
  bool transposed = false, bf16 = false;
  Value m, aTile, bTile, warpRow, warpCol, group, inGroup;
};

} // namespace

FailureOr<LaunchInfo> emitGpuMatmulKernel(gpu::GPUModuleOp module, StringRef name,
                                          DispatchRegionOp region, const DispatchSignature &sig,
                                          const DimsOf &dims) {
  return GpuMatmulEmitter(module, name, region, sig, dims).emit();
}

} // namespace mvc
