//===- GpuArtifact.h - the gpu family's kernel sections -----------*- C++ -*-===//
//
// From the NVVM-dialect kernels (GpuCodegen.h) to the artifact's kernel sections and the
// manifest's `target` (runtime/artifact/FORMAT.md "Targets"): one cubin per requested SM
// (`kernels.cuda.sm_80`), the PTX of the generic architecture as the JIT fallback
// (`kernels.cuda.compute_80`), one host library per cuda-emu variant
// (`kernels.cuda-emu.sm_80`). With an `emitKernelsDir`, every kernel is also written on
// its own: NAME.sm_80.cubin, NAME.sm_90a.cubin, NAME.compute_80.ptx.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_COMPILER_CODEGEN_CUDA_GPUARTIFACT_H
#define MVC_COMPILER_CODEGEN_CUDA_GPUARTIFACT_H

#include "mlir/IR/BuiltinOps.h"

#include "compiler/Codegen/CPU/LowerToObject.h"

#include "absl/status/statusor.h"
#include "runtime/artifact/Manifest.h"
#include <string>
#include <vector>

namespace mvc {

struct GpuVariants {
  std::vector<std::string> cudaArchs; // "sm_80", "sm_90a"
  std::string ptxArch;                // "compute_80", "compute_90" or empty
  std::vector<std::string> emuArchs;  // cuda-emu variants
};

struct GpuKernelSections {
  std::vector<std::pair<std::string, std::string>> sections; // name, bytes
  TargetInfo target;                                         // the manifest's "target"
};

/// `host` holds the kernels lowered by lowerGpuKernelsToNVVM.
absl::StatusOr<GpuKernelSections>
buildGpuKernelSections(mlir::ModuleOp host, const GpuVariants &variants,
                       const std::vector<std::string> &kernelNames,
                       const std::string &emitKernelsDir, const KernelCompiledFn &onCompiled = {});

} // namespace mvc

#endif
