// RUN: mvc-opt %s --mvc-set-lowering-config | FileCheck %s
// RUN: mvc-opt %s --mvc-set-lowering-config="microkernel-rows=4 panels-per-workgroup=2" | FileCheck %s --check-prefix=OPTS

// CHECK-LABEL: func.func @configs
// CHECK: mvc.dispatch_region "matmul" -> tensor<?x64xf32> attributes {lowering_config = {microkernel_rows = 6 : i64, panels_per_workgroup = 4 : i64, rows_per_workgroup = 48 : i64}}
// CHECK: mvc.dispatch_region "row" -> tensor<?x2048xf32> attributes {lowering_config = {rows_per_workgroup = 4 : i64}}
// CHECK: mvc.dispatch_region "row" -> tensor<?x64xf32> attributes {lowering_config = {rows_per_workgroup = 128 : i64}}
// OPTS: lowering_config = {microkernel_rows = 4 : i64, panels_per_workgroup = 2 : i64, rows_per_workgroup = 32 : i64}
func.func @configs(%x: tensor<?x64xf32>, %y: tensor<?x2048xf32>) -> (tensor<?x64xf32>, tensor<?x2048xf32>, tensor<?x64xf32>) {
  %w = mvc.weight "w" : tensor<64x64xf32>
  %m = mvc.dispatch_region "matmul" -> tensor<?x64xf32> {
    %0 = mvc.matmul %x, %w {transpose_b} : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
    mvc.yield %0 : tensor<?x64xf32>
  }
  %r = mvc.dispatch_region "row" -> tensor<?x2048xf32> {
    %0 = mvc.silu %y : tensor<?x2048xf32>
    mvc.yield %0 : tensor<?x2048xf32>
  }
  %s = mvc.dispatch_region "row" -> tensor<?x64xf32> {
    %0 = mvc.silu %x : tensor<?x64xf32>
    mvc.yield %0 : tensor<?x64xf32>
  }
  return %m, %r, %s : tensor<?x64xf32>, tensor<?x2048xf32>, tensor<?x64xf32>
}
