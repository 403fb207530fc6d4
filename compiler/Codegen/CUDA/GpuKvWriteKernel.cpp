//===- GpuKvWriteKernel.cpp - KV-cache writes for the gpu -----------------===//
//
// One block per token, its threads copying the token's keys (or values) into its cache
// slot (the page table gives the slot of the token's absolute position).
//
//===----------------------------------------------------------------------===//
#include "compiler/Codegen/CUDA/GpuKernels.h"
#include "compiler/Codegen/Common/PagedCache.h"

using namespace mlir;

namespace mvc {

static Type elemOf(Value v) { return cast<RankedTensorType>(v.getType()).getElementType(); }

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
  TokenPlace place = placeToken(b, loc, t, ro, cl, batch);
  Value dst = cacheOffset(b, loc, bt, maxPages, place.seq, place.pos, pageSize, rowElems);
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
