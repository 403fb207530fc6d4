//===- SymExpr.cpp - symbolic sizes of dynamic shapes ---------------------===//
#include "compiler/Schedule/SymExpr.h"

#include <algorithm>

namespace mvc {

struct SymExpr::Node {
  Kind kind;
  int64_t value = 0;
  std::string name;
  std::shared_ptr<const Node> lhs, rhs;
};

SymExpr::SymExpr(int64_t value) {
  auto n = std::make_shared<Node>();
  n->kind = Kind::Constant;
  n->value = value;
  node = n;
}

SymExpr SymExpr::symbol(const std::string &name) {
  auto n = std::make_shared<Node>();
  n->kind = Kind::Symbol;
  n->name = name;
  return SymExpr(std::shared_ptr<const Node>(n));
}

std::optional<int64_t> SymExpr::constant() const {
  if (node->kind == Kind::Constant) return node->value;
  return std::nullopt;
}

SymExpr SymExpr::binary(Kind kind, const SymExpr &a, const SymExpr &b) {
  auto n = std::make_shared<Node>();
  n->kind = kind;
  n->lhs = a.node;
  n->rhs = b.node;
  return SymExpr(std::shared_ptr<const Node>(n));
}

SymExpr operator+(const SymExpr &a, const SymExpr &b) {
  auto ca = a.constant(), cb = b.constant();
  if (ca && cb) return SymExpr(*ca + *cb);
  if (ca && *ca == 0) return b;
  if (cb && *cb == 0) return a;
  return SymExpr::binary(SymExpr::Kind::Add, a, b);
}

SymExpr operator*(const SymExpr &a, const SymExpr &b) {
  auto ca = a.constant(), cb = b.constant();
  if (ca && cb) return SymExpr(*ca * *cb);
  if (ca && *ca == 1) return b;
  if (cb && *cb == 1) return a;
  if ((ca && *ca == 0) || (cb && *cb == 0)) return SymExpr(0);
  // Keep constants on the right and merge (x * c1) * c2.
  if (ca) return b * a;
  if (cb && a.node->kind == SymExpr::Kind::Mul && a.node->rhs->kind == SymExpr::Kind::Constant)
    return SymExpr(a.node->lhs) * SymExpr(a.node->rhs->value * *cb);
  return SymExpr::binary(SymExpr::Kind::Mul, a, b);
}

SymExpr SymExpr::floorDiv(const SymExpr &a, const SymExpr &b) {
  auto ca = a.constant(), cb = b.constant();
  if (ca && cb && *cb > 0) return SymExpr(*ca / *cb);
  if (cb && *cb == 1) return a;
  if (cb && a.node->kind == Kind::Mul && a.node->rhs->kind == Kind::Constant &&
      a.node->rhs->value % *cb == 0)
    return SymExpr(a.node->lhs) * SymExpr(a.node->rhs->value / *cb);
  return binary(Kind::FloorDiv, a, b);
}

SymExpr SymExpr::ceilDiv(const SymExpr &a, const SymExpr &b) {
  auto ca = a.constant(), cb = b.constant();
  if (ca && cb && *cb > 0) return SymExpr((*ca + *cb - 1) / *cb);
  if (cb && *cb == 1) return a;
  if (cb && a.node->kind == Kind::Mul && a.node->rhs->kind == Kind::Constant &&
      a.node->rhs->value % *cb == 0)
    return SymExpr(a.node->lhs) * SymExpr(a.node->rhs->value / *cb);
  return binary(Kind::CeilDiv, a, b);
}

SymExpr SymExpr::min(const SymExpr &a, const SymExpr &b) {
  auto ca = a.constant(), cb = b.constant();
  if (ca && cb) return SymExpr(std::min(*ca, *cb));
  if (a == b) return a;
  return binary(Kind::Min, a, b);
}

SymExpr SymExpr::max(const SymExpr &a, const SymExpr &b) {
  auto ca = a.constant(), cb = b.constant();
  if (ca && cb) return SymExpr(std::max(*ca, *cb));
  if (a == b) return a;
  return binary(Kind::Max, a, b);
}

static const char *opName(SymExpr::Kind k) {
  switch (k) {
  case SymExpr::Kind::Add: return "+";
  case SymExpr::Kind::Mul: return "*";
  case SymExpr::Kind::FloorDiv: return "floordiv";
  case SymExpr::Kind::CeilDiv: return "ceildiv";
  case SymExpr::Kind::Min: return "min";
  case SymExpr::Kind::Max: return "max";
  default: return "?";
  }
}

Expr SymExpr::toExpr() const {
  Expr::Op op = Expr::Op::Add;
  switch (node->kind) {
  case Kind::Constant: return Expr::constant(node->value);
  case Kind::Symbol: return Expr::symbol(node->name);
  case Kind::Add: op = Expr::Op::Add; break;
  case Kind::Mul: op = Expr::Op::Mul; break;
  case Kind::FloorDiv: op = Expr::Op::FloorDiv; break;
  case Kind::CeilDiv: op = Expr::Op::CeilDiv; break;
  case Kind::Min: op = Expr::Op::Min; break;
  case Kind::Max: op = Expr::Op::Max; break;
  }
  return Expr::binary(op, SymExpr(node->lhs).toExpr(), SymExpr(node->rhs).toExpr());
}

std::string SymExpr::str() const {
  switch (node->kind) {
  case Kind::Constant: return std::to_string(node->value);
  case Kind::Symbol: return node->name;
  case Kind::Add: return "(" + SymExpr(node->lhs).str() + " + " + SymExpr(node->rhs).str() + ")";
  case Kind::Mul: return SymExpr(node->lhs).str() + "*" + SymExpr(node->rhs).str();
  default:
    return std::string(opName(node->kind)) + "(" + SymExpr(node->lhs).str() + ", " +
           SymExpr(node->rhs).str() + ")";
  }
}

} // namespace mvc
