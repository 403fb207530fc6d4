//===- GpuKernels.h - kernel templates of the gpu backend ---------*- C++ -*-===//
//
// One emitter per dispatch-region kind, as in compiler/Codegen/CPU/Kernels.h: each reads
// the region, creates one gpu.func in `module`, and returns its launch (a 1-D grid of
// `workgroups` blocks of LaunchInfo::block threads, push constants as symbolic
// expressions). Row, KV-write and copy kernels are SIMT (a block's threads stride the
// last dimension, reductions through warp shuffles and shared memory); the matmul and the
// attention's Q·Kᵀ and P·V run on the tensor cores (mma.sync; GpuMatmulKernel.cpp,
// GpuAttentionKernel.cpp, building blocks in GpuMma.h).
//
//===----------------------------------------------------------------------===//
#ifndef MVC_COMPILER_CODEGEN_CUDA_GPUKERNELS_H
#define MVC_COMPILER_CODEGEN_CUDA_GPUKERNELS_H

#include "compiler/Codegen/Common/KernelTypes.h"
#include "compiler/Codegen/CUDA/GpuKernelBuilder.h"

namespace mvc {

using GpuEmitFn = mlir::FailureOr<LaunchInfo>(mlir::gpu::GPUModuleOp module, llvm::StringRef name,
                                              DispatchRegionOp region,
                                              const DispatchSignature &sig, const DimsOf &dims);

GpuEmitFn emitGpuRowKernel;
GpuEmitFn emitGpuMatmulKernel;
GpuEmitFn emitGpuAttentionKernel;
GpuEmitFn emitGpuKvWriteKernel;
GpuEmitFn emitGpuCopyKernel;
GpuEmitFn emitGpuMoeRouteKernel;

/// Threads per block for rows of `n` elements: whole warps, at most 256.
int64_t gpuRowBlockSize(int64_t n);

/// sin and cos of an f32 angle, accurate to f32 rounding for |x| < 2^20 (rope tables at
/// large positions): the reduction by pi/2 and both polynomials in f64.
std::pair<mlir::Value, mlir::Value> emitSinCos(mlir::OpBuilder &b, mlir::Location loc,
                                               mlir::Value angle);

} // namespace mvc

#endif
