//===- GpuKernelBuilder.h - building kernels of the gpu kernel ABI -*- C++ -*-===//
//
// A gpu kernel is `gpu.func NAME(!llvm.ptr<1> b0, ..., i64 p0, ...) kernel`: one global
// pointer per binding, then one i64 per push constant (runtime/artifact/FORMAT.md). One
// block of `blockSize` threads (1-D) per workgroup of the schedule. GpuKernelBuilder gives
// the body typed access (bindings as flat memref<?xT, 1>, push constants as index values),
// the thread/block ids, static shared memory, barriers and warp/block reductions.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_COMPILER_CODEGEN_CUDA_GPUKERNELBUILDER_H
#define MVC_COMPILER_CODEGEN_CUDA_GPUKERNELBUILDER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"

#include <functional>
#include <map>

namespace mvc {

constexpr int64_t kWarpSize = 32;

class GpuKernelBuilder {
public:
  GpuKernelBuilder(mlir::gpu::GPUModuleOp module, llvm::StringRef name, int numBindings,
                   int numPush, int64_t blockSize);

  mlir::OpBuilder &b() { return builder; }
  mlir::Location loc() const { return location; }
  int64_t blockSize() const { return threads; }
  int64_t numWarps() const { return threads / kWarpSize; }

  /// Binding `i` as a flat memref<?x elementType, 1> (created once, at the kernel entry).
  mlir::Value binding(int i, mlir::Type elementType);
  /// Binding `i` as the kernel's raw !llvm.ptr<1> argument (for cp.async sources).
  mlir::Value bindingPointer(int i);
  /// Push constant `i` as an index.
  mlir::Value push(int i);
  mlir::Value blockId() { return block; }
  mlir::Value threadId() { return thread; }
  mlir::Value laneId();
  mlir::Value warpId();

  mlir::Value idx(int64_t v);
  mlir::Value f32(float v);

  /// Asks ptxas to fit at least `blocks` blocks per SM (.minnctapersm). With only the
  /// block size known, ptxas may cap registers for occupancy and spill instead; the
  /// attention kernel (2: up to 255 registers) keeps its accumulators in registers.
  void setMinBlocksPerMultiprocessor(int blocks);

  /// `elems` values of `type` in static shared memory, for the whole block.
  mlir::Value sharedArray(int64_t elems, mlir::Type type);
  int64_t sharedBytes() const { return smemBytes; }
  void barrier();

  /// Loads element `index` of `memref` as f32 (floats extend, integers convert).
  mlir::Value loadF32(mlir::Value memref, mlir::Value index);
  /// Stores f32 `value` at `index`, converting to the memref's element type.
  void storeF32(mlir::Value value, mlir::Value memref, mlir::Value index);

  /// scf.for from lo to hi (exclusive) with `step`; the body gets the induction variable.
  void forRange(mlir::Value lo, mlir::Value hi, int64_t step,
                const std::function<void(mlir::Value)> &body);
  /// scf.for with loop-carried values; `body(iv, carried)` returns the next values.
  llvm::SmallVector<mlir::Value>
  forRangeCarried(mlir::Value lo, mlir::Value hi, mlir::Value step, mlir::ValueRange init,
                  const std::function<llvm::SmallVector<mlir::Value>(mlir::Value, mlir::ValueRange)> &body);
  /// `body(i)` for i in [0, count) spread over the block's threads (i = tid, tid + bs, ...).
  void forThreads(mlir::Value count, const std::function<void(mlir::Value)> &body);
  /// scf.if `cond` then `body`.
  void ifThen(mlir::Value cond, const std::function<void()> &body);

  /// Sum (or max) of `v` over the 32 lanes of each warp, in every lane (butterfly shuffles).
  mlir::Value warpReduce(mlir::Value v, bool isMax);
  /// Sum (or max) of `v` over the block, in every thread; the same order for every thread.
  /// Contains barriers: every thread of the block must call it.
  mlir::Value blockReduce(mlir::Value v, bool isMax);

  void finish();

private:
  mlir::OpBuilder builder;
  mlir::Location location;
  mlir::gpu::GPUFuncOp fn;
  int numBindings;
  int64_t threads;
  int64_t smemBytes = 0;
  mlir::Value block, thread;
  mlir::Value reduceScratch;
  std::map<std::pair<int, const void *>, mlir::Value> bindings;
};

} // namespace mvc

#endif
