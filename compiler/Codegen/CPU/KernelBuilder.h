//===- KernelBuilder.h - building kernels of the mvc kernel ABI ---*- C++ -*-===//
//
// A kernel is `void NAME(void *const *bindings, const int64_t *push, int64_t wg,
// int64_t wg_count)` (runtime/artifact/FORMAT.md). KernelBuilder creates that function
// and gives its body typed access: each binding as a flat memref<?xT>, push constants as
// index values, and loads/stores that convert to and from the f32 the kernels compute in.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_COMPILER_CODEGEN_CPU_KERNELBUILDER_H
#define MVC_COMPILER_CODEGEN_CPU_KERNELBUILDER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"

#include <functional>

namespace mvc {

/// What the target CPU offers the code generator.
struct CpuTarget {
  int vectorWidth = 16;      // f32 lanes per vector register
  bool bf16Dot = false;      // avx512_bf16's vdpbf16ps
  bool amxBf16 = false;      // AMX tiles with tdpbf16ps (amx-tile, amx-bf16)
  bool int8Dot = false;      // avx512_vnni's vpdpbusd with avx512_vbmi's byte permutes
};

class KernelBuilder {
public:
  KernelBuilder(mlir::ModuleOp module, llvm::StringRef name, const CpuTarget &target);

  mlir::OpBuilder &b() { return builder; }
  mlir::Location loc() const { return location; }
  const CpuTarget &target() const { return cpu; }
  mlir::func::FuncOp func() { return fn; }

  /// Binding `i` as a flat memref<?x elementType>.
  mlir::Value binding(int i, mlir::Type elementType);
  /// Push constant `i` as an index.
  mlir::Value push(int i);
  mlir::Value workgroupId() { return wgId; }
  mlir::Value workgroupCount() { return wgCount; }

  mlir::Value idx(int64_t v);
  mlir::Value f32(float v);
  mlir::Value i32(int32_t v);
  mlir::VectorType vecType() { return mlir::VectorType::get({cpu.vectorWidth}, builder.getF32Type()); }

  /// Loads `lanes` elements (0 = a scalar) at `index` of `memref`, as f32.
  mlir::Value loadF32(mlir::Value memref, mlir::Value index, int lanes);
  /// Stores f32 `value` (vector or scalar) at `index`, converting to the memref's type.
  void storeF32(mlir::Value value, mlir::Value memref, mlir::Value index);
  /// Broadcast a scalar to `like`'s type when `like` is a vector.
  mlir::Value splatLike(mlir::Value scalar, mlir::Value like);

  /// Calls `body(index, lanes)` over [0, count) in vector chunks, then a scalar tail
  /// (lanes = 0). `count` is static.
  void forChunks(int64_t count, const std::function<void(mlir::Value, int)> &body);
  /// Sum-reduces `body(index, lanes)` over [0, count) (static) to one f32.
  mlir::Value reduceChunks(int64_t count, bool isMax,
                           const std::function<mlir::Value(mlir::Value, int)> &body);

  /// scf.for from lo to hi (exclusive) with `step`; the body gets the induction variable.
  void forRange(mlir::Value lo, mlir::Value hi, int64_t step,
                const std::function<void(mlir::Value)> &body);

  /// Splits `[0, total)` across workgroups: returns [begin, end) of this workgroup.
  std::pair<mlir::Value, mlir::Value> workgroupSlice(mlir::Value total);

  void finish();

private:
  mlir::OpBuilder builder;
  mlir::Location location;
  CpuTarget cpu;
  mlir::func::FuncOp fn;
  mlir::Value bindingsArg, pushArg, wgId, wgCount;
};

} // namespace mvc

#endif
