//===- Kernels.h - kernel templates of the cpu backend ------------*- C++ -*-===//
//
// One emitter per dispatch-region kind. Each reads the region, creates one kernel in
// `module`, and returns how to launch it: the workgroup count and push constants as
// symbolic expressions over the program's dynamic sizes.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_COMPILER_CODEGEN_CPU_KERNELS_H
#define MVC_COMPILER_CODEGEN_CPU_KERNELS_H

#include "compiler/Codegen/CPU/KernelBuilder.h"
#include "compiler/Codegen/Common/KernelMath.h"
#include "compiler/Codegen/Common/KernelTypes.h"

namespace mvc {

/// What every kernel template works with while it emits one dispatch region.
struct TemplateEmitter : KernelMath {
  TemplateEmitter(KernelBuilder &kb, DispatchRegionOp region, const DispatchSignature &sig,
                  const DimsOf &dims)
      : KernelMath(kb.b(), kb.loc()), kb(kb), b(kb.b()), loc(kb.loc()), region(region),
        sig(sig), dims(dims) {}
  KernelBuilder &kb;
  mlir::OpBuilder &b;
  mlir::Location loc;
  DispatchRegionOp region;
  const DispatchSignature &sig;
  const DimsOf &dims;
};

/// The cpu templates, emitting func.func kernels into `kernels` (CpuBackend.cpp).
std::unique_ptr<KernelBackend> createCpuKernelBackend(mlir::ModuleOp kernels,
                                                      const CpuTarget &target);

mlir::FailureOr<LaunchInfo> emitRowKernel(KernelBuilder &kb, DispatchRegionOp region,
                                          const DispatchSignature &sig, const DimsOf &dims);
mlir::FailureOr<LaunchInfo> emitMatmulKernel(KernelBuilder &kb, DispatchRegionOp region,
                                             const DispatchSignature &sig, const DimsOf &dims);
mlir::FailureOr<LaunchInfo> emitAttentionKernel(KernelBuilder &kb, DispatchRegionOp region,
                                                const DispatchSignature &sig,
                                                const DimsOf &dims);
/// The segmented attention on AMX tiles (SegmentedAttentionKernel.cpp); emitAttentionKernel
/// hands it the regions whose config sets amx_query_rows.
mlir::FailureOr<LaunchInfo> emitSegmentedAmxAttention(KernelBuilder &kb, DispatchRegionOp region,
                                                      const DispatchSignature &sig,
                                                      const DimsOf &dims,
                                                      CpuAttentionConfigAttr config);
mlir::FailureOr<LaunchInfo> emitCopyKernel(KernelBuilder &kb, DispatchRegionOp region,
                                           const DispatchSignature &sig, const DimsOf &dims);
mlir::FailureOr<LaunchInfo> emitMoeRouteKernel(KernelBuilder &kb, DispatchRegionOp region,
                                               const DispatchSignature &sig, const DimsOf &dims);
mlir::FailureOr<LaunchInfo> emitKvWriteKernel(KernelBuilder &kb, DispatchRegionOp region,
                                              const DispatchSignature &sig, const DimsOf &dims);

} // namespace mvc

#endif
