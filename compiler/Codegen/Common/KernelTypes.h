//===- KernelTypes.h - what every kernel backend works with -------*- C++ -*-===//
//
// The types shared by the cpu and gpu kernel templates and the scheduler that calls
// them: the memory interface of a dispatch (its bindings), how a kernel is launched
// (symbolic workgroup count and push constants), the backend interface itself, and the
// region's lowering configuration.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_COMPILER_CODEGEN_COMMON_KERNELTYPES_H
#define MVC_COMPILER_CODEGEN_COMMON_KERNELTYPES_H

#include "compiler/Schedule/SymExpr.h"
#include "dialects/mvc/IR/MvcOps.h"

#include <array>
#include <functional>
#include <vector>

namespace mvc {

/// Symbolic shape of every tensor value of a program.
using DimsOf = std::function<std::vector<SymExpr>(mlir::Value)>;

/// The memory interface of a dispatch: bindings are `operands` (values captured by the
/// region) followed by the region's results.
struct DispatchSignature {
  llvm::SmallVector<mlir::Value> operands;
  llvm::SmallVector<mlir::Value> results;
  int bindingOf(mlir::Value v) const; // -1 when v is neither
};

struct LaunchInfo {
  SymExpr workgroups;
  std::vector<SymExpr> push;
  /// GPU kernels only: threads per block (static) and dynamic shared-memory bytes.
  std::array<int64_t, 3> block = {0, 0, 0};
  int64_t sharedBytes = 0;
};

/// Which weights a matmul wants packed (and how), decided before emission.
/// How a weight's bytes are laid out (runtime/artifact/FORMAT.md, "Weight layouts").
enum class WeightLayout { RowMajor, PackedN16, PackedN16K2, BlocksN16 };

/// Where a program's dispatch regions become kernels: the cpu templates
/// (compiler/Codegen/CPU/CpuBackend.cpp) or the gpu family's (CUDA/GpuCodegen.cpp).
class KernelBackend {
public:
  virtual ~KernelBackend() = default;
  /// Emits kernel `name` for `region` and returns how to launch it.
  virtual mlir::FailureOr<LaunchInfo> emitKernel(llvm::StringRef name, DispatchRegionOp region,
                                                 const DispatchSignature &sig,
                                                 const DimsOf &dims) = 0;
  /// Whether matmul weights are packed offline into the cpu panel layouts (FORMAT.md);
  /// otherwise every weight stays row_major.
  virtual bool packsMatmulWeights() const = 0;
};

/// The region's `lowering_config` as the kind `ConfigAttr` its template reads (set by
/// --mvc-set-lowering-config or --mvc-set-gpu-lowering-config; dialects/mvc/IR/
/// MvcAttributes.td), or an error on the region.
template <typename ConfigAttr>
mlir::FailureOr<ConfigAttr> loweringConfig(DispatchRegionOp region) {
  if (auto config = region->getAttrOfType<ConfigAttr>("lowering_config")) return config;
  return region.emitError("dispatch region has no lowering_config #mvc.")
         << ConfigAttr::getMnemonic()
         << " (run --mvc-set-lowering-config or --mvc-set-gpu-lowering-config)";
}

/// Product of dims [from, to).
SymExpr product(const std::vector<SymExpr> &dims, size_t from, size_t to);

/// The static last dimension of a ranked tensor value.
inline int64_t lastDim(mlir::Value v) {
  return mlir::cast<mlir::RankedTensorType>(v.getType()).getShape().back();
}

} // namespace mvc

#endif
