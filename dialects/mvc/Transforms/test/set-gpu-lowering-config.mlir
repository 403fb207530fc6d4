// RUN: mvc-opt %s --mvc-set-gpu-lowering-config | FileCheck %s
// RUN: mvc-opt %s --mvc-set-gpu-lowering-config="tile-m=128 warp-tile-m=32 stages=3" | FileCheck %s --check-prefix=OPTS
// RUN: not mvc-opt %s --mvc-set-gpu-lowering-config="tile-n=48" 2>&1 | FileCheck %s --check-prefix=BAD

// The cuda templates' tiling (compiler/Codegen/CUDA): a matmul's block and warp tiles,
// K step, stages and threads (32 per warp); an attention block's threads and query
// vectors; row kernels size their blocks from the row width (no config).
// CHECK-LABEL: func.func @configs
// CHECK: mvc.dispatch_region matmul -> tensor<?x64xf32> attributes {lowering_config = #mvc.gpu_matmul_config<tile_m = 64, tile_n = 64, tile_k = 32, stages = 2, warp_tile_m = 32, warp_tile_n = 32, threads = 128>}
// CHECK: mvc.dispatch_region row -> tensor<?x64xf32> {
// OPTS: lowering_config = #mvc.gpu_matmul_config<tile_m = 128, tile_n = 64, tile_k = 32, stages = 3, warp_tile_m = 32, warp_tile_n = 32, threads = 256>
// BAD: mvc-set-gpu-lowering-config: tiles must be positive and whole multiples of the warp tiles
func.func @configs(%x: tensor<?x64xf32>) -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  %w = mvc.weight "w" : tensor<64x64xf32>
  %m = mvc.dispatch_region matmul -> tensor<?x64xf32> {
    %0 = mvc.matmul %x, %w {transpose_b} : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
    mvc.yield %0 : tensor<?x64xf32>
  }
  %s = mvc.dispatch_region row -> tensor<?x64xf32> {
    %0 = mvc.silu %x : tensor<?x64xf32>
    mvc.yield %0 : tensor<?x64xf32>
  }
  return %m, %s : tensor<?x64xf32>, tensor<?x64xf32>
}
