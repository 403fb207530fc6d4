//===- LowerToCubin.h - NVVM kernels to PTX and cubin -------------*- C++ -*-===//
//
// The cuda path after GpuCodegen.h: the NVVM-dialect gpu.module is translated to LLVM IR,
// optimized and compiled to PTX by LLVM's NVPTX backend for one chip, and the PTX is
// assembled into a cubin by the toolkit's ptxas (run as a subprocess: this LLVM has no
// in-process PTX assembler). A kernel ptxas rejects fails with ptxas' message and the
// kernel's name.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_COMPILER_CODEGEN_CUDA_LOWERTOCUBIN_H
#define MVC_COMPILER_CODEGEN_CUDA_LOWERTOCUBIN_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"

#include "absl/status/statusor.h"

#include <string>
#include <vector>

namespace mvc {

/// What `ptxas -v` says about one kernel.
struct PtxasKernelInfo {
  std::string kernel;
  int64_t registers = 0, sharedBytes = 0, stackBytes = 0, spillStores = 0, spillLoads = 0;
};

/// PTX of `module` (NVVM + LLVM dialects) for `chip` ("sm_80", "sm_90a", "sm_90").
absl::StatusOr<std::string> translateToPtx(mlir::gpu::GPUModuleOp module, llvm::StringRef chip);
/// The two halves of translateToPtx: the MLIR translation (uses the MLIR context: one
/// thread), and LLVM's O3 + NVPTX on the bitcode (a context of its own: any thread).
absl::StatusOr<std::string> translateToBitcode(mlir::gpu::GPUModuleOp module);
absl::StatusOr<std::string> bitcodeToPtx(llvm::StringRef bitcode, llvm::StringRef chip);

/// Assembles `ptx` for `chip` with ptxas (found on PATH, else /usr/local/cuda/bin, or
/// $MVC_PTXAS); `report`, when non-null, receives ptxas' per-kernel resource usage.
absl::StatusOr<std::string> assembleCubin(llvm::StringRef ptx, llvm::StringRef chip,
                                          std::vector<PtxasKernelInfo> *report);

/// A copy of `module` holding only kernel `name` (and the globals it uses).
mlir::OwningOpRef<mlir::gpu::GPUModuleOp> extractKernel(mlir::gpu::GPUModuleOp module,
                                                         llvm::StringRef name);

} // namespace mvc

#endif
