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

def NarrowMatmulInputs : Pass<"mvc-narrow-matmul-inputs", "mlir::func::FuncOp"> {
  let summary = "Round the f32 lhs of bf16-weight matmuls to bf16 by an explicit cast";
  let description = [{
    A matmul with bf16 weights rounds its lhs to bf16 by definition. This pass makes
    that rounding an `mvc.cast` (one per lhs value, right after its definition) so that
    it fuses into the producer, which then writes bf16 once, and the matmul kernel reads
    bf16 rows instead of converting f32 rows in every workgroup. Bit-identical results.
    Run before --mvc-form-dispatch-regions, for targets whose matmul kernels read bf16
    activations (CPUs with bf16 dot products).
  }];
  let dependentDialects = ["mvc::MvcDialect"];
}

def QuantizeWeights : Pass<"mvc-quantize-weights", "mlir::func::FuncOp"> {
  let summary = "Store matmul weights in a block format the kernels decode";
  let description = [{
    Sets `format` on every weight that ungrouped matmuls read as their transposed rhs
    ([N, K]) with K a multiple of the format's block (32; k-quants 256, else their
    block-32 fallback: q4_k -> q5_0, q5_k -> q5_1, q6_k -> q8_0), and nothing else reads but
    unweighted gathers (a tied embedding and LM head), and makes its result f32 (the
    dequantized values). The compiler quantizes the checkpoint's values when it writes
    the artifact (ggml's reference rounding). Other weights (norms, tables only gathers
    read, grouped expert weights, [K, N] weights) keep their type.
    Run before --mvc-narrow-matmul-inputs: a quantized matmul reads f32 activations.
    With `format=keep`, each weight takes the block format its checkpoint stores it in
    (`mvc.source_format`, set by the GGUF reader) when the kernels have that format;
    other weights keep their type.
  }];
  let options = [
    Option<"format", "format", "std::string", "\"q8_0\"",
           "The block format (q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k), or keep "
           "(each weight's mvc.source_format)">,
  ];
  let dependentDialects = ["mvc::MvcDialect"];
}

def SetLoweringConfig : Pass<"mvc-set-lowering-config", "mlir::func::FuncOp"> {
  let summary = "Choose each dispatch region's tile sizes, as an attribute codegen reads";
  let description = [{
    Decisions live in IR: every region gets a typed `lowering_config`
    (`#mvc.cpu_matmul_config`, `#mvc.cpu_attention_config`, `#mvc.cpu_rows_config`:
    dialects/mvc/IR/MvcAttributes.td), and the kernel templates only read it. matmul: `microkernel_rows` (rows sharing each loaded
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
    Option<"amxRows", "amx-rows", "int64_t", "0",
           "Rows of the AMX tile microkernel of bf16-weight matmuls (16 or 32; 0: the "
           "target has no AMX)">,
    Option<"int8Rows", "int8-rows", "int64_t", "0",
           "Block-format matmul workgroups of at most this many rows take int8 "
           "activations and vpdpbusd (0: the target has no int8 dot products)">,
  ];
  let dependentDialects = ["mvc::MvcDialect"];
}

def SetGpuLoweringConfig : Pass<"mvc-set-gpu-lowering-config", "mlir::func::FuncOp"> {
  let summary = "Choose each dispatch region's gpu tiling, as an attribute codegen reads";
  let description = [{
    The gpu family's counterpart of --mvc-set-lowering-config: the cuda templates
    (compiler/Codegen/CUDA) read their tiling from `lowering_config`
    (`#mvc.gpu_matmul_config`, `#mvc.gpu_attention_config`) and nothing else.
    matmul: `tile_m`, `tile_n`, `tile_k` (the block's output tile and K step), `stages`
    (shared-memory copies of the operand tiles, cp.async double buffering),
    `warp_tile_m`, `warp_tile_n` (each warp's part of the block tile, in mma.sync
    m16n8k16 steps) and `threads` (32 per warp). attention: `threads` and
    `query_vectors` (query rows × heads a block holds). Row, copy and kv_write kernels
    size their blocks from the row width.
  }];
  let options = [
    Option<"tileM", "tile-m", "int64_t", "64", "Output rows of a matmul block">,
    Option<"tileN", "tile-n", "int64_t", "64", "Output columns of a matmul block">,
    Option<"tileK", "tile-k", "int64_t", "32", "K step of a matmul block">,
    Option<"stages", "stages", "int64_t", "2", "Shared-memory stages of the operand tiles">,
    Option<"warpTileM", "warp-tile-m", "int64_t", "32", "Output rows of a warp">,
    Option<"warpTileN", "warp-tile-n", "int64_t", "32", "Output columns of a warp">,
    Option<"attentionThreads", "attention-threads", "int64_t", "128",
           "Threads of an attention block">,
    Option<"queryVectors", "query-vectors", "int64_t", "32",
           "Query vectors (rows x heads) of an attention block">,
  ];
  let dependentDialects = ["mvc::MvcDialect"];
}

#endif
