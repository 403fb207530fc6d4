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

def SetLoweringConfig : Pass<"mvc-set-lowering-config", "mlir::func::FuncOp"> {
  let summary = "Choose each dispatch region's tile sizes, as an attribute codegen reads";
  let description = [{
    Decisions live in IR: every region gets a `lowering_config` dictionary, and the
    kernel templates only read it. matmul: `microkernel_rows` (rows sharing each loaded
    weight vector), `panels_per_workgroup` (16-column weight panels a workgroup owns;
    also the accumulator columns of the microkernel) and `rows_per_workgroup`; row and
    copy: `rows_per_workgroup`, sized so a workgroup touches ~32 KB of each row operand.
  }];
  let options = [
    Option<"microkernelRows", "microkernel-rows", "int64_t", "6",
           "Rows of a matmul microkernel (accumulators = rows x panels)">,
    Option<"panelsPerWorkgroup", "panels-per-workgroup", "int64_t", "4",
           "16-column weight panels per matmul workgroup">,
    Option<"smallBatchRows", "small-batch-rows", "int64_t", "16",
           "Up to this many rows, a matmul runs all rows in one microkernel per panel "
           "(weights streamed once); 0 turns it off">,
  ];
  let dependentDialects = ["mvc::MvcDialect"];
}

#endif
