// RUN: mvc-opt %s --mvc-set-lowering-config | FileCheck %s
// RUN: mvc-opt %s --mvc-set-lowering-config="microkernel-rows=4 panels-per-workgroup=2" | FileCheck %s --check-prefix=OPTS

// CHECK-LABEL: func.func @configs
// CHECK: mvc.dispatch_region matmul -> tensor<?x64xf32> attributes {lowering_config = #mvc.cpu_matmul_config<microkernel_rows = 6, panels_per_workgroup = 4, rows_per_workgroup = 48, small_batch_rows = 16>}
// CHECK: mvc.dispatch_region row -> tensor<?x2048xf32> attributes {lowering_config = #mvc.cpu_rows_config<rows_per_workgroup = 4>}
// CHECK: mvc.dispatch_region row -> tensor<?x64xf32> attributes {lowering_config = #mvc.cpu_rows_config<rows_per_workgroup = 128>}
// OPTS: lowering_config = #mvc.cpu_matmul_config<microkernel_rows = 4, panels_per_workgroup = 2, rows_per_workgroup = 32, small_batch_rows = 16>
func.func @configs(%x: tensor<?x64xf32>, %y: tensor<?x2048xf32>) -> (tensor<?x64xf32>, tensor<?x2048xf32>, tensor<?x64xf32>) {
  %w = mvc.weight "w" : tensor<64x64xf32>
  %m = mvc.dispatch_region matmul -> tensor<?x64xf32> {
    %0 = mvc.matmul %x, %w {transpose_b} : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
    mvc.yield %0 : tensor<?x64xf32>
  }
  %r = mvc.dispatch_region row -> tensor<?x2048xf32> {
    %0 = mvc.silu %y : tensor<?x2048xf32>
    mvc.yield %0 : tensor<?x2048xf32>
  }
  %s = mvc.dispatch_region row -> tensor<?x64xf32> {
    %0 = mvc.silu %x : tensor<?x64xf32>
    mvc.yield %0 : tensor<?x64xf32>
  }
  return %m, %r, %s : tensor<?x64xf32>, tensor<?x2048xf32>, tensor<?x64xf32>
}

// The small-batch microkernel rereads all its rows for every panel, so they must fit
// 32 KiB: a 2048-long contraction allows 8 rows of bf16 pairs (bf16 weights), 4 of f32.
// CHECK-LABEL: func.func @small_batch_rows
// CHECK: small_batch_rows = 8>
// CHECK: small_batch_rows = 4>
func.func @small_batch_rows(%x: tensor<?x2048xf32>) -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  %wb = mvc.weight "wb" : tensor<64x2048xbf16>
  %wf = mvc.weight "wf" : tensor<64x2048xf32>
  %b = mvc.dispatch_region matmul -> tensor<?x64xf32> {
    %0 = mvc.matmul %x, %wb {transpose_b} : (tensor<?x2048xf32>, tensor<64x2048xbf16>) -> tensor<?x64xf32>
    mvc.yield %0 : tensor<?x64xf32>
  }
  %f = mvc.dispatch_region matmul -> tensor<?x64xf32> {
    %0 = mvc.matmul %x, %wf {transpose_b} : (tensor<?x2048xf32>, tensor<64x2048xf32>) -> tensor<?x64xf32>
    mvc.yield %0 : tensor<?x64xf32>
  }
  return %b, %f : tensor<?x64xf32>, tensor<?x64xf32>
}

// Attention blocks query rows so their accumulators (rows x query heads of a workgroup x
// head_dim f32) fit 16 KiB. Gemma 3 270M has one KV head: its 4 query heads go to 2
// workgroups (a decode step's one row then has two), 4096 / (2 x 256) = 8 rows;
// SigLIP's 72-wide heads, one per KV head, would allow 56: capped at 16.
// CHECK-LABEL: func.func @attention_rows
// CHECK: mvc.dispatch_region attention {{.*}} {lowering_config = #mvc.cpu_attention_config<query_rows = 8, head_splits = 2>}
// CHECK: mvc.dispatch_region attention {{.*}} {lowering_config = #mvc.cpu_attention_config<query_rows = 16>}
func.func @attention_rows(%q: tensor<?x4x256xf32>, %c: tensor<?x16x1x256xf32>, %q2: tensor<?x16x72xf32>,
                          %c2: tensor<?x16x16x72xf32>, %bt: tensor<?x4xi32>, %ro: tensor<?xi32>,
                          %cl: tensor<?xi32>) -> (tensor<?x4x256xf32>, tensor<?x16x72xf32>) {
  %a = mvc.dispatch_region attention -> tensor<?x4x256xf32> {
    %0 = mvc.attention %q, %c, %c pages(%bt, %ro, %cl) {scale = 1.0 : f32} : (tensor<?x4x256xf32>, tensor<?x16x1x256xf32>, tensor<?x16x1x256xf32>, tensor<?x4xi32>, tensor<?xi32>, tensor<?xi32>) -> tensor<?x4x256xf32>
    mvc.yield %0 : tensor<?x4x256xf32>
  }
  %b = mvc.dispatch_region attention -> tensor<?x16x72xf32> {
    %0 = mvc.attention %q2, %c2, %c2 pages(%bt, %ro, %cl) {scale = 1.0 : f32} : (tensor<?x16x72xf32>, tensor<?x16x16x72xf32>, tensor<?x16x16x72xf32>, tensor<?x4xi32>, tensor<?xi32>, tensor<?xi32>) -> tensor<?x16x72xf32>
    mvc.yield %0 : tensor<?x16x72xf32>
  }
  return %a, %b : tensor<?x4x256xf32>, tensor<?x16x72xf32>
}
