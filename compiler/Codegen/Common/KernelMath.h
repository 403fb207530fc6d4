//===- KernelMath.h - one-op arithmetic helpers for kernel templates -*- C++ -*-===//
//
// The arithmetic every template writes over and over (addresses and tile coordinates in
// index math, f32 math on scalars or vectors), one `arith` op per call at the builder's
// insertion point. Templates inherit it (the gpu emitters, RowLoops, the cpu copy
// emitter) or make one where they need it: one set of helpers instead of one per emitter.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_COMPILER_CODEGEN_COMMON_KERNELMATH_H
#define MVC_COMPILER_CODEGEN_COMMON_KERNELMATH_H

#include <optional>

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"

namespace mvc {

class KernelMath {
public:
  /// Unbound: bindMath() before the first op (templates whose builder comes later).
  KernelMath() = default;
  KernelMath(mlir::OpBuilder &b, mlir::Location loc) { bindMath(b, loc); }
  void bindMath(mlir::OpBuilder &b, mlir::Location loc) {
    mathBuilder = &b;
    mathLoc = loc;
  }

  // Index (and integer) math.
  mlir::Value add(mlir::Value x, mlir::Value y) { return create<mlir::arith::AddIOp>(x, y); }
  mlir::Value sub(mlir::Value x, mlir::Value y) { return create<mlir::arith::SubIOp>(x, y); }
  mlir::Value mul(mlir::Value x, mlir::Value y) { return create<mlir::arith::MulIOp>(x, y); }
  /// x / d and x % d (unsigned) by a constant.
  mlir::Value div(mlir::Value x, int64_t d) { return create<mlir::arith::DivUIOp>(x, index(d)); }
  mlir::Value rem(mlir::Value x, int64_t d) { return create<mlir::arith::RemUIOp>(x, index(d)); }
  mlir::Value cmp(mlir::arith::CmpIPredicate p, mlir::Value x, mlir::Value y) {
    return create<mlir::arith::CmpIOp>(p, x, y);
  }
  /// x < y, unsigned.
  mlir::Value lt(mlir::Value x, mlir::Value y) { return cmp(mlir::arith::CmpIPredicate::ult, x, y); }
  /// x && y of two i1.
  mlir::Value both(mlir::Value x, mlir::Value y) { return create<mlir::arith::AndIOp>(x, y); }
  mlir::Value select(mlir::Value c, mlir::Value x, mlir::Value y) {
    return create<mlir::arith::SelectOp>(c, x, y);
  }
  // Float math (scalars or vectors).
  mlir::Value addf(mlir::Value x, mlir::Value y) { return create<mlir::arith::AddFOp>(x, y); }
  mlir::Value subf(mlir::Value x, mlir::Value y) { return create<mlir::arith::SubFOp>(x, y); }
  mlir::Value mulf(mlir::Value x, mlir::Value y) { return create<mlir::arith::MulFOp>(x, y); }
  mlir::Value divf(mlir::Value x, mlir::Value y) { return create<mlir::arith::DivFOp>(x, y); }

private:
  template <typename Op, typename... Args> mlir::Value create(Args &&...args) {
    return Op::create(*mathBuilder, *mathLoc, std::forward<Args>(args)...);
  }
  mlir::Value index(int64_t v) {
    return mlir::arith::ConstantIndexOp::create(*mathBuilder, *mathLoc, v);
  }

  mlir::OpBuilder *mathBuilder = nullptr;
  std::optional<mlir::Location> mathLoc;
};

} // namespace mvc

#endif // MVC_COMPILER_CODEGEN_COMMON_KERNELMATH_H
