//===- LowerToObject.h - kernel module to a host shared object ---*- C++ -*-===//
#ifndef MVC_COMPILER_CODEGEN_CPU_LOWERTOOBJECT_H
#define MVC_COMPILER_CODEGEN_CPU_LOWERTOOBJECT_H

#include "compiler/Codegen/CPU/KernelBuilder.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

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

/// "native", "x86-64-v3" or "x86-64-v4"; errors name the accepted values.
mlir::FailureOr<CpuSpec> resolveCpu(const std::string &name, std::string &error);

/// Replaces math.exp/tanh/erf by MLIR's polynomial approximations (in arith). Both
/// backends use it, so cpu and gpu kernels compute the same formulas.
std::unique_ptr<mlir::Pass> createApproximateMathPass();

/// Lowers the kernels to the LLVM dialect (in place) for `cpu`.
mlir::LogicalResult lowerKernelsToLLVMDialect(mlir::ModuleOp kernels, const CpuSpec &cpu);

/// Translates, optimizes (O3) and links the lowered kernels into a shared object; returns
/// its bytes. `llvmIrOut`, when non-null, receives the optimized LLVM IR.
mlir::FailureOr<std::string> buildSharedObject(mlir::ModuleOp lowered, const CpuSpec &cpu,
                                               const std::vector<std::string> &kernelNames,
                                               std::string *llvmIrOut, std::string &error);

} // namespace mvc

#endif
