//===- CpuBackend.cpp - the cpu's kernel templates behind KernelBackend --===//
#include "compiler/Codegen/CPU/Kernels.h"

using namespace mlir;

namespace mvc {

namespace {

class CpuKernelBackend : public KernelBackend {
public:
  CpuKernelBackend(ModuleOp kernels, const CpuTarget &target) : kernels(kernels), target(target) {}

  FailureOr<LaunchInfo> emitKernel(StringRef name, DispatchRegionOp region,
                                   const DispatchSignature &sig, const DimsOf &dims) override {
    KernelBuilder kb(kernels, name, target);
    switch (region.getKind()) {
    case DispatchKind::row: return emitRowKernel(kb, region, sig, dims);
    case DispatchKind::matmul: return emitMatmulKernel(kb, region, sig, dims);
    case DispatchKind::attention: return emitAttentionKernel(kb, region, sig, dims);
    case DispatchKind::kv_write: return emitKvWriteKernel(kb, region, sig, dims);
    case DispatchKind::copy: return emitCopyKernel(kb, region, sig, dims);
    case DispatchKind::moe_route: return emitMoeRouteKernel(kb, region, sig, dims);
    }
    llvm_unreachable("unknown dispatch kind");
  }
  bool packsMatmulWeights() const override { return true; }

private:
  ModuleOp kernels;
  CpuTarget target;
};

} // namespace

std::unique_ptr<KernelBackend> createCpuKernelBackend(ModuleOp kernels, const CpuTarget &target) {
  return std::make_unique<CpuKernelBackend>(kernels, target);
}

} // namespace mvc
