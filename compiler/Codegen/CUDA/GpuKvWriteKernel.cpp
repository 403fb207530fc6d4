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


FailureOr<LaunchInfo> emitGpuKvWriteKernel(gpu::GPUModuleOp module, StringRef name,
                                           DispatchRegionOp region, const DispatchSignature &sig,
                                           const DimsOf &dims) {
  auto op = cast<KvWriteOp>(region.getBody().front().front());
  auto cacheType = cast<RankedTensorType>(op.getCache().getType());
  int64_t rowElems = cacheType.getDimSize(2) * cacheType.getDimSize(3);
  GpuKernelBuilder kb(module, name, sig.operands.size() + sig.results.size(), 2,
                      gpuRowBlockSize(rowElems));
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  KvWriteRow r = bindKvWrite(kb, op, sig, kb.blockId());
  kb.forThreads(kb.idx(rowElems), [&](Value c) {
    kb.storeF32(kb.loadF32(r.values, arith::AddIOp::create(b, loc, r.src, c)), r.cache,
                arith::AddIOp::create(b, loc, r.dst, c));
  });
  kb.finish();
  std::vector<SymExpr> vDims = dims(op.getValues()), btDims = dims(op.getBlockTable());
  LaunchInfo launch{vDims[0], {btDims[0], btDims[1]}};
  launch.block = {kb.blockSize(), 1, 1};
  return launch;
}

} // namespace mvc
