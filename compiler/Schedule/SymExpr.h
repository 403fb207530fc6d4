//===- SymExpr.h - symbolic sizes of dynamic shapes -------------*- C++ -*-===//
//
// An integer expression over named dynamic sizes ("T", "num_pages"), folded as it is
// built; the manifest holds it as the runtime's Expr (runtime/artifact/Expr.h).
//
//===----------------------------------------------------------------------===//
#ifndef MVC_COMPILER_SCHEDULE_SYMEXPR_H
#define MVC_COMPILER_SCHEDULE_SYMEXPR_H

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "runtime/artifact/Expr.h"

namespace mvc {

class SymExpr {
public:
  enum class Kind { Constant, Symbol, Add, Mul, FloorDiv, CeilDiv, Min, Max };

  SymExpr(int64_t value = 0);                        // NOLINT: constants convert implicitly
  static SymExpr symbol(const std::string &name);

  friend SymExpr operator+(const SymExpr &a, const SymExpr &b);
  friend SymExpr operator*(const SymExpr &a, const SymExpr &b);
  static SymExpr floorDiv(const SymExpr &a, const SymExpr &b);
  static SymExpr ceilDiv(const SymExpr &a, const SymExpr &b);
  static SymExpr min(const SymExpr &a, const SymExpr &b);
  static SymExpr max(const SymExpr &a, const SymExpr &b);

  std::optional<int64_t> constant() const;
  /// Structural equality after folding (T*64 == T*64; not a proof of value equality).
  bool operator==(const SymExpr &o) const { return toExpr() == o.toExpr(); }

  /// The same expression as the manifest's Expr (its RPN: lhs, rhs, operator).
  Expr toExpr() const;
  std::string str() const;

private:
  struct Node;
  SymExpr(std::shared_ptr<const Node> node) : node(std::move(node)) {}
  static SymExpr binary(Kind kind, const SymExpr &a, const SymExpr &b);
  std::shared_ptr<const Node> node;
};

} // namespace mvc

#endif
