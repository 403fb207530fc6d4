//===- LowerToObject.h - kernel module to a host shared object ---*- C++ -*-===//
#ifndef MVC_COMPILER_CODEGEN_CPU_LOWERTOOBJECT_H
#define MVC_COMPILER_CODEGEN_CPU_LOWERTOOBJECT_H

#include "compiler/Codegen/CPU/KernelBuilder.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

#include "absl/status/statusor.h"

#include <functional>
#include <string>
#include <vector>

namespace mvc {

/// The x86-64 ISA an artifact is compiled for.
struct CpuSpec {
  std::string cpuName;                 // LLVM CPU name ("x86-64-v4", "znver4", ...)
  std::string llvmFeatures;            // "+avx512f,+avx512bf16,..."
  std::vector<std::string> required;   // cpuid feature names recorded in the manifest
  CpuTarget codegen;
};

/// "native" (this machine's ISA, AMX tiles included where it has them), "native-noamx"
/// (the same without AMX), "x86-64-v3" or "x86-64-v4"; errors name the accepted values.
absl::StatusOr<CpuSpec> resolveCpu(const std::string &name);

/// Replaces math.exp/tanh/erf by MLIR's polynomial approximations (in arith). Both
/// backends use it, so cpu and gpu kernels compute the same formulas.
std::unique_ptr<mlir::Pass> createApproximateMathPass();

/// Lowers the kernels to the LLVM dialect (in place) for `cpu`.
mlir::LogicalResult lowerKernelsToLLVMDialect(mlir::ModuleOp kernels, const CpuSpec &cpu);

/// Called (from any thread) when one part of a kernel library has been compiled.
using KernelCompiledFn = std::function<void(const std::string &name, double seconds)>;

/// Threads that compile kernels in parallel: setCodegenThreads' value, or (0, the
/// default) the machine's cores.
int codegenThreads();
void setCodegenThreads(int n);

/// Translates, optimizes (O3) and links the lowered kernels into a shared object; returns
/// its bytes. Each kernel is optimized and code-generated on its own, in parallel across
/// codegenThreads(); `onCompiled` hears of each. `llvmIrOut`, when non-null, receives the
/// optimized LLVM IR (one module per kernel, concatenated).
absl::StatusOr<std::string> buildSharedObject(mlir::ModuleOp lowered, const CpuSpec &cpu,
                                              const std::vector<std::string> &kernelNames,
                                              std::string *llvmIrOut,
                                              const KernelCompiledFn &onCompiled = {});

} // namespace mvc

#endif
