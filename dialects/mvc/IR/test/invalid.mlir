// RUN: mvc-opt %s -split-input-file -verify-diagnostics

func.func @matmul_k_mismatch(%x: tensor<?x64xf32>) -> tensor<?x32xf32> {
  %w = mvc.weight "w" : tensor<32x48xf32>
  // expected-error @+1 {{contraction sizes differ: lhs has K=64, rhs has K=48 (transposed)}}
  %y = mvc.matmul %x, %w {transpose_b} : (tensor<?x64xf32>, tensor<32x48xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

func.func @dynamic_weight() -> tensor<?xf32> {
  // expected-error @+1 {{weight 'w' must have a static shape}}
  %w = mvc.weight "w" : tensor<?xf32>
  return %w : tensor<?xf32>
}

// -----

func.func @broadcast(%x: tensor<?x64xf32>, %b: tensor<32xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{rhs [32] does not broadcast to lhs [?, 64]}}
  %y = mvc.add %x, %b : tensor<?x64xf32>, tensor<32xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

func.func @norm_weight(%x: tensor<?x64xf32>, %w: tensor<32xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{weight must be [64] (the last dimension of the input), got [32]}}
  %y = mvc.rms_norm %x, %w {eps = 1.0e-6 : f32} : (tensor<?x64xf32>, tensor<32xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

func.func @norm_offset_without_weight(%x: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{offset needs a weight}}
  %y = mvc.rms_norm %x {eps = 1.0e-6 : f32, offset = 1.0 : f32} : (tensor<?x64xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

func.func @rope_table(%p: tensor<?xi32>) -> tensor<?x16xf32> {
  %f = arith.constant dense<1.0> : tensor<9xf32>
  // expected-error @+1 {{result must be [T, 18], got [?, 16]}}
  %t = mvc.rope_table %p, %f : (tensor<?xi32>, tensor<9xf32>) -> tensor<?x16xf32>
  return %t : tensor<?x16xf32>
}

// -----

func.func @rope_wide_table(%x: tensor<?x4x16xf32>, %t: tensor<?x18xf32>) -> tensor<?x4x16xf32> {
  // expected-error @+1 {{table must be [T, 2R] with 2R <= D, got [?, 18]}}
  %y = mvc.rope %x, %t : (tensor<?x4x16xf32>, tensor<?x18xf32>) -> tensor<?x4x16xf32>
  return %y : tensor<?x4x16xf32>
}

// -----

func.func @gqa(%q: tensor<?x3x16xf32>, %c: tensor<?x16x2x16xf32>, %bt: tensor<?x4xi32>, %ro: tensor<?xi32>, %cl: tensor<?xi32>) -> tensor<?x3x16xf32> {
  // expected-error @+1 {{query heads (3) must be a multiple of kv heads (2)}}
  %a = mvc.attention %q, %c, %c pages(%bt, %ro, %cl) {scale = 0.25 : f32} : (tensor<?x3x16xf32>, tensor<?x16x2x16xf32>, tensor<?x16x2x16xf32>, tensor<?x4xi32>, tensor<?xi32>, tensor<?xi32>) -> tensor<?x3x16xf32>
  return %a : tensor<?x3x16xf32>
}

// -----

func.func @reshape_count(%x: tensor<4x16xf32>) -> tensor<8x16xf32> {
  // expected-error @+1 {{element count differs: [4, 16] vs [8, 16]}}
  %y = mvc.reshape %x : tensor<4x16xf32> -> tensor<8x16xf32>
  return %y : tensor<8x16xf32>
}

// -----

func.func @transpose_perm(%x: tensor<4x16xf32>) -> tensor<16x4xf32> {
  // expected-error @+1 {{permutation is not a permutation of 0..1}}
  %y = mvc.transpose %x [1, 1] : tensor<4x16xf32> -> tensor<16x4xf32>
  return %y : tensor<16x4xf32>
}

// -----

func.func @slice_bounds(%x: tensor<4x16xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{slice [12, 20) out of bounds of dim 1 [4, 16]}}
  %y = mvc.slice %x {axis = 1 : i64, start = 12 : i64, size = 8 : i64} : tensor<4x16xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @gelu_mode(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{approximate must be "none" or "tanh", got "fast"}}
  %y = mvc.gelu %x {approximate = "fast"} : tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

func.func @group_spans_shape(%q: tensor<?x4x16xf32>, %c: tensor<?x16x2x16xf32>, %bt: tensor<?x4xi32>, %ro: tensor<?xi32>, %cl: tensor<?xi32>, %g: tensor<?xi32>) -> tensor<?x4x16xf32> {
  // expected-error @+1 {{group_spans must be [T, 2], got [?]}}
  %a = mvc.attention %q, %c, %c pages(%bt, %ro, %cl) groups(%g) {scale = 0.25 : f32} : (tensor<?x4x16xf32>, tensor<?x16x2x16xf32>, tensor<?x16x2x16xf32>, tensor<?x4xi32>, tensor<?xi32>, tensor<?xi32>, tensor<?xi32>) -> tensor<?x4x16xf32>
  return %a : tensor<?x4x16xf32>
}

// -----

func.func @group_clip_without_spans(%q: tensor<?x4x16xf32>, %c: tensor<?x16x2x16xf32>, %bt: tensor<?x4xi32>, %ro: tensor<?xi32>, %cl: tensor<?xi32>) -> tensor<?x4x16xf32> {
  // expected-error @+1 {{group_window_clip needs group_spans}}
  %a = mvc.attention %q, %c, %c pages(%bt, %ro, %cl) {group_window_clip, scale = 0.25 : f32, sliding_window = 4} : (tensor<?x4x16xf32>, tensor<?x16x2x16xf32>, tensor<?x16x2x16xf32>, tensor<?x4xi32>, tensor<?xi32>, tensor<?xi32>) -> tensor<?x4x16xf32>
  return %a : tensor<?x4x16xf32>
}

// -----

func.func @segments_with_window(%q: tensor<?x4x16xf32>, %c: tensor<?x16x2x16xf32>) -> tensor<?x4x16xf32> {
  // expected-error @+1 {{without tables (segments) takes no group_spans and no sliding_window}}
  %a = mvc.attention %q, %c, %c {scale = 0.25 : f32, sliding_window = 4} : (tensor<?x4x16xf32>, tensor<?x16x2x16xf32>, tensor<?x16x2x16xf32>) -> tensor<?x4x16xf32>
  return %a : tensor<?x4x16xf32>
}

// -----

func.func @segments_rows(%q: tensor<40x4x16xf32>, %c: tensor<2x16x2x16xf32>) -> tensor<40x4x16xf32> {
  // expected-error @+1 {{without tables the query has one row per key: 2 segments of 16 rows, not 40}}
  %a = mvc.attention %q, %c, %c {scale = 0.25 : f32} : (tensor<40x4x16xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> tensor<40x4x16xf32>
  return %a : tensor<40x4x16xf32>
}

// -----

func.func @reshape_dynamic_ratio(%x: tensor<?x6xf32>) -> tensor<?x4xf32> {
  // expected-error @+1 {{static dimensions must multiply to sizes that divide one another: [?, 6] vs [?, 4]}}
  %y = mvc.reshape %x : tensor<?x6xf32> -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// -----

func.func @merge_rows_width(%x: tensor<?x64xf32>, %img: tensor<?x32xf32>, %src: tensor<?xi32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{base rows have 64 elements, rows have 32}}
  %m = mvc.merge_rows %x, %img, %src : (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?xi32>) -> tensor<?x64xf32>
  return %m : tensor<?x64xf32>
}

// -----

func.func @weight_source_shape() -> tensor<32x192xf32> {
  // expected-error @+1 {{source_shape of weight 'w' must hold as many elements as its type}}
  %w = mvc.weight "w" {source_shape = array<i64: 32, 3, 8>} : tensor<32x192xf32>
  return %w : tensor<32x192xf32>
}

// -----

func.func @lowering_config_kind(%x: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{lowering_config #mvc.cpu_matmul_config<microkernel_rows = 6, panels_per_workgroup = 4, rows_per_workgroup = 48, small_batch_rows = 16> is not a config of a row kernel}}
  %r = mvc.dispatch_region row -> tensor<?x64xf32> attributes {lowering_config = #mvc.cpu_matmul_config<microkernel_rows = 6, panels_per_workgroup = 4, rows_per_workgroup = 48, small_batch_rows = 16>} {
    %0 = mvc.silu %x : tensor<?x64xf32>
    mvc.yield %0 : tensor<?x64xf32>
  }
  return %r : tensor<?x64xf32>
}

// -----

func.func @lowering_config_positive(%x: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{#mvc.cpu_rows_config: rows_per_workgroup must be positive, got 0}}
  %r = mvc.dispatch_region row -> tensor<?x64xf32> attributes {lowering_config = #mvc.cpu_rows_config<rows_per_workgroup = 0>} {
    %0 = mvc.silu %x : tensor<?x64xf32>
    mvc.yield %0 : tensor<?x64xf32>
  }
  return %r : tensor<?x64xf32>
}

// -----

func.func @key_mask_with_tables(%q: tensor<?x4x16xf32>, %c: tensor<?x16x2x16xf32>, %bt: tensor<?x4xi32>, %ro: tensor<?xi32>, %cl: tensor<?xi32>, %m: tensor<?x16xi32>) -> tensor<?x4x16xf32> {
  // expected-error @+1 {{key_mask is for segments (no tables)}}
  %a = mvc.attention %q, %c, %c pages(%bt, %ro, %cl) key_mask(%m) {scale = 0.25 : f32} : (tensor<?x4x16xf32>, tensor<?x16x2x16xf32>, tensor<?x16x2x16xf32>, tensor<?x4xi32>, tensor<?xi32>, tensor<?xi32>, tensor<?x16xi32>) -> tensor<?x4x16xf32>
  return %a : tensor<?x4x16xf32>
}

// -----

func.func @key_mask_shape(%q: tensor<?x4x16xf32>, %c: tensor<?x16x2x16xf32>, %m: tensor<?x8xi32>) -> tensor<?x4x16xf32> {
  // expected-error @+1 {{key_mask must be [segments, 16], got [?, 8]}}
  %a = mvc.attention %q, %c, %c key_mask(%m) {scale = 0.25 : f32} : (tensor<?x4x16xf32>, tensor<?x16x2x16xf32>, tensor<?x16x2x16xf32>, tensor<?x8xi32>) -> tensor<?x4x16xf32>
  return %a : tensor<?x4x16xf32>
}

// -----

func.func @grouped_matmul_groups(%x: tensor<?x16xf32>, %g: tensor<4xi32>) -> tensor<?x8xf32> {
  %w = mvc.weight "w" : tensor<4x8x16xf32>
  // expected-error @+1 {{groups must be [E + 1] for the rhs's E = 4 experts, got [4]}}
  %y = mvc.matmul %x, %w groups(%g) {transpose_b} : (tensor<?x16xf32>, tensor<4x8x16xf32>, tensor<4xi32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

func.func @grouped_matmul_rank(%x: tensor<?x16xf32>, %g: tensor<5xi32>) -> tensor<?x8xf32> {
  %w = mvc.weight "w" : tensor<8x16xf32>
  // expected-error @+1 {{expects a rank-2 lhs and result and a rank-3 rhs, got [?, 16] x [8, 16]}}
  %y = mvc.matmul %x, %w groups(%g) {transpose_b} : (tensor<?x16xf32>, tensor<8x16xf32>, tensor<5xi32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

func.func @moe_route_top_k(%l: tensor<?x4xf32>) -> tensor<?x5xf32> {
  // expected-error @+1 {{top_k must be in [1, 4] (the expert count), got 5}}
  %w, %s, %r, %g = mvc.moe_route %l {top_k = 5 : i64} : tensor<?x4xf32> -> tensor<?x5xf32>, tensor<?x5xi32>, tensor<?xi32>, tensor<5xi32>
  return %w : tensor<?x5xf32>
}

// -----

func.func @moe_route_groups(%l: tensor<?x4xf32>) -> tensor<?x2xf32> {
  // expected-error @+1 {{groups must be [5], got [4]}}
  %w, %s, %r, %g = mvc.moe_route %l {top_k = 2 : i64} : tensor<?x4xf32> -> tensor<?x2xf32>, tensor<?x2xi32>, tensor<?xi32>, tensor<4xi32>
  return %w : tensor<?x2xf32>
}

// -----

func.func @moe_route_scale(%l: tensor<?x4xf32>, %e: tensor<5xf32>) -> tensor<?x2xf32> {
  // expected-error @+1 {{expert_scale must be [4], got [5]}}
  %w, %s, %r, %g = mvc.moe_route %l scale(%e : tensor<5xf32>) {top_k = 2 : i64} : tensor<?x4xf32> -> tensor<?x2xf32>, tensor<?x2xi32>, tensor<?xi32>, tensor<5xi32>
  return %w : tensor<?x2xf32>
}

// -----

func.func @moe_combine_k(%d: tensor<?x8xf32>, %w: tensor<?x2xf32>, %s: tensor<?x3xi32>) -> tensor<?x8xf32> {
  // expected-error @+1 {{weights and slots must both be [T, k] with a static k}}
  %y = mvc.moe_combine %d, %w, %s : (tensor<?x8xf32>, tensor<?x2xf32>, tensor<?x3xi32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

func.func @mrope_axes(%p: tensor<?x3xi32>) -> tensor<?x8xf32> {
  %f = arith.constant dense<[1.0, 0.5, 0.25, 0.125]> : tensor<4xf32>
  %a = arith.constant dense<[0, 1, 2]> : tensor<3xi32>
  // expected-error @+1 {{axes must be [4] (one per frequency), got [3]}}
  %t = mvc.rope_table %p, %f axes(%a) : (tensor<?x3xi32>, tensor<4xf32>, tensor<3xi32>) -> tensor<?x8xf32>
  return %t : tensor<?x8xf32>
}

// -----

func.func @varlen_pages(%q: tensor<?x2x16xf32>, %k: tensor<?x2x2x16xf32>, %s: tensor<?xi32>) -> tensor<?x2x16xf32> {
  // expected-error @+1 {{with segments the keys and values are [T, 1, kv_heads, D] (the query's rows), got [?, 2, 2, 16]}}
  %o = mvc.attention %q, %k, %k segments(%s) {scale = 0.25 : f32} : (tensor<?x2x16xf32>, tensor<?x2x2x16xf32>, tensor<?x2x2x16xf32>, tensor<?xi32>) -> tensor<?x2x16xf32>
  return %o : tensor<?x2x16xf32>
}
