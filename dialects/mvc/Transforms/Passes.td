//===- Passes.td - graph passes of the mvc dialect ----------*- tablegen -*-===//
#ifndef MVC_TRANSFORMS_PASSES_TD
#define MVC_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def FormDispatchRegions : Pass<"mvc-form-dispatch-regions", "mlir::func::FuncOp"> {
  let summary = "Group ops into dispatch regions, one kernel each";
  let description = [{
    Roots are the ops that need a kernel template of their own: matmul, attention,
    kv_write. Row-wise ops (elementwise, norms, softmax, RoPE, gather, cast) with the same
    row shape fuse into one "row" region; elementwise consumers of a matmul fuse into its
    epilogue when every other operand is read at the output element (or broadcast along
    rows). Reshapes, slices along the leading rows and weights/states stay outside:
    reshapes and weights are views, not kernels.
  }];
  let dependentDialects = ["mvc::MvcDialect"];
}

#endif
