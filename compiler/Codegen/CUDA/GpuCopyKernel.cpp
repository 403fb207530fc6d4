//===- GpuCopyKernel.cpp - data movement across leading dimensions (gpu) -===//
//
// The gpu form of compiler/Codegen/CPU/CopyKernel.cpp: transposes, and slices and concats
// along a leading axis. One block per output row (all dimensions but the last), its
// threads copying the row's elements; sizes come in as push constants (output dims, then
// each input's dims). Elements move as they are, so integer tensors move too.
//
//===----------------------------------------------------------------------===//
#include "compiler/Codegen/Common/KernelMath.h"
#include "compiler/Codegen/CUDA/GpuKernels.h"

using namespace mlir;

namespace mvc {
namespace {

class GpuCopyEmitter : KernelMath {
public:
  GpuCopyEmitter(gpu::GPUModuleOp module, StringRef name, DispatchRegionOp region,
                 const DispatchSignature &sig, const DimsOf &dims)
      : module(module), name(name), region(region), sig(sig), dims(dims) {}

  FailureOr<LaunchInfo> emit() {
    op = &region.getBody().front().front();
    Value out = op->getResult(0);
    auto outType = cast<RankedTensorType>(out.getType());
    rank = outType.getRank();
    LaunchInfo launch;
    std::vector<SymExpr> outDims = dims(out);
    for (const SymExpr &d : outDims) launch.push.push_back(d);
    for (Value in : op->getOperands())
      for (const SymExpr &d : dims(in)) launch.push.push_back(d);
    int64_t lastStatic = outType.isDynamicDim(rank - 1) ? 256 : outType.getDimSize(rank - 1);

    GpuKernelBuilder builder(module, name, sig.operands.size() + sig.results.size(),
                             launch.push.size(), gpuRowBlockSize(lastStatic));
    kb = &builder;
    b = &builder.b();
    loc = builder.loc();
    bindMath(*b, loc);
    int pushIndex = 0;
    for (int64_t i = 0; i < rank; ++i) outSize.push_back(builder.push(pushIndex++));
    for (Value in : op->getOperands()) {
      SmallVector<Value> size;
      for (int64_t i = 0; i < cast<RankedTensorType>(in.getType()).getRank(); ++i)
        size.push_back(builder.push(pushIndex++));
      inStrides.push_back(strides(size));
    }
    Value numRows = rank > 1 ? product(outSize, 0, rank - 1) : kb->idx(1);
    Value outMem = builder.binding(sig.operands.size(), outType.getElementType());
    Value r = builder.blockId();
    builder.ifThen(arith::CmpIOp::create(*b, loc, arith::CmpIPredicate::ult, r, numRows),
                   [&] { emitRow(r, outMem); });
    builder.finish();
    launch.workgroups = mvc::product(outDims, 0, rank - 1);
    launch.block = {builder.blockSize(), 1, 1};
    return launch;
  }

private:
  Value product(ArrayRef<Value> v, int64_t from, int64_t to) {
    Value p = kb->idx(1);
    for (int64_t i = from; i < to; ++i) p = mul(p, v[i]);
    return p;
  }
  SmallVector<Value> strides(ArrayRef<Value> size) {
    SmallVector<Value> s(size.size());
    Value acc = kb->idx(1);
    for (int64_t i = size.size() - 1; i >= 0; --i) {
      s[i] = acc;
      acc = mul(acc, size[i]);
    }
    return s;
  }

  /// Copies output row `r` (leading coordinates decomposed from r).
  void emitRow(Value r, Value outMem) {
    SmallVector<Value> coord(rank);
    Value rest = r;
    for (int64_t i = rank - 2; i >= 0; --i) {
      coord[i] = arith::RemUIOp::create(*b, loc, rest, outSize[i]);
      rest = arith::DivUIOp::create(*b, loc, rest, outSize[i]);
    }
    Value outRow = mul(r, outSize[rank - 1]);
    auto copyFrom = [&](int input, ArrayRef<Value> inCoordLeading, int64_t lastAxisSource) {
      Value in = op->getOperand(input);
      Value inMem = kb->binding(sig.bindingOf(in), cast<RankedTensorType>(in.getType()).getElementType());
      Value base = kb->idx(0);
      for (int64_t j = 0; j < int64_t(inCoordLeading.size()); ++j)
        if (j != lastAxisSource) base = add(base, mul(inCoordLeading[j], inStrides[input][j]));
      Value step = inStrides[input][lastAxisSource];
      kb->forThreads(outSize[rank - 1], [&](Value c) {
        Value v = memref::LoadOp::create(*b, loc, inMem, ValueRange{add(base, mul(c, step))});
        memref::StoreOp::create(*b, loc, v, outMem, ValueRange{add(outRow, c)});
      });
    };
    if (auto tr = dyn_cast<TransposeOp>(op)) {
      SmallVector<Value> inCoord(rank, kb->idx(0));
      ArrayRef<int64_t> perm = tr.getPermutation();
      for (int64_t j = 0; j < rank - 1; ++j) inCoord[perm[j]] = coord[j];
      copyFrom(0, inCoord, perm[rank - 1]);
    } else if (auto slice = dyn_cast<SliceOp>(op)) {
      SmallVector<Value> inCoord(coord.begin(), coord.end());
      inCoord[slice.getAxis()] = add(coord[slice.getAxis()], kb->idx(slice.getStart()));
      copyFrom(0, inCoord, rank - 1);
    } else {
      auto concat = cast<ConcatOp>(op);
      int64_t axis = concat.getAxis(), offset = 0;
      for (auto [k, in] : llvm::enumerate(concat.getInputs())) {
        int64_t size = cast<RankedTensorType>(in.getType()).getDimSize(axis);
        Value inside = arith::AndIOp::create(
            *b, loc,
            arith::CmpIOp::create(*b, loc, arith::CmpIPredicate::uge, coord[axis], kb->idx(offset)),
            arith::CmpIOp::create(*b, loc, arith::CmpIPredicate::ult, coord[axis],
                                  kb->idx(offset + size)));
        kb->ifThen(inside, [&] {
          SmallVector<Value> inCoord(coord.begin(), coord.end());
          inCoord[axis] = arith::SubIOp::create(*b, loc, coord[axis], kb->idx(offset));
          copyFrom(k, inCoord, rank - 1);
        });
        offset += size;
      }
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
  Operation *op = nullptr;
  int64_t rank = 0;
  SmallVector<Value> outSize;
  SmallVector<SmallVector<Value>> inStrides;
};

} // namespace

FailureOr<LaunchInfo> emitGpuCopyKernel(gpu::GPUModuleOp module, StringRef name,
                                        DispatchRegionOp region, const DispatchSignature &sig,
                                        const DimsOf &dims) {
  Operation *op = &region.getBody().front().front();
  if (auto concat = dyn_cast<ConcatOp>(op))
    for (Value in : concat.getInputs())
      if (cast<RankedTensorType>(in.getType()).isDynamicDim(concat.getAxis()))
        return concat.emitError("concat along a dynamic dimension is not supported");
  return GpuCopyEmitter(module, name, region, sig, dims).emit();
}

} // namespace mvc
