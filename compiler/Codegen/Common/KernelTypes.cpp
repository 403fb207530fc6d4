//===- KernelTypes.cpp - what every kernel backend works with ------------===//
#include "compiler/Codegen/Common/KernelTypes.h"

using namespace mlir;

namespace mvc {

int DispatchSignature::bindingOf(Value v) const {
  for (auto [i, o] : llvm::enumerate(operands))
    if (o == v) return i;
  for (auto [i, r] : llvm::enumerate(results))
    if (r == v) return operands.size() + i;
  return -1;
}

SymExpr product(const std::vector<SymExpr> &dims, size_t from, size_t to) {
  SymExpr p(1);
  for (size_t i = from; i < to; ++i) p = p * dims[i];
  return p;
}

} // namespace mvc
