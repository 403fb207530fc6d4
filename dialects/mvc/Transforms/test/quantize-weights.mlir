// RUN: mvc-opt %s --mvc-quantize-weights --split-input-file --verify-diagnostics | FileCheck %s
// RUN: mvc-opt %s --mvc-quantize-weights=format=keep --split-input-file --verify-diagnostics | FileCheck %s --check-prefix=KEEP
// RUN: mvc-opt %s --mvc-quantize-weights=format=q4_0 --split-input-file --verify-diagnostics | FileCheck %s --check-prefix=MIX
// RUN: mvc-opt %s --mvc-quantize-weights=format=q4_k --split-input-file --verify-diagnostics | FileCheck %s --check-prefix=Q4K
// RUN: mvc-opt %s --mvc-quantize-weights=format=q6_k --split-input-file --verify-diagnostics | FileCheck %s --check-prefix=Q6K

// Projections read as [N, K] with K a multiple of 32 are stored as q8_0 (and typed f32,
// their dequantized values), and so is a tied embedding that a gather also reads; a
// [K, N] weight, a K of 40, a norm weight and a table only a gather reads keep their types.
// CHECK-LABEL: func.func @projections
// CHECK-DAG: mvc.weight "q" {format = "q8_0"} : tensor<48x64xf32>
// CHECK-DAG: mvc.weight "kn" : tensor<64x48xbf16>
// CHECK-DAG: mvc.weight "odd" : tensor<16x40xbf16>
// CHECK-DAG: mvc.weight "norm" : tensor<64xbf16>
// CHECK-DAG: mvc.weight "embed" {format = "q8_0"} : tensor<100x64xf32>
// CHECK-DAG: mvc.weight "table" : tensor<100x64xbf16>
// CHECK: mvc.matmul %{{.*}}, %{{.*}} {transpose_b} : (tensor<?x64xf32>, tensor<48x64xf32>) -> tensor<?x48xf32>
// With a 4-bit format the tied embedding stays q8_0, and so does "q": its result is one
// of the function's (an output projection, as an LM head is).
// MIX-LABEL: func.func @projections
// MIX-DAG: mvc.weight "q" {format = "q8_0"} : tensor<48x64xf32>
// MIX-DAG: mvc.weight "embed" {format = "q8_0"} : tensor<100x64xf32>
func.func @projections(%x: tensor<?x64xf32>, %x40: tensor<?x40xf32>, %ids: tensor<?xi32>)
    -> (tensor<?x48xf32>, tensor<?x48xf32>, tensor<?x16xf32>, tensor<?x64xf32>, tensor<?x100xf32>) {
  %q = mvc.weight "q" : tensor<48x64xbf16>
  %kn = mvc.weight "kn" : tensor<64x48xbf16>
  %odd = mvc.weight "odd" : tensor<16x40xbf16>
  %norm = mvc.weight "norm" : tensor<64xbf16>
  %embed = mvc.weight "embed" : tensor<100x64xbf16>
  %table = mvc.weight "table" : tensor<100x64xbf16>
  %0 = mvc.matmul %x, %q {transpose_b} : (tensor<?x64xf32>, tensor<48x64xbf16>) -> tensor<?x48xf32>
  %1 = mvc.matmul %x, %kn : (tensor<?x64xf32>, tensor<64x48xbf16>) -> tensor<?x48xf32>
  %2 = mvc.matmul %x40, %odd {transpose_b} : (tensor<?x40xf32>, tensor<16x40xbf16>) -> tensor<?x16xf32>
  %h0 = mvc.gather %embed, %ids : (tensor<100x64xbf16>, tensor<?xi32>) -> tensor<?x64xf32>
  %h1 = mvc.gather %table, %ids : (tensor<100x64xbf16>, tensor<?xi32>) -> tensor<?x64xf32>
  %h = mvc.add %h0, %h1 : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x64xf32>
  %3 = mvc.rms_norm %h, %norm {eps = 1.0e-06 : f32} : (tensor<?x64xf32>, tensor<64xbf16>) -> tensor<?x64xf32>
  %4 = mvc.matmul %3, %embed {transpose_b} : (tensor<?x64xf32>, tensor<100x64xbf16>) -> tensor<?x100xf32>
  return %0, %1, %2, %3, %4 : tensor<?x48xf32>, tensor<?x48xf32>, tensor<?x16xf32>, tensor<?x64xf32>, tensor<?x100xf32>
}

// -----

// An untied LM head (its logits returned through a softcap) stays q8_0 under a 4-bit
// format; a projection whose result is only an input of later ops takes the format.
// MIX-LABEL: func.func @lm_head
// MIX-DAG: mvc.weight "up" {format = "q4_0"} : tensor<64x64xf32>
// MIX-DAG: mvc.weight "lm" {format = "q8_0"} : tensor<96x64xf32>
// CHECK-LABEL: func.func @lm_head
// CHECK-DAG: mvc.weight "lm" {format = "q8_0"} : tensor<96x64xf32>
func.func @lm_head(%x: tensor<?x64xf32>) -> tensor<?x96xf32> {
  %up = mvc.weight "up" : tensor<64x64xbf16>
  %lm = mvc.weight "lm" : tensor<96x64xbf16>
  %h = mvc.matmul %x, %up {transpose_b} : (tensor<?x64xf32>, tensor<64x64xbf16>) -> tensor<?x64xf32>
  %l = mvc.matmul %h, %lm {transpose_b} : (tensor<?x64xf32>, tensor<96x64xbf16>) -> tensor<?x96xf32>
  %t = mvc.tanh %l : tensor<?x96xf32>
  return %t : tensor<?x96xf32>
}

