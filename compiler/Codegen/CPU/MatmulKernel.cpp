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

class MatmulEmitter {
public:
  MatmulEmitter(KernelBuilder &kb, DispatchRegionOp region, const DispatchSignature &sig,
                const DimsOf &dims)
      : kb(kb), b(kb.b()), loc(kb.loc()), region(region), sig(sig), dims(dims) {}

  FailureOr<LaunchInfo> emit() {
    matmul = cast<MatmulOp>(region.getBody().front().front());
    auto mr = loweringConfigValue(region, "microkernel_rows");
    auto np = loweringConfigValue(region, "panels_per_workgroup");
    auto rb = loweringConfigValue(region, "rows_per_workgroup");
    if (failed(mr) || failed(np) || failed(rb)) return failure();
    kMr = *mr;
    kPanelsPerBlock = *np;
    kRowBlock = *rb;
    auto lhsType = cast<RankedTensorType>(matmul.getLhs().getType());
    auto rhsType = cast<RankedTensorType>(matmul.getRhs().getType());
    if (!matmul.getRhs().getDefiningOp<WeightOp>())
      return matmul.emitError("cpu matmul kernels need a weight (packed offline) as rhs");
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
    // Full row tiles, then single rows.
    Value rowsHere = b.create<arith::SubIOp>(loc, m1, m0);
    Value mMain = b.create<arith::AddIOp>(
        loc, m0, b.create<arith::MulIOp>(loc, b.create<arith::DivUIOp>(loc, rowsHere, kb.idx(kMr)),
                                         kb.idx(kMr)));
    kb.forRange(m0, mMain, kMr, [&](Value row) { emitPanels(row, kMr, p0, p1); });
    kb.forRange(mMain, m1, 1, [&](Value row) { emitPanels(row, 1, p0, p1); });
    kb.finish();
    SymExpr mExpr = dims(matmul.getLhs())[0];
    return LaunchInfo{SymExpr::ceilDiv(mExpr, kRowBlock) * blocks, {mExpr}};
  }

private:
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
    Value zero = b.create<arith::ConstantOp>(loc, DenseElementsAttr::get(accType(), 0.0f));
    SmallVector<Value> init(mr * np, zero);
    int64_t steps = bf16 ? k / 2 : k;
    auto loop = b.create<scf::ForOp>(loc, kb.idx(0), kb.idx(steps), kb.idx(1), init);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value kk = loop.getInductionVar();
      SmallVector<Value> acc(loop.getRegionIterArgs().begin(), loop.getRegionIterArgs().end());
      SmallVector<Value> next = bf16 ? bf16Step(row, mr, panel, np, kk, acc)
                                     : f32Step(row, mr, panel, np, kk, acc);
      b.create<scf::YieldOp>(loc, next);
    }
    for (int64_t i = 0; i < mr; ++i)
      for (int64_t j = 0; j < np; ++j)
        emitEpilogue(b.create<arith::AddIOp>(loc, row, kb.idx(i)),
                     b.create<arith::AddIOp>(loc, panel, kb.idx(j)), loop.getResult(i * np + j));
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
      bv.push_back(b.create<vector::LoadOp>(loc, accType(), rhs, off));
    }
    for (int64_t i = 0; i < mr; ++i) {
      Value a = kb.loadF32(lhs, lhsIndex(row, i, kk), 0);
      Value av = b.create<vector::BroadcastOp>(loc, accType(), a);
      for (int64_t j = 0; j < np; ++j)
        next[i * np + j] = b.create<vector::FMAOp>(loc, av, bv[j], acc[i * np + j]);
    }
    return next;
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
      bv.push_back(b.create<vector::LoadOp>(loc, bf16x32, rhs, off));
    }
    Value k2 = b.create<arith::MulIOp>(loc, kk, kb.idx(2));
    for (int64_t i = 0; i < mr; ++i) {
      Value idx = lhsIndex(row, i, k2);
      if (kb.target().bf16Dot) {
        auto lhsElem = cast<MemRefType>(lhs.getType()).getElementType();
        Value pair = b.create<vector::LoadOp>(loc, VectorType::get({2}, lhsElem), lhs, idx);
        if (!lhsElem.isBF16())
          pair = b.create<arith::TruncFOp>(loc, VectorType::get({2}, b.getBF16Type()), pair);
        Value word = b.create<vector::BitCastOp>(loc, VectorType::get({1}, b.getI32Type()), pair);
        Value scalar = b.create<vector::ExtractOp>(loc, word, ArrayRef<int64_t>{0});
        Value av = b.create<vector::BitCastOp>(
            loc, bf16x32, b.create<vector::BroadcastOp>(loc, i32x16, scalar));
        for (int64_t j = 0; j < np; ++j)
          next[i * np + j] = b.create<x86vector::DotBF16Op>(loc, acc[i * np + j], av, bv[j]);
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

  KernelBuilder &kb;
  OpBuilder &b;
  Location loc;
  DispatchRegionOp region;
  const DispatchSignature &sig;
  const DimsOf &dims;
  MatmulOp matmul;
  int64_t k = 0, n = 0, panels = 0;
  int64_t kMr = 0, kPanelsPerBlock = 0, kRowBlock = 0;  // from lowering_config
  bool bf16 = false;
  Value lhs, rhs, m;
};

} // namespace

FailureOr<LaunchInfo> emitMatmulKernel(KernelBuilder &kb, DispatchRegionOp region,
                                       const DispatchSignature &sig, const DimsOf &dims) {
  return MatmulEmitter(kb, region, sig, dims).emit();
}

} // namespace mvc
