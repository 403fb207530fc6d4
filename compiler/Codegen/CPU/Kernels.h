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
#include "compiler/Schedule/SymExpr.h"
#include "dialects/mvc/IR/MvcOps.h"

#include <array>
#include <vector>

namespace mvc {

/// Symbolic shape of every tensor value of a program.
using DimsOf = std::function<std::vector<SymExpr>(mlir::Value)>;

/// The memory interface of a dispatch: bindings are `operands` (values captured by the
/// region) followed by the region's results.
struct DispatchSignature {
  llvm::SmallVector<mlir::Value> operands;
  llvm::SmallVector<mlir::Value> results;
  int bindingOf(mlir::Value v) const;   // -1 when v is neither
};

struct LaunchInfo {
  SymExpr workgroups;
  std::vector<SymExpr> push;
  /// GPU kernels only: threads per block (static) and dynamic shared-memory bytes.
  std::array<int64_t, 3> block = {0, 0, 0};
  int64_t sharedBytes = 0;
};

/// What every kernel template works with while it emits one dispatch region.
struct TemplateEmitter {
  TemplateEmitter(KernelBuilder &kb, DispatchRegionOp region, const DispatchSignature &sig,
                  const DimsOf &dims)
      : kb(kb), b(kb.b()), loc(kb.loc()), region(region), sig(sig), dims(dims) {}
  KernelBuilder &kb;
  mlir::OpBuilder &b;
  mlir::Location loc;
  DispatchRegionOp region;
  const DispatchSignature &sig;
  const DimsOf &dims;
};

/// Which weights a matmul wants packed (and how), decided before emission.
enum class WeightLayout { RowMajor, PackedN16, PackedN16K2 };

mlir::FailureOr<LaunchInfo> emitRowKernel(KernelBuilder &kb, DispatchRegionOp region,
                                          const DispatchSignature &sig, const DimsOf &dims);
mlir::FailureOr<LaunchInfo> emitMatmulKernel(KernelBuilder &kb, DispatchRegionOp region,
                                             const DispatchSignature &sig, const DimsOf &dims);
mlir::FailureOr<LaunchInfo> emitAttentionKernel(KernelBuilder &kb, DispatchRegionOp region,
                                                const DispatchSignature &sig,
                                                const DimsOf &dims);
mlir::FailureOr<LaunchInfo> emitCopyKernel(KernelBuilder &kb, DispatchRegionOp region,
                                           const DispatchSignature &sig, const DimsOf &dims);
mlir::FailureOr<LaunchInfo> emitKvWriteKernel(KernelBuilder &kb, DispatchRegionOp region,
                                              const DispatchSignature &sig, const DimsOf &dims);

/// An integer of the region's `lowering_config` (set by --mvc-set-lowering-config).
mlir::FailureOr<int64_t> loweringConfigValue(DispatchRegionOp region, llvm::StringRef key);

/// Product of dims [from, to).
SymExpr product(const std::vector<SymExpr> &dims, size_t from, size_t to);

} // namespace mvc

#endif
