//===- GpuCodegen.h - the gpu family's kernels, down to NVVM ------*- C++ -*-===//
//
// The hand-over point between the schedule, the cuda path and the cuda-emu path:
//
//   createGpuKernelBackend(host)   the schedule's kernel emitter: one gpu.func per dispatch
//                                  in `gpu.module @mvc_kernels` inside `host`
//   lowerGpuKernelsToNVVM(host)    that gpu.module in the NVVM + LLVM dialects (llvm.func
//                                  with nvvm.kernel, nvvm.read.ptx.sreg.*, nvvm.barrier0,
//                                  nvvm.shfl.sync, nvvm.mma.sync, addrspace(3) globals;
//                                  no libdevice calls); convert-nvvm-to-llvm
//                                  is NOT run, so no inline PTX exists yet
//
// After lowerGpuKernelsToNVVM the cuda path translates the module to PTX and cubins
// (LowerToCubin.h); cuda-emu clones `host` and rewrites the NVVM ops into emulator calls
// (compiler/Codegen/Emu). Both see exactly the same kernels.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_COMPILER_CODEGEN_CUDA_GPUCODEGEN_H
#define MVC_COMPILER_CODEGEN_CUDA_GPUCODEGEN_H

#include "compiler/Schedule/ProgramCompiler.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"

#include <memory>

namespace mvc {

/// The kernels' gpu.module symbol.
constexpr const char *kGpuKernelModuleName = "mvc_kernels";

/// The gpu family's KernelBackend: kernels go into `host`'s gpu.module (created on first
/// use); weights stay row_major.
std::unique_ptr<KernelBackend> createGpuKernelBackend(mlir::ModuleOp host);

/// The gpu.module holding the kernels (null when there is none).
mlir::gpu::GPUModuleOp getGpuKernelModule(mlir::ModuleOp host);

/// Lowers the kernels of `host` to the NVVM + LLVM dialects, in place.
mlir::LogicalResult lowerGpuKernelsToNVVM(mlir::ModuleOp host);

/// Registers what the gpu pipeline needs in a context (gpu, nvvm, LLVM translations).
void registerGpuCodegenDialects(mlir::DialectRegistry &registry);

} // namespace mvc

#endif
