//===- CopyKernel.cpp - data movement across leading dimensions ----------===//
//
// Transposes, and slices and concats along a leading axis: every output row (all
// dimensions but the last) is copied element by element from where it lives in its
// input. Sizes come in as push constants (output dims, then each input's dims), so
// dynamic dimensions need no recompilation. Elements are copied as they are (no
// conversion), so integer tensors move too.
//
//===----------------------------------------------------------------------===//
#include "compiler/Codegen/CPU/Kernels.h"

using namespace mlir;

namespace mvc {
namespace {

class CopyEmitter : TemplateEmitter {
public:
  using TemplateEmitter::TemplateEmitter;

  FailureOr<LaunchInfo> emit() {
    op = &region.getBody().front().front();
    Value out = op->getResult(0);
    auto outType = cast<RankedTensorType>(out.getType());
    rank = outType.getRank();
    FailureOr<CpuRowsConfigAttr> config = loweringConfig<CpuRowsConfigAttr>(region);
    if (failed(config)) return failure();
    int64_t rowsPerWorkgroup = config->getRowsPerWorkgroup();

    // Push constants: the output's dims, then each input's dims.
    LaunchInfo launch;
    std::vector<SymExpr> outDims = dims(out);
    for (const SymExpr &d : outDims) launch.push.push_back(d);
    for (Value in : op->getOperands())
      for (const SymExpr &d : dims(in)) launch.push.push_back(d);
    int pushIndex = 0;
    for (int64_t i = 0; i < rank; ++i) outSize.push_back(kb.push(pushIndex++));
    for (Value in : op->getOperands()) {
      SmallVector<Value> size;
      for (int64_t i = 0; i < cast<RankedTensorType>(in.getType()).getRank(); ++i)
        size.push_back(kb.push(pushIndex++));
      inStrides.push_back(strides(size));
    }

    SymExpr rows = mvc::product(outDims, 0, rank - 1);
    Value numRows = rank > 1 ? product(outSize, 0, rank - 1) : kb.idx(1);
    Value begin = arith::MulIOp::create(b, loc, kb.workgroupId(), kb.idx(rowsPerWorkgroup));
    Value end = arith::MinUIOp::create(
        b, loc, arith::AddIOp::create(b, loc, begin, kb.idx(rowsPerWorkgroup)), numRows);
    Value outMem = kb.binding(sig.operands.size(), outType.getElementType());
    kb.forRange(begin, end, 1, [&](Value r) { emitRow(r, outMem); });
    kb.finish();
    launch.workgroups = SymExpr::ceilDiv(rows, rowsPerWorkgroup);
    return launch;
  }

private:
  Value product(ArrayRef<Value> v, int64_t from, int64_t to) {
    Value p = kb.idx(1);
    for (int64_t i = from; i < to; ++i) p = arith::MulIOp::create(b, loc, p, v[i]);
    return p;
  }
  SmallVector<Value> strides(ArrayRef<Value> size) {
    SmallVector<Value> s(size.size());
    Value acc = kb.idx(1);
    for (int64_t i = size.size() - 1; i >= 0; --i) {
      s[i] = acc;
      acc = arith::MulIOp::create(b, loc, acc, size[i]);
    }
    return s;
  }

  /// Copies output row `r` (leading coordinates decomposed from r).
  void emitRow(Value r, Value outMem) {
    SmallVector<Value> coord(rank);
    Value rest = r;
    for (int64_t i = rank - 2; i >= 0; --i) {
      coord[i] = arith::RemUIOp::create(b, loc, rest, outSize[i]);
      rest = arith::DivUIOp::create(b, loc, rest, outSize[i]);
    }
    Value outRow = mul(r, outSize[rank - 1]);
    auto copyFrom = [&](int input, ArrayRef<Value> inCoordLeading, int64_t lastAxisSource) {
      // inCoordLeading: the input coordinate of every dim except the one fed by the
      // output's last dimension, which is `lastAxisSource`.
      Value in = op->getOperand(input);
      Value inMem = kb.binding(sig.bindingOf(in), cast<RankedTensorType>(in.getType()).getElementType());
      Value base = kb.idx(0);
      for (int64_t j = 0; j < int64_t(inCoordLeading.size()); ++j)
        if (j != lastAxisSource) base = add(base, mul(inCoordLeading[j], inStrides[input][j]));
      Value step = inStrides[input][lastAxisSource];
      kb.forRange(kb.idx(0), outSize[rank - 1], 1, [&](Value c) {
        Value v = memref::LoadOp::create(b, loc, inMem, ValueRange{add(base, mul(c, step))});
        memref::StoreOp::create(b, loc, v, outMem, ValueRange{add(outRow, c)});
      });
    };
    if (auto tr = dyn_cast<TransposeOp>(op)) {
      // Output dim j is input dim perm[j].
      SmallVector<Value> inCoord(rank, kb.idx(0));
      ArrayRef<int64_t> perm = tr.getPermutation();
      for (int64_t j = 0; j < rank - 1; ++j) inCoord[perm[j]] = coord[j];
      copyFrom(0, inCoord, perm[rank - 1]);
    } else if (auto slice = dyn_cast<SliceOp>(op)) {
      SmallVector<Value> inCoord(coord.begin(), coord.end());
      inCoord[slice.getAxis()] = add(coord[slice.getAxis()], kb.idx(slice.getStart()));
      copyFrom(0, inCoord, rank - 1);
    } else {
      auto concat = cast<ConcatOp>(op);
      int64_t axis = concat.getAxis(), offset = 0;
      for (auto [k, in] : llvm::enumerate(concat.getInputs())) {
        int64_t size = cast<RankedTensorType>(in.getType()).getDimSize(axis);
        Value inside = arith::AndIOp::create(
            b, loc,
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, coord[axis], kb.idx(offset)),
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, coord[axis],
                                  kb.idx(offset + size)));
        auto ifOp = scf::IfOp::create(b, loc, inside, /*withElseRegion=*/false);
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(&ifOp.getThenRegion().front());
        SmallVector<Value> inCoord(coord.begin(), coord.end());
        inCoord[axis] = arith::SubIOp::create(b, loc, coord[axis], kb.idx(offset));
        copyFrom(k, inCoord, rank - 1);
        offset += size;
      }
    }
  }

  Operation *op = nullptr;
  int64_t rank = 0;
  SmallVector<Value> outSize;
  SmallVector<SmallVector<Value>> inStrides;
};

} // namespace

FailureOr<LaunchInfo> emitCopyKernel(KernelBuilder &kb, DispatchRegionOp region,
                                     const DispatchSignature &sig, const DimsOf &dims) {
  Operation *op = &region.getBody().front().front();
  if (auto concat = dyn_cast<ConcatOp>(op))
    for (Value in : concat.getInputs())
      if (cast<RankedTensorType>(in.getType()).isDynamicDim(concat.getAxis()))
        return concat.emitError("concat along a dynamic dimension is not supported");
  return CopyEmitter(kb, region, sig, dims).emit();
}

} // namespace mvc
