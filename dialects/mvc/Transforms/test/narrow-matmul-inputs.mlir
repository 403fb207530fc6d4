// RUN: mvc-opt %s --mvc-narrow-matmul-inputs --split-input-file | FileCheck %s
// RUN: mvc-opt %s --mvc-narrow-matmul-inputs --mvc-form-dispatch-regions --split-input-file | FileCheck %s --check-prefix=FUSED

// The normed rows feed three bf16-weight projections: one cast to bf16, right after the
// norm, read by all three; the f32 norm result is no longer read by a matmul. In the
// dispatch regions the cast is part of the norm's row kernel, so the norm writes bf16.
// CHECK-LABEL: func.func @shared_lhs
// CHECK: %[[N:.*]] = mvc.layer_norm
// CHECK-NEXT: %[[C:.*]] = mvc.cast %[[N]] : tensor<?x64xf32> -> tensor<?x64xbf16>
// CHECK-NEXT: mvc.weight
// CHECK: mvc.matmul %[[C]], %{{.*}} : (tensor<?x64xbf16>, tensor<32x64xbf16>)
// CHECK: mvc.matmul %[[C]], %{{.*}} : (tensor<?x64xbf16>, tensor<32x64xbf16>)
// CHECK: mvc.matmul %[[C]], %{{.*}} : (tensor<?x64xbf16>, tensor<32x64xbf16>)
// CHECK-NOT: mvc.cast
// FUSED-LABEL: func.func @shared_lhs
// FUSED: %[[ROW:.*]] = mvc.dispatch_region row -> tensor<?x64xbf16> {
// FUSED-NEXT:   mvc.layer_norm
// FUSED-NEXT:   mvc.cast
// FUSED-NEXT:   mvc.yield
// FUSED-COUNT-3: mvc.matmul %[[ROW]]
func.func @shared_lhs(%x: tensor<?x64xf32>) -> (tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>) {
  %g = mvc.weight "g" : tensor<64xf32>
  %bias = mvc.weight "b" : tensor<64xf32>
  %n = mvc.layer_norm %x, %g, %bias {eps = 1.0e-6 : f32} : (tensor<?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  %wq = mvc.weight "wq" : tensor<32x64xbf16>
  %wk = mvc.weight "wk" : tensor<32x64xbf16>
  %wv = mvc.weight "wv" : tensor<32x64xbf16>
  %q = mvc.matmul %n, %wq {transpose_b} : (tensor<?x64xf32>, tensor<32x64xbf16>) -> tensor<?x32xf32>
  %k = mvc.matmul %n, %wk {transpose_b} : (tensor<?x64xf32>, tensor<32x64xbf16>) -> tensor<?x32xf32>
  %v = mvc.matmul %n, %wv {transpose_b} : (tensor<?x64xf32>, tensor<32x64xbf16>) -> tensor<?x32xf32>
  return %q, %k, %v : tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>
}

// -----

// fc1 -> gelu -> fc2: the cast joins fc1's epilogue, which then stores bf16. f32 weights
// and an lhs that is already bf16 are left alone. A function argument gets its cast at the
// top of the body.
// CHECK-LABEL: func.func @mlp
// CHECK-NEXT: %[[A:.*]] = mvc.cast %arg0 : tensor<?x64xf32> -> tensor<?x64xbf16>
// CHECK: mvc.matmul %[[A]]
// CHECK: %[[G:.*]] = mvc.gelu
// CHECK-NEXT: %[[GC:.*]] = mvc.cast %[[G]]
// CHECK: mvc.matmul %[[GC]]
// CHECK: mvc.matmul %[[G]], %{{.*}} : (tensor<?x128xf32>, tensor<64x128xf32>)
// CHECK: mvc.matmul %arg1, %{{.*}} : (tensor<?x64xbf16>, tensor<128x64xbf16>)
// FUSED-LABEL: func.func @mlp
// FUSED: mvc.dispatch_region matmul -> tensor<?x128xf32>, tensor<?x128xbf16> {
// FUSED-NEXT:   mvc.matmul
// FUSED-NEXT:   mvc.gelu
// FUSED-NEXT:   mvc.cast
func.func @mlp(%x: tensor<?x64xf32>, %y: tensor<?x64xbf16>) -> (tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x128xf32>) {
  %w1 = mvc.weight "w1" : tensor<128x64xbf16>
  %w2 = mvc.weight "w2" : tensor<64x128xbf16>
  %w3 = mvc.weight "w3" : tensor<64x128xf32>
  %h = mvc.matmul %x, %w1 {transpose_b} : (tensor<?x64xf32>, tensor<128x64xbf16>) -> tensor<?x128xf32>
  %g = mvc.gelu %h : tensor<?x128xf32>
  %o = mvc.matmul %g, %w2 {transpose_b} : (tensor<?x128xf32>, tensor<64x128xbf16>) -> tensor<?x64xf32>
  %p = mvc.matmul %g, %w3 {transpose_b} : (tensor<?x128xf32>, tensor<64x128xf32>) -> tensor<?x64xf32>
  %q = mvc.matmul %y, %w1 {transpose_b} : (tensor<?x64xbf16>, tensor<128x64xbf16>) -> tensor<?x128xf32>
  return %o, %p, %q : tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x128xf32>
}
