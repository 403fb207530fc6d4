//===- EmuCodegen.h - cuda-emu: the cuda kernels, compiled for the host -*- C++ -*-===//
//
// The cuda-emu target takes exactly the kernels of the cuda path, in the NVVM + LLVM
// dialects before convert-nvvm-to-llvm (compiler/Codegen/CUDA/GpuCodegen.h), rewrites
// every NVVM operation into a call of the emulator (runtime/hal/emu, ABI in
// runtime/hal/emu/EmuAbi.h) and compiles them for the host with the cpu backend's
// LLVM -> object -> `cc -shared` path. The result is the `kernels.cuda-emu.<arch>`
// section: an x86-64 ELF shared object whose only undefined symbols are libc/libm's.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_COMPILER_CODEGEN_EMU_EMUCODEGEN_H
#define MVC_COMPILER_CODEGEN_EMU_EMUCODEGEN_H

#include "mlir/IR/BuiltinOps.h"
#include "compiler/Codegen/CPU/LowerToObject.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Pass/PassManager.h"

#include <string>
#include <vector>

namespace mvc {

/// The rewrite, in order: shared memory, shared-access checks, NVVM ops, kernel wrappers,
/// table thunks.
void buildEmuRewritePipeline(mlir::OpPassManager &pm);

/// The kernels of `host` (its gpu.module's body, or `host` itself when it has none) as a
/// fresh module; `host` is left as it is, so the cuda path can still translate it.
mlir::OwningOpRef<mlir::ModuleOp> extractKernels(mlir::ModuleOp host);

/// Host ELF bytes of the kernel library for `host`'s kernels. Errors (an operation the
/// emulator lacks, with the kernel's name) are emitted as diagnostics and summarized in
/// the status. `llvmIrOut`, when non-null, receives the optimized LLVM IR.
absl::StatusOr<std::string> buildEmuKernelLibrary(mlir::ModuleOp host,
                                                  std::string *llvmIrOut = nullptr,
                                                  const KernelCompiledFn &onCompiled = {});

} // namespace mvc

#endif
