//===- RowOps.h - the bodies of row ops, written once for every backend -*- C++ -*-===//
//
// A row region (elementwise ops, norms, softmax, RoPE, gathers, row merges, last-axis
// slices and concats) computes each row of each op in turn. What one op does to one row
// is the same on every backend; how the row's elements are visited is not. RowOpEmitter
// holds the ops' bodies and calls a backend's RowLoops for the visiting:
//
//   - cpu (CPU/RowKernel.cpp): one thread walks the row in vector chunks, then a scalar
//     tail; reductions are vector accumulators reduced at the end; scratch rows on the
//     stack.
//   - gpu (CUDA/GpuRowKernel.cpp): one block per row, its threads stride the row (always
//     scalar); reductions go through warp shuffles and shared memory; scratch rows in
//     shared memory, a barrier between ops.
//
// Adding a row op: give it a body in RowOpEmitter::emitOp (and, if it is elementwise, in
// emitElementwise) using only RowLoops; both backends then have it.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_COMPILER_CODEGEN_COMMON_ROWOPS_H
#define MVC_COMPILER_CODEGEN_COMMON_ROWOPS_H

#include "compiler/Codegen/Common/KernelTypes.h"

#include "compiler/Codegen/Common/KernelMath.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"

namespace mvc {

/// How a backend visits the elements of one row. Loop bodies get an element index and a
/// lane count: lanes > 0 means a vector of that many elements starting at the index, 0 a
/// scalar. Values are f32 (vectors or scalars) whatever the memory holds.
class RowLoops : public KernelMath {
public:
  RowLoops(mlir::OpBuilder &b, mlir::Location loc) : KernelMath(b, loc), b(b), loc(loc) {}
  virtual ~RowLoops() = default;

  mlir::OpBuilder &b;
  mlir::Location loc;

  mlir::Value idx(int64_t v);
  mlir::Value f32(float v);

  /// Binding `i` of the kernel as a flat memref of `elementType`.
  virtual mlir::Value binding(int i, mlir::Type elementType) = 0;
  /// Push constant `i` as an index.
  virtual mlir::Value push(int i) = 0;
  /// `body(i, lanes)` over the elements [0, n) of the row, in the backend's chunks.
  virtual void forEach(int64_t n, const std::function<void(mlir::Value, int)> &body) = 0;
  /// `body(i)` over [0, n), one element at a time (scattered addresses).
  virtual void forEachElement(int64_t n, const std::function<void(mlir::Value)> &body) = 0;
  /// The sum (or max) over [0, n) of `body(i, lanes)`, as one f32 every caller sees.
  virtual mlir::Value reduce(int64_t n, bool isMax,
                             const std::function<mlir::Value(mlir::Value, int)> &body) = 0;
  virtual mlir::Value load(mlir::Value memref, mlir::Value index, int lanes) = 0;
  virtual void store(mlir::Value value, mlir::Value memref, mlir::Value index) = 0;
  /// A scalar broadcast to `like`'s vector type (the scalar itself when `like` is one).
  virtual mlir::Value splatLike(mlir::Value scalar, mlir::Value like) = 0;
  /// {sin, cos} of an f32 angle, accurate to f32 rounding at large angles.
  virtual std::pair<mlir::Value, mlir::Value> sinCos(mlir::Value angle) = 0;
  /// Whether gathers may read tables stored as the cpu matmul's 16-row panels.
  virtual bool readsPanelTables() const = 0;
};

/// The ops of one row region, emitted one row at a time over a backend's RowLoops.
class RowOpEmitter {
public:
  RowOpEmitter(DispatchRegionOp region, const DispatchSignature &sig, const DimsOf &dims);

  /// Fails (with an error on the op) unless every value of the region has a static last
  /// dimension.
  mlir::LogicalResult verify();
  /// Rows of the region (the leading dims of its first op's result).
  const SymExpr &rows() const { return numRows; }
  /// The kernel's push constants: the row count, then the row count of each
  /// merge_rows's `rows` operand, in op order.
  const std::vector<SymExpr> &pushConstants() const { return push; }
  /// Values that live only inside the region: each needs a scratch row of lastDim f32s.
  llvm::SmallVector<mlir::Value> scratchValues();
  void setScratch(mlir::Value v, mlir::Value memref) { scratch[v] = memref; }
  /// The region's ops, in order.
  auto ops() { return region.getBody().front().without_terminator(); }

  /// Starts row `row`; per-row addresses are created at the start of `rowBlock`.
  void beginRow(RowLoops &loops, mlir::Value row, mlir::Block *rowBlock);
  /// The body of `op` for the current row.
  mlir::LogicalResult emitOp(mlir::Operation *op);

private:
  std::pair<mlir::Value, mlir::Value> rowOf(mlir::Value v);
  mlir::Value read(mlir::Value v, mlir::Value at, int lanes);
  void write(mlir::Value v, mlir::Value at, mlir::Value value);
  mlir::LogicalResult emitGather(GatherOp gather);
  mlir::LogicalResult emitMergeRows(MergeRowsOp merge);
  mlir::LogicalResult emitMoeCombine(MoeCombineOp combine);
  /// out = sum over j < taps of weight_j · table[row_j] (rows of `table`, n wide), in j
  /// order; `tap(j)` gives (row_j, weight_j) as index and f32.
  void emitWeightedRows(mlir::Value out, mlir::Value table, int64_t taps,
                        const std::function<std::pair<mlir::Value, mlir::Value>(int64_t)> &tap);
  mlir::LogicalResult emitRopeTable(RopeTableOp table);
  mlir::LogicalResult emitRope(RopeOp rope);

  DispatchRegionOp region;
  const DispatchSignature &sig;
  const DimsOf &dims;
  SymExpr numRows;
  std::vector<SymExpr> push;
  llvm::DenseMap<mlir::Operation *, int> mergePush; // merge_rows -> its push constant
  llvm::DenseMap<mlir::Value, int> outputOf;        // region result -> binding
  llvm::DenseMap<mlir::Value, mlir::Value> scratch;
  llvm::DenseMap<mlir::Value, std::pair<mlir::Value, mlir::Value>> rowBases;
  RowLoops *loops = nullptr;
  mlir::Value row;
  mlir::Block *rowBlock = nullptr;
};

/// The math of one elementwise mvc op on f32 values (vectors or scalars): the same
/// formulas in every backend's row kernels and matmul epilogues.
mlir::Value emitElementwise(mlir::OpBuilder &b, mlir::Location loc, mlir::Operation *op,
                            llvm::ArrayRef<mlir::Value> operands);

} // namespace mvc

#endif
