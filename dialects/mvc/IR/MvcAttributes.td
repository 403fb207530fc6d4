//===- MvcAttributes.td - lowering configs of dispatch regions -*- tablegen -*-===//
//
// How a dispatch region's kernel is tiled, one attribute kind per kernel template, set by
// --mvc-set-lowering-config (cpu) or --mvc-set-gpu-lowering-config (cuda) as the region's
// `lowering_config` and read by the template (compiler/Codegen) and nothing else:
//
//   mvc.dispatch_region matmul ... attributes {lowering_config = #mvc.cpu_matmul_config<
//       microkernel_rows = 6, panels_per_workgroup = 4, rows_per_workgroup = 48,
//       small_batch_rows = 16>}
//
//===----------------------------------------------------------------------===//
#ifndef MVC_ATTRIBUTES_TD
#define MVC_ATTRIBUTES_TD

include "MvcBase.td"
include "mlir/IR/AttrTypeBase.td"

class Mvc_ConfigAttr<string name, string attrMnemonic> : AttrDef<Mvc_Dialect, name> {
  let mnemonic = attrMnemonic;
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1; // sizes positive (MvcDialect.cpp)
}

def Mvc_CpuMatmulConfigAttr : Mvc_ConfigAttr<"CpuMatmulConfig", "cpu_matmul_config"> {
  let summary = "cpu matmul tiling: microkernel rows, weight panels and rows per workgroup";
  let description = [{
    `amx_rows` (bf16 weights on CPUs with AMX; 0, the default, elsewhere): rows of the
    tile microkernel (16 or 32, one or two 16-row A tiles), which runs tdpbf16ps over
    16x32 bf16 tiles of the activation and of two 16-column weight panels. A workgroup
    runs its rows in such tiles and the rows left over (fewer than 16) through the vector
    microkernel; rows_per_workgroup is then a multiple of amx_rows.

    `int8_rows` (block-format weights on CPUs with vpdpbusd; 0, the default, elsewhere): a
    matmul of at most this many rows (decode) quantizes its activations to int8 per
    32-value block (scale max|x| / 127, round to nearest even) and runs integer dot
    products against the blocks' values; more rows decode the blocks to f32.

    `microkernel_panels` (0, the default: all of panels_per_workgroup): the panels of one
    microkernel, which steps through the workgroup's panels; divides panels_per_workgroup.
  }];
  let parameters = (ins "int64_t":$microkernel_rows, "int64_t":$panels_per_workgroup,
                        "int64_t":$rows_per_workgroup, "int64_t":$small_batch_rows,
                        DefaultValuedParameter<"int64_t", "0">:$amx_rows,
                        DefaultValuedParameter<"int64_t", "0">:$int8_rows,
                        DefaultValuedParameter<"int64_t", "0">:$microkernel_panels);
}

def Mvc_CpuAttentionConfigAttr : Mvc_ConfigAttr<"CpuAttentionConfig", "cpu_attention_config"> {
  let summary = "cpu attention tiling: query rows of one sequence per workgroup";
  let description = [{
    `amx_query_rows`, `amx_key_rows` (segmented attention with bf16 keys and values on CPUs
    with AMX; 0, the default, elsewhere): the AMX template's query rows per workgroup and
    keys packed per chunk, both multiples of 32 dividing the segment length.
    `head_splits` (default 1): the query heads sharing a KV head go to this many
    workgroups (it divides them), so that a decode step's attention, one query row, has
    more workgroups than KV heads.
  }];
  let parameters = (ins "int64_t":$query_rows,
                        DefaultValuedParameter<"int64_t", "0">:$amx_query_rows,
                        DefaultValuedParameter<"int64_t", "0">:$amx_key_rows,
                        DefaultValuedParameter<"int64_t", "1">:$head_splits);
}

def Mvc_CpuRowsConfigAttr : Mvc_ConfigAttr<"CpuRowsConfig", "cpu_rows_config"> {
  let summary = "cpu row and copy kernels: rows per workgroup";
  let parameters = (ins "int64_t":$rows_per_workgroup);
}

def Mvc_GpuMatmulConfigAttr : Mvc_ConfigAttr<"GpuMatmulConfig", "gpu_matmul_config"> {
  let summary = "cuda matmul tiling: block and warp tiles, K step, pipeline stages, threads";
  let parameters = (ins "int64_t":$tile_m, "int64_t":$tile_n, "int64_t":$tile_k,
                        "int64_t":$stages, "int64_t":$warp_tile_m, "int64_t":$warp_tile_n,
                        "int64_t":$threads);
}

def Mvc_GpuAttentionConfigAttr : Mvc_ConfigAttr<"GpuAttentionConfig", "gpu_attention_config"> {
  let summary = "cuda attention: threads per block and query vectors per warp";
  let parameters = (ins "int64_t":$threads, "int64_t":$query_vectors);
}

#endif // MVC_ATTRIBUTES_TD
