// RUN: mvc-opt %s --canonicalize | FileCheck %s

// CHECK-LABEL: func.func @identities
// CHECK-SAME: (%[[X:.*]]: tensor<4x16xf32>)
// CHECK-NOT: mvc.
// CHECK: return %[[X]]
func.func @identities(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %a = mvc.scale %x {factor = 1.0 : f32} : tensor<4x16xf32>
  %b = mvc.cast %a : tensor<4x16xf32> -> tensor<4x16xf32>
  %c = mvc.transpose %b [0, 1] : tensor<4x16xf32> -> tensor<4x16xf32>
  %d = mvc.slice %c {axis = 1 : i64, start = 0 : i64, size = 16 : i64} : tensor<4x16xf32> -> tensor<4x16xf32>
  %e = mvc.reshape %d : tensor<4x16xf32> -> tensor<4x16xf32>
  return %e : tensor<4x16xf32>
}

// CHECK-LABEL: func.func @reshape_chain
// CHECK: %[[R:.*]] = mvc.reshape %{{.*}} : tensor<4x16xf32> -> tensor<64xf32>
// CHECK-NEXT: return %[[R]]
func.func @reshape_chain(%x: tensor<4x16xf32>) -> tensor<64xf32> {
  %a = mvc.reshape %x : tensor<4x16xf32> -> tensor<2x32xf32>
  %b = mvc.reshape %a : tensor<2x32xf32> -> tensor<64xf32>
  return %b : tensor<64xf32>
}

// CHECK-LABEL: func.func @scale_kept
// CHECK: mvc.scale
func.func @scale_kept(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %a = mvc.scale %x {factor = 8.0 : f32} : tensor<4x16xf32>
  return %a : tensor<4x16xf32>
}
