//===- MvcInterfaces.td - how mvc ops become kernels ------*- tablegen -*-===//
//
// What --mvc-form-dispatch-regions and the codegen ask of an op: which kernel template
// computes it (DispatchKind), which of its operands it reads row for row (so their
// producers may share its row region), and whether it is elementwise (so it may join a
// matmul's epilogue). Declared on the ops, not kept as lists in the passes.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_INTERFACES_TD
#define MVC_INTERFACES_TD

include "mlir/IR/EnumAttr.td"
include "mlir/IR/OpBase.td"

def Mvc_DispatchKind : I32EnumAttr<"DispatchKind",
    "the kernel template that computes a dispatch region", [
      I32EnumAttrCase<"row", 0>,       // row by row over the last axis (Common/RowOps.cpp)
      I32EnumAttrCase<"matmul", 1>,    // a matmul and its elementwise epilogue
      I32EnumAttrCase<"attention", 2>, // paged attention
      I32EnumAttrCase<"kv_write", 3>,  // new keys/values into a paged cache
      I32EnumAttrCase<"copy", 4>,      // transposes, slices and concats off the last axis
      I32EnumAttrCase<"moe_route", 5>  // expert routing and the sort of its choices
    ]> {
  let cppNamespace = "::mvc";
}

def Mvc_KernelOpInterface : OpInterface<"KernelOpInterface"> {
  let cppNamespace = "::mvc";
  let description = [{
    An op that a kernel computes (every op except views, weights, states and constants).
    The defaults describe a row op that reads all its operands as rows.
  }];
  let methods = [
    InterfaceMethod<"The kernel template that computes this op.",
      "::mvc::DispatchKind", "getDispatchKind", (ins), [{}],
      [{ return ::mvc::DispatchKind::row; }]>,
    InterfaceMethod<[{
        The operands read as rows of this op's own row space: a row region holding their
        producer (with the same row shape) may take this op in. Operands read by index
        (gather ids and tables, merge_rows' `rows` and `source`) are not listed; an op
        listing none starts a region of its own.
      }],
      "::llvm::SmallVector<::mlir::Value>", "getRowOperands", (ins), [{}],
      [{ return ::llvm::SmallVector<::mlir::Value>($_op->getOperands()); }]>,
  ];
}

/// Computed element by element (operands of the result's shape or a suffix of it): may
/// join the epilogue of the matmul that produces an operand.
def Mvc_Elementwise : NativeOpTrait<"Elementwise"> {
  let cppNamespace = "::mvc::OpTrait";
}

#endif // MVC_INTERFACES_TD
