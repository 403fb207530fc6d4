//===- MvcOps.h - ops of the mvc dialect --------------------------*- C++ -*-===//
#ifndef MVC_DIALECTS_MVC_IR_MVCOPS_H
#define MVC_DIALECTS_MVC_IR_MVCOPS_H

#include "dialects/mvc/IR/MvcDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mvc::OpTrait {
/// Computed element by element (dialects/mvc/IR/MvcInterfaces.td).
template <typename ConcreteType>
class Elementwise : public mlir::OpTrait::TraitBase<ConcreteType, Elementwise> {};
} // namespace mvc::OpTrait

#include "dialects/mvc/IR/MvcEnums.h.inc"
#define GET_ATTRDEF_CLASSES
#include "dialects/mvc/IR/MvcAttributes.h.inc"
#include "dialects/mvc/IR/MvcInterfaces.h.inc"

#define GET_OP_CLASSES
#include "dialects/mvc/IR/MvcOps.h.inc"

#include <optional>

namespace mvc {
/// The block format (`format`, e.g. "q4_k") of the mvc.weight that defines `v`, if `v` is
/// a weight stored in one.
std::optional<llvm::StringRef> weightFormat(mlir::Value v);
} // namespace mvc

#endif
