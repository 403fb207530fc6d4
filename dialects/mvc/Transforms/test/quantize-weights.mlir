// RUN: mvc-opt %s --mvc-quantize-weights --split-input-file --verify-diagnostics | FileCheck %s

// Projections read as [N, K] with K a multiple of 32 are stored as q8_0 (and typed f32,
// their dequantized values); a [K, N] weight, a K of 40, a norm weight and an embedding
// table that a gather also reads keep their types.
// CHECK-LABEL: func.func @projections
// CHECK-DAG: mvc.weight "q" {format = "q8_0"} : tensor<48x64xf32>
// CHECK-DAG: mvc.weight "kn" : tensor<64x48xbf16>
// CHECK-DAG: mvc.weight "odd" : tensor<16x40xbf16>
// CHECK-DAG: mvc.weight "norm" : tensor<64xbf16>
// CHECK-DAG: mvc.weight "embed" : tensor<100x64xbf16>
// CHECK: mvc.matmul %{{.*}}, %{{.*}} {transpose_b} : (tensor<?x64xf32>, tensor<48x64xf32>) -> tensor<?x48xf32>
func.func @projections(%x: tensor<?x64xf32>, %x40: tensor<?x40xf32>, %ids: tensor<?xi32>)
    -> (tensor<?x48xf32>, tensor<?x48xf32>, tensor<?x16xf32>, tensor<?x64xf32>, tensor<?x100xf32>) {
  %q = mvc.weight "q" : tensor<48x64xbf16>
  %kn = mvc.weight "kn" : tensor<64x48xbf16>
  %odd = mvc.weight "odd" : tensor<16x40xbf16>
  %norm = mvc.weight "norm" : tensor<64xbf16>
  %embed = mvc.weight "embed" : tensor<100x64xbf16>
  %0 = mvc.matmul %x, %q {transpose_b} : (tensor<?x64xf32>, tensor<48x64xbf16>) -> tensor<?x48xf32>
  %1 = mvc.matmul %x, %kn : (tensor<?x64xf32>, tensor<64x48xbf16>) -> tensor<?x48xf32>
  %2 = mvc.matmul %x40, %odd {transpose_b} : (tensor<?x40xf32>, tensor<16x40xbf16>) -> tensor<?x16xf32>
  %h = mvc.gather %embed, %ids : (tensor<100x64xbf16>, tensor<?xi32>) -> tensor<?x64xf32>
  %3 = mvc.rms_norm %h, %norm {eps = 1.0e-06 : f32} : (tensor<?x64xf32>, tensor<64xbf16>) -> tensor<?x64xf32>
  %4 = mvc.matmul %3, %embed {transpose_b} : (tensor<?x64xf32>, tensor<100x64xbf16>) -> tensor<?x100xf32>
  return %0, %1, %2, %3, %4 : tensor<?x48xf32>, tensor<?x48xf32>, tensor<?x16xf32>, tensor<?x64xf32>, tensor<?x100xf32>
}

// -----

// The verifier: a q8_0 weight is only ever a matmul's transposed rhs.
func.func @gathered(%ids: tensor<?xi32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{weight 'embed' in format q8_0 may only be the transposed rhs of ungrouped matmuls, but 'mvc.gather' reads it}}
  %embed = mvc.weight "embed" {format = "q8_0"} : tensor<100x64xf32>
  %h = mvc.gather %embed, %ids : (tensor<100x64xf32>, tensor<?xi32>) -> tensor<?x64xf32>
  return %h : tensor<?x64xf32>
}

// -----

func.func @short_rows(%x: tensor<?x40xf32>) -> tensor<?x16xf32> {
  // expected-error @+1 {{weight 'w' in format q8_0 must be f32 [N, K] with K a multiple of 32}}
  %w = mvc.weight "w" {format = "q8_0"} : tensor<16x40xf32>
  %y = mvc.matmul %x, %w {transpose_b} : (tensor<?x40xf32>, tensor<16x40xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

func.func @unknown(%x: tensor<?x64xf32>) -> tensor<?x16xf32> {
  // expected-error @+1 {{weight 'w': unknown format 'q4_x' (expected q8_0)}}
  %w = mvc.weight "w" {format = "q4_x"} : tensor<16x64xf32>
  %y = mvc.matmul %x, %w {transpose_b} : (tensor<?x64xf32>, tensor<16x64xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}
