//===- GpuMatmulKernel.cpp - tiled matmul with fused epilogue for the gpu -===//
//
// y[M, N] = x[M, K] · Wᵀ (W row_major [N, K], `transpose_b`) or x · W (W [K, N]). A
// block of 256 threads owns a 64×64 tile of y; K goes in steps of 16, both operand tiles
// staged through shared memory (zero-filled past the edges, so the inner loop has no
// bounds checks); each thread keeps a 4×4 register tile of f32 accumulators. The region's
// elementwise ops are applied to each output element, and each region result stored once.
//
//===----------------------------------------------------------------------===//
#include "compiler/Codegen/CUDA/GpuKernels.h"

#include "llvm/ADT/DenseMap.h"

using namespace mlir;

namespace mvc {
namespace {

constexpr int64_t kTileM = 64, kTileN = 64, kTileK = 16, kThreads = 256, kPerThread = 4;

class GpuMatmulEmitter {
public:
  GpuMatmulEmitter(gpu::GPUModuleOp module, StringRef name, DispatchRegionOp region,
                   const DispatchSignature &sig, const DimsOf &dims)
      : module(module), name(name), region(region), sig(sig), dims(dims) {}

  FailureOr<LaunchInfo> emit() {
    matmul = cast<MatmulOp>(region.getBody().front().front());
    auto lhsType = cast<RankedTensorType>(matmul.getLhs().getType());
    auto rhsType = cast<RankedTensorType>(matmul.getRhs().getType());
    if (lhsType.isDynamicDim(1) || rhsType.hasStaticShape() == false)
      return matmul.emitError("gpu matmul needs static K and a static rhs");
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
    Value aTile = builder.sharedArray(kTileK * kTileM, b->getF32Type());
    Value bTile = builder.sharedArray(kTileK * kTileN, b->getF32Type());
    Value m0 = mul(div(builder.blockId(), nBlocks), kb->idx(kTileM));
    Value n0 = mul(b->create<arith::RemUIOp>(loc, builder.blockId(), kb->idx(nBlocks)), kb->idx(kTileN));
    Value tx = b->create<arith::RemUIOp>(loc, builder.threadId(), kb->idx(kTileN / kPerThread));
    Value ty = div(builder.threadId(), kTileN / kPerThread);
    Value rowBase = add(m0, mul(ty, kb->idx(kPerThread)));
    Value colBase = add(n0, mul(tx, kb->idx(kPerThread)));

    SmallVector<Value> init(kPerThread * kPerThread, builder.f32(0.0f));
    auto acc = builder.forRangeCarried(
        kb->idx(0), kb->idx(k), kb->idx(kTileK), init,
        [&](Value k0, ValueRange carried) -> SmallVector<Value> {
          // Stage both tiles, [kk][row] and [kk][col], zero outside the matrices.
          for (int64_t i = 0; i < kTileM * kTileK / kThreads; ++i) {
            Value e = add(builder.threadId(), kb->idx(i * kThreads));
            Value r = div(e, kTileK), kk = b->create<arith::RemUIOp>(loc, e, kb->idx(kTileK));
            Value row = add(m0, r), kAt = add(k0, kk);
            Value ok = both(lt(row, m), lt(kAt, kb->idx(k)));
            Value at = add(mul(clamp(row, m), kb->idx(k)), clamp(kAt, kb->idx(k)));
            Value v = b->create<arith::SelectOp>(loc, ok, builder.loadF32(lhs, at), kb->f32(0.0f));
            b->create<memref::StoreOp>(loc, v, aTile, add(mul(kk, kb->idx(kTileM)), r));
          }
          for (int64_t i = 0; i < kTileN * kTileK / kThreads; ++i) {
            Value e = add(builder.threadId(), kb->idx(i * kThreads));
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
            Value v = b->create<arith::SelectOp>(loc, ok, builder.loadF32(rhs, at), kb->f32(0.0f));
            b->create<memref::StoreOp>(loc, v, bTile, add(mul(kk, kb->idx(kTileN)), c));
          }
          builder.barrier();
          SmallVector<Value> next(carried.begin(), carried.end());
          Value aOff = mul(ty, kb->idx(kPerThread)), bOff = mul(tx, kb->idx(kPerThread));
          for (int64_t kk = 0; kk < kTileK; ++kk) {
            SmallVector<Value> av, bv;
            for (int64_t i = 0; i < kPerThread; ++i) {
              av.push_back(b->create<memref::LoadOp>(loc, aTile, add(aOff, kb->idx(kk * kTileM + i))));
              bv.push_back(b->create<memref::LoadOp>(loc, bTile, add(bOff, kb->idx(kk * kTileN + i))));
            }
            for (int64_t i = 0; i < kPerThread; ++i)
              for (int64_t j = 0; j < kPerThread; ++j)
                next[i * kPerThread + j] = b->create<math::FmaOp>(loc, av[i], bv[j], next[i * kPerThread + j]);
          }
          // The tiles are overwritten by the next step only after everyone used them.
          builder.barrier();
          return next;
        });
    for (int64_t i = 0; i < kPerThread; ++i)
      for (int64_t j = 0; j < kPerThread; ++j) {
        Value row = add(rowBase, kb->idx(i)), col = add(colBase, kb->idx(j));
        builder.ifThen(both(lt(row, m), lt(col, kb->idx(n))),
                       [&] { emitEpilogue(row, col, acc[i * kPerThread + j]); });
      }
    builder.finish();
    SymExpr mExpr = dims(matmul.getLhs())[0];
    LaunchInfo launch{SymExpr::ceilDiv(mExpr, kTileM) * nBlocks, {mExpr}};
    launch.block = {kThreads, 1, 1};
    return launch;
  }

private:
  Value add(Value x, Value y) { return b->create<arith::AddIOp>(loc, x, y); }
  Value mul(Value x, Value y) { return b->create<arith::MulIOp>(loc, x, y); }
  Value div(Value x, int64_t d) { return b->create<arith::DivUIOp>(loc, x, kb->idx(d)); }
  Value lt(Value x, Value y) { return b->create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, x, y); }
  Value both(Value x, Value y) { return b->create<arith::AndIOp>(loc, x, y); }
  /// min(x, bound - 1): an address that is always inside the matrix.
  Value clamp(Value x, Value bound) {
    return b->create<arith::MinUIOp>(loc, x, b->create<arith::SubIOp>(loc, bound, kb->idx(1)));
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
  bool transposed = false;
  Value m;
};

} // namespace

FailureOr<LaunchInfo> emitGpuMatmulKernel(gpu::GPUModuleOp module, StringRef name,
                                          DispatchRegionOp region, const DispatchSignature &sig,
                                          const DimsOf &dims) {
  return GpuMatmulEmitter(module, name, region, sig, dims).emit();
}

} // namespace mvc
