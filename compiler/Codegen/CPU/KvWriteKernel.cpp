//===- KvWriteKernel.cpp - KV-cache writes for the cpu ---------------------===//
//
// One workgroup per token, copying its keys (or values) into its cache slot (the page
// table gives the slot of the token's absolute position) in vector chunks.
//
//===----------------------------------------------------------------------===//
#include "compiler/Codegen/CPU/Kernels.h"
#include "compiler/Codegen/Common/PagedCache.h"

using namespace mlir;

namespace mvc {

FailureOr<LaunchInfo> emitKvWriteKernel(KernelBuilder &kb, DispatchRegionOp region,
                                        const DispatchSignature &sig, const DimsOf &dims) {
  auto op = cast<KvWriteOp>(region.getBody().front().front());
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  KvWriteRow r = bindKvWrite(kb, op, sig, kb.workgroupId());
  kb.forChunks(r.rowElems, [&](Value c, int l) {
    kb.storeF32(kb.loadF32(r.values, arith::AddIOp::create(b, loc, r.src, c), l), r.cache,
                arith::AddIOp::create(b, loc, r.dst, c));
  });
  kb.finish();
  std::vector<SymExpr> vDims = dims(op.getValues()), btDims = dims(op.getBlockTable());
  return LaunchInfo{vDims[0], {btDims[0], btDims[1]}};
}

} // namespace mvc
