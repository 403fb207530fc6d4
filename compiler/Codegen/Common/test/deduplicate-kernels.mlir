// RUN: mvc-opt --mvc-deduplicate-kernels --split-input-file %s | FileCheck %s

// Kernels that differ only in their names become the first of them; the erased names are
// recorded as aliases. A kernel that differs in a constant, an attribute or its signature
// stays.
// CHECK: module attributes {mvc.kernel_aliases = {forward_d2_row = @forward_d0_row, forward_d3_row = @forward_d0_row}}
// CHECK-LABEL: func.func @forward_d0_row
// CHECK: arith.constant 2.000000e+00
// CHECK-LABEL: func.func @forward_d1_row
// CHECK: arith.constant 3.000000e+00
// CHECK-NOT: func.func @forward_d2_row
// CHECK-NOT: func.func @forward_d3_row
// CHECK-LABEL: func.func @forward_d4_row
// CHECK-SAME: mvc.tag
// CHECK-LABEL: func.func @forward_d5_row(%{{.*}}: f32, %{{.*}}: f64)
func.func @forward_d0_row(%x: f32) -> f32 {
  %c = arith.constant 2.0 : f32
  %y = arith.mulf %x, %c : f32
  return %y : f32
}
func.func @forward_d1_row(%x: f32) -> f32 {
  %c = arith.constant 3.0 : f32
  %y = arith.mulf %x, %c : f32
  return %y : f32
}
func.func @forward_d2_row(%x: f32) -> f32 {
  %c = arith.constant 2.0 : f32
  %y = arith.mulf %x, %c : f32
  return %y : f32
}
func.func @forward_d3_row(%a: f32) -> f32 {
  %two = arith.constant 2.0 : f32
  %r = arith.mulf %a, %two : f32
  return %r : f32
}
func.func @forward_d4_row(%x: f32) -> f32 attributes {mvc.tag} {
  %c = arith.constant 2.0 : f32
  %y = arith.mulf %x, %c : f32
  return %y : f32
}
func.func @forward_d5_row(%x: f32, %unused: f64) -> f32 {
  %c = arith.constant 2.0 : f32
  %y = arith.mulf %x, %c : f32
  return %y : f32
}

// -----

// gpu kernels: deduplicated within their gpu.module, launch attributes included.
// CHECK: module attributes {gpu.container_module, mvc.kernel_aliases = {k2 = @k0}}
// CHECK: gpu.func @k0
// CHECK: gpu.func @k1
// CHECK-SAME: known_block_size = array<i32: 64, 1, 1>
// CHECK-NOT: gpu.func @k2
module attributes {gpu.container_module} {
  gpu.module @mvc_kernels {
    gpu.func @k0(%p: f32) kernel attributes {known_block_size = array<i32: 32, 1, 1>} {
      gpu.return
    }
    gpu.func @k1(%p: f32) kernel attributes {known_block_size = array<i32: 64, 1, 1>} {
      gpu.return
    }
    gpu.func @k2(%p: f32) kernel attributes {known_block_size = array<i32: 32, 1, 1>} {
      gpu.return
    }
  }
}
