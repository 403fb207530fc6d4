// RUN: mvc-opt %s | mvc-opt | FileCheck %s
// Every op parses, verifies and prints back to a form that parses again.

// CHECK-LABEL: func.func @block
func.func @block(%x: tensor<?x64xf32> {mvc.dims = ["T"]}, %pos: tensor<?xi32> {mvc.dims = ["T"]},
                 %bt: tensor<?x4xi32> {mvc.dims = ["B"]}, %ro: tensor<?xi32> {mvc.dims = ["B1"]},
                 %cl: tensor<?xi32> {mvc.dims = ["B"]}) -> tensor<?x64xf32> {
  // CHECK: mvc.weight "model.layers.0.input_layernorm.weight" : tensor<64xf32>
  %nw = mvc.weight "model.layers.0.input_layernorm.weight" : tensor<64xf32>
  // CHECK: mvc.rms_norm %{{.*}}, %{{.*}} {eps = 9.99999997E-7 : f32, offset = 1.000000e+00 : f32}
  %n = mvc.rms_norm %x, %nw {eps = 1.0e-6 : f32, offset = 1.0 : f32} : (tensor<?x64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  %wq = mvc.weight "q" : tensor<64x64xbf16>
  // CHECK: mvc.matmul %{{.*}}, %{{.*}} {transpose_b}
  %q = mvc.matmul %n, %wq {transpose_b} : (tensor<?x64xf32>, tensor<64x64xbf16>) -> tensor<?x64xf32>
  %q3 = mvc.reshape %q : tensor<?x64xf32> -> tensor<?x4x16xf32>
  %f = arith.constant dense<[1.0, 0.1, 0.01, 0.001]> : tensor<4xf32>
  // CHECK: mvc.rope_table
  %tab = mvc.rope_table %pos, %f : (tensor<?xi32>, tensor<4xf32>) -> tensor<?x8xf32>
  // CHECK: mvc.rope
  %qr = mvc.rope %q3, %tab : (tensor<?x4x16xf32>, tensor<?x8xf32>) -> tensor<?x4x16xf32>
  %kc = mvc.state "kv.0.k" : tensor<?x16x2x16xf32>
  %vc = mvc.state "kv.0.v" : tensor<?x16x2x16xf32>
  %k = mvc.slice %qr {axis = 1 : i64, start = 0 : i64, size = 2 : i64} : tensor<?x4x16xf32> -> tensor<?x2x16xf32>
  // CHECK: mvc.kv_write %{{.*}} into %{{.*}} pages(
  %kc2 = mvc.kv_write %k into %kc pages(%bt, %ro, %cl) : (tensor<?x2x16xf32>, tensor<?x16x2x16xf32>, tensor<?x4xi32>, tensor<?xi32>, tensor<?xi32>) -> tensor<?x16x2x16xf32>
  %vc2 = mvc.kv_write %k into %vc pages(%bt, %ro, %cl) : (tensor<?x2x16xf32>, tensor<?x16x2x16xf32>, tensor<?x4xi32>, tensor<?xi32>, tensor<?xi32>) -> tensor<?x16x2x16xf32>
  // CHECK: mvc.attention {{.*}} pages({{.*}}) {scale = 2.500000e-01 : f32, sliding_window = 8 : i64, softcap = 5.000000e+01 : f32}
  %a = mvc.attention %qr, %kc2, %vc2 pages(%bt, %ro, %cl) {scale = 0.25 : f32, sliding_window = 8, softcap = 50.0 : f32} : (tensor<?x4x16xf32>, tensor<?x16x2x16xf32>, tensor<?x16x2x16xf32>, tensor<?x4xi32>, tensor<?xi32>, tensor<?xi32>) -> tensor<?x4x16xf32>
  %a2 = mvc.reshape %a : tensor<?x4x16xf32> -> tensor<?x64xf32>
  // CHECK: mvc.gelu %{{.*}} {approximate = "tanh"}
  %g = mvc.gelu %a2 {approximate = "tanh"} : tensor<?x64xf32>
  %s = mvc.silu %g : tensor<?x64xf32>
  %sm = mvc.softmax %s : tensor<?x64xf32>
  %sc = mvc.softcap %sm {cap = 30.0 : f32} : tensor<?x64xf32>
  %b = mvc.weight "b" : tensor<64xf32>
  %y = mvc.add %x, %sc : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x64xf32>
  %y1 = mvc.mul %y, %b : tensor<?x64xf32>, tensor<64xf32> -> tensor<?x64xf32>
  // A one-element rhs is a scalar broadcast to every element.
  %one = mvc.weight "layer_scalar" : tensor<1xf32>
  // CHECK: mvc.mul %{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<1xf32> -> tensor<?x64xf32>
  %y2m = mvc.mul %y1, %one : tensor<?x64xf32>, tensor<1xf32> -> tensor<?x64xf32>
  // CHECK: mvc.maximum
  %lo = mvc.maximum %y2m, %one : tensor<?x64xf32>, tensor<1xf32> -> tensor<?x64xf32>
  // CHECK: mvc.minimum
  %y2 = mvc.minimum %lo, %one : tensor<?x64xf32>, tensor<1xf32> -> tensor<?x64xf32>
  %g1 = mvc.weight "g" : tensor<64xf32>
  %ln = mvc.layer_norm %y2, %g1, %b {eps = 1.0e-5 : f32} : (tensor<?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  %c = mvc.cast %ln : tensor<?x64xf32> -> tensor<?x64xbf16>
  %c2 = mvc.cast %c : tensor<?x64xbf16> -> tensor<?x64xf32>
  %h = mvc.slice %c2 {axis = 1 : i64, start = 0 : i64, size = 32 : i64} : tensor<?x64xf32> -> tensor<?x32xf32>
  // CHECK: mvc.concat
  %cat = mvc.concat %h, %h {axis = 1 : i64} : (tensor<?x32xf32>, tensor<?x32xf32>) -> tensor<?x64xf32>
  return %cat : tensor<?x64xf32>
}

// CHECK-LABEL: func.func @embed
func.func @embed(%ids: tensor<?xi32> {mvc.dims = ["T"]}) -> tensor<64x?xf32> {
  %t = mvc.weight "model.embed_tokens.weight" : tensor<1000x64xf32>
  // CHECK: mvc.gather
  %e = mvc.gather %t, %ids : (tensor<1000x64xf32>, tensor<?xi32>) -> tensor<?x64xf32>
  %n = mvc.rms_norm %e {eps = 1.0e-6 : f32} : (tensor<?x64xf32>) -> tensor<?x64xf32>
  // CHECK: mvc.transpose %{{.*}} [1, 0]
  %tr = mvc.transpose %n [1, 0] : tensor<?x64xf32> -> tensor<64x?xf32>
  return %tr : tensor<64x?xf32>
}

// Multimodal pieces: image rows merged into token rows, attention with bidirectional
// image spans (clipped to the window), a checkpoint tensor read with another shape.
// CHECK-LABEL: func.func @multimodal
func.func @multimodal(%x: tensor<?x64xf32> {mvc.dims = ["T"]}, %img: tensor<?x64xf32> {mvc.dims = ["I"]},
                      %src: tensor<?xi32> {mvc.dims = ["T"]}, %spans: tensor<?x2xi32> {mvc.dims = ["T"]},
                      %q: tensor<?x4x16xf32> {mvc.dims = ["T"]}, %c: tensor<?x16x2x16xf32>,
                      %bt: tensor<?x4xi32> {mvc.dims = ["B"]}, %ro: tensor<?xi32> {mvc.dims = ["B1"]},
                      %cl: tensor<?xi32> {mvc.dims = ["B"]}) -> (tensor<?x64xf32>, tensor<?x4x16xf32>, tensor<32x192xf32>) {
  // CHECK: mvc.merge_rows %{{.*}}, %{{.*}}, %{{.*}} : (tensor<?x64xf32>, tensor<?x64xf32>, tensor<?xi32>) -> tensor<?x64xf32>
  %m = mvc.merge_rows %x, %img, %src : (tensor<?x64xf32>, tensor<?x64xf32>, tensor<?xi32>) -> tensor<?x64xf32>
  // CHECK: mvc.attention {{.*}} groups(%{{.*}}) {group_window_clip, scale = 2.500000e-01 : f32, sliding_window = 4 : i64}
  %a = mvc.attention %q, %c, %c pages(%bt, %ro, %cl) groups(%spans) {group_window_clip, scale = 0.25 : f32, sliding_window = 4} : (tensor<?x4x16xf32>, tensor<?x16x2x16xf32>, tensor<?x16x2x16xf32>, tensor<?x4xi32>, tensor<?xi32>, tensor<?xi32>, tensor<?x2xi32>) -> tensor<?x4x16xf32>
  // CHECK: mvc.weight "patch_embedding.weight" {source_shape = array<i64: 32, 3, 8, 8>} : tensor<32x192xf32>
  %w = mvc.weight "patch_embedding.weight" {source_shape = array<i64: 32, 3, 8, 8>} : tensor<32x192xf32>
  return %m, %a, %w : tensor<?x64xf32>, tensor<?x4x16xf32>, tensor<32x192xf32>
}

// A vision tower's frames: attention without tables, each 16-row page one segment seen
// both ways; a reshape whose dynamic dimension scales (frames -> frames x 16 rows).
// CHECK-LABEL: func.func @segments
func.func @segments(%f: tensor<?x16x64xf32> {mvc.dims = ["frames"]}) -> tensor<?x4x16xf32> {
  // CHECK: mvc.reshape %{{.*}} : tensor<?x16x64xf32> -> tensor<?x4x16xf32>
  %q = mvc.reshape %f : tensor<?x16x64xf32> -> tensor<?x4x16xf32>
  %k = mvc.reshape %f : tensor<?x16x64xf32> -> tensor<?x16x4x16xf32>
  // CHECK: mvc.attention %{{.*}}, %{{.*}}, %{{.*}} {scale = 2.500000e-01 : f32} : (tensor<?x4x16xf32>, tensor<?x16x4x16xf32>, tensor<?x16x4x16xf32>) -> tensor<?x4x16xf32>
  %a = mvc.attention %q, %k, %k {scale = 0.25 : f32} : (tensor<?x4x16xf32>, tensor<?x16x4x16xf32>, tensor<?x16x4x16xf32>) -> tensor<?x4x16xf32>
  return %a : tensor<?x4x16xf32>
}

// A frame's padding patches hidden from every row of the frame.
// CHECK-LABEL: func.func @segments_masked
func.func @segments_masked(%q: tensor<?x4x16xf32>, %k: tensor<?x16x4x16xf32>, %m: tensor<?x16xi32>) -> tensor<?x4x16xf32> {
  // CHECK: mvc.attention %{{.*}}, %{{.*}}, %{{.*}} key_mask(%{{.*}}) {scale = 2.500000e-01 : f32}
  %a = mvc.attention %q, %k, %k key_mask(%m) {scale = 0.25 : f32} : (tensor<?x4x16xf32>, tensor<?x16x4x16xf32>, tensor<?x16x4x16xf32>, tensor<?x16xi32>) -> tensor<?x4x16xf32>
  return %a : tensor<?x4x16xf32>
}

// A mixture-of-experts block: routing, tokens in expert order, grouped matmuls, combine.
// CHECK-LABEL: func.func @moe
func.func @moe(%x: tensor<?x16xf32> {mvc.dims = ["T"]}, %logits: tensor<?x4xf32> {mvc.dims = ["T"]}) -> tensor<?x16xf32> {
  %w = mvc.weight "experts" : tensor<4x16x16xbf16>
  // CHECK: mvc.moe_route %{{.*}} {top_k = 2 : i64} : tensor<?x4xf32> -> tensor<?x2xf32>, tensor<?x2xi32>, tensor<?xi32>, tensor<5xi32>
  %rw, %slots, %rows, %groups = mvc.moe_route %logits {top_k = 2 : i64} : tensor<?x4xf32> -> tensor<?x2xf32>, tensor<?x2xi32>, tensor<?xi32>, tensor<5xi32>
  // Gemma 4: each choice's weight times its expert's scale.
  %scale = mvc.weight "per_expert_scale" : tensor<4xf32>
  // CHECK: mvc.moe_route %{{.*}} scale(%{{.*}} : tensor<4xf32>) {top_k = 2 : i64} : tensor<?x4xf32> -> tensor<?x2xf32>
  %sw, %ss, %sr, %sg = mvc.moe_route %logits scale(%scale : tensor<4xf32>) {top_k = 2 : i64} : tensor<?x4xf32> -> tensor<?x2xf32>, tensor<?x2xi32>, tensor<?xi32>, tensor<5xi32>
  %xs = mvc.gather %x, %rows : (tensor<?x16xf32>, tensor<?xi32>) -> tensor<?x16xf32>
  // CHECK: mvc.matmul %{{.*}}, %{{.*}} groups(%{{.*}}) {transpose_b} : (tensor<?x16xf32>, tensor<4x16x16xbf16>, tensor<5xi32>) -> tensor<?x16xf32>
  %y = mvc.matmul %xs, %w groups(%groups) {transpose_b} : (tensor<?x16xf32>, tensor<4x16x16xbf16>, tensor<5xi32>) -> tensor<?x16xf32>
  // CHECK: mvc.moe_combine %{{.*}}, %{{.*}}, %{{.*}} : (tensor<?x16xf32>, tensor<?x2xf32>, tensor<?x2xi32>) -> tensor<?x16xf32>
  %o = mvc.moe_combine %y, %rw, %slots : (tensor<?x16xf32>, tensor<?x2xf32>, tensor<?x2xi32>) -> tensor<?x16xf32>
  return %o : tensor<?x16xf32>
}