// -----

// k-quants group 256 values of a row: a K of 256 takes the k-quant, a K of 64 its block-32
// fallback of at least as many bits (q4_k -> q5_0, q6_k -> q8_0), as llama.cpp falls back;
// the returned projection is q8_0 under q4_k (the mix) and stays q6_k under q6_k ("wide"
// reaches a result only through five elementwise ops, more than the mix follows).
// Q4K-LABEL: func.func @kquants
// Q4K-DAG: mvc.weight "wide" {format = "q4_k"} : tensor<32x256xf32>
// Q4K-DAG: mvc.weight "narrow" {format = "q5_0"} : tensor<256x64xf32>
// Q4K-DAG: mvc.weight "head" {format = "q8_0"} : tensor<96x256xf32>
// Q6K-LABEL: func.func @kquants
// Q6K-DAG: mvc.weight "wide" {format = "q6_k"} : tensor<32x256xf32>
// Q6K-DAG: mvc.weight "narrow" {format = "q8_0"} : tensor<256x64xf32>
// Q6K-DAG: mvc.weight "head" {format = "q6_k"} : tensor<96x256xf32>
func.func @kquants(%x: tensor<?x256xf32>, %y: tensor<?x64xf32>) -> (tensor<?x32xf32>, tensor<?x96xf32>) {
  %wide = mvc.weight "wide" : tensor<32x256xbf16>
  %narrow = mvc.weight "narrow" : tensor<256x64xbf16>
  %head = mvc.weight "head" : tensor<96x256xbf16>
  %a = mvc.matmul %x, %wide {transpose_b} : (tensor<?x256xf32>, tensor<32x256xbf16>) -> tensor<?x32xf32>
  %n = mvc.matmul %y, %narrow {transpose_b} : (tensor<?x64xf32>, tensor<256x64xbf16>) -> tensor<?x256xf32>
  %s = mvc.silu %n : tensor<?x256xf32>
  %t = mvc.silu %s : tensor<?x256xf32>
  %u = mvc.silu %t : tensor<?x256xf32>
  %v = mvc.silu %u : tensor<?x256xf32>
  %w = mvc.silu %v : tensor<?x256xf32>
  %l = mvc.matmul %w, %head {transpose_b} : (tensor<?x256xf32>, tensor<96x256xbf16>) -> tensor<?x96xf32>
  %r = mvc.silu %a : tensor<?x32xf32>
  %r2 = mvc.silu %r : tensor<?x32xf32>
  %r3 = mvc.silu %r2 : tensor<?x32xf32>
  %r4 = mvc.silu %r3 : tensor<?x32xf32>
  %r5 = mvc.silu %r4 : tensor<?x32xf32>
  return %r5, %l : tensor<?x32xf32>, tensor<?x96xf32>
}

// -----

// The verifier: a block-format weight is only read by block kernels.
func.func @normed(%x: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{weight 'w' in format q8_0 may only be the transposed rhs of ungrouped matmuls or the table of unweighted gathers, but 'mvc.rms_norm' reads it otherwise}}
  %w = mvc.weight "w" {format = "q8_0"} : tensor<16x64xf32>
  %n = mvc.rms_norm %x, %w {eps = 1.0e-06 : f32} : (tensor<?x64xf32>, tensor<16x64xf32>) -> tensor<?x64xf32>
  return %n : tensor<?x64xf32>
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
  // expected-error @+1 {{weight 'w': unknown format 'q4_x' (expected q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k or q6_k)}}
  %w = mvc.weight "w" {format = "q4_x"} : tensor<16x64xf32>
  %y = mvc.matmul %x, %w {transpose_b} : (tensor<?x64xf32>, tensor<16x64xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

// format=keep: each weight's checkpoint format where the kernels have it (q4_1 here);
// a q6_k tensor (no kernel yet) keeps its type. A named format ignores the source's.
// KEEP-LABEL: func.func @keep
// KEEP-DAG: mvc.weight "a" {format = "q4_1", mvc.source_format = "q4_1"} : tensor<32x64xf32>
// KEEP-DAG: mvc.weight "b" {mvc.source_format = "q6_k"} : tensor<32x64xbf16>
// CHECK-LABEL: func.func @keep
// CHECK-DAG: mvc.weight "a" {format = "q8_0", mvc.source_format = "q4_1"} : tensor<32x64xf32>
// CHECK-DAG: mvc.weight "b" {format = "q8_0", mvc.source_format = "q6_k"} : tensor<32x64xf32>
func.func @keep(%x: tensor<?x64xf32>) -> (tensor<?x32xf32>, tensor<?x32xf32>) {
  %a = mvc.weight "a" {mvc.source_format = "q4_1"} : tensor<32x64xbf16>
  %b = mvc.weight "b" {mvc.source_format = "q6_k"} : tensor<32x64xbf16>
  %0 = mvc.matmul %x, %a {transpose_b} : (tensor<?x64xf32>, tensor<32x64xbf16>) -> tensor<?x32xf32>
  %1 = mvc.matmul %x, %b {transpose_b} : (tensor<?x64xf32>, tensor<32x64xbf16>) -> tensor<?x32xf32>
  return %0, %1 : tensor<?x32xf32>, tensor<?x32xf32>
}
