// RUN: mvc-opt %s --mvc-form-dispatch-regions --split-input-file | FileCheck %s

// A residual add and the next norm share rows: one row kernel with two results. The
// matmul that follows takes the residual add of its consumer into its epilogue.
// CHECK-LABEL: func.func @residual_norm_matmul
// CHECK: %[[ROW:.*]]:2 = mvc.dispatch_region row -> tensor<?x64xf32>, tensor<?x64xf32> {
// CHECK-NEXT:   mvc.add
// CHECK-NEXT:   mvc.rms_norm
// CHECK-NEXT:   mvc.yield
// CHECK: mvc.dispatch_region matmul -> tensor<?x64xf32> {
// CHECK-NEXT:   mvc.matmul %[[ROW]]#1
// CHECK-NEXT:   mvc.add %{{.*}}, %[[ROW]]#0
// CHECK-NEXT:   mvc.yield
func.func @residual_norm_matmul(%x: tensor<?x64xf32>, %r: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %nw = mvc.weight "norm" : tensor<64xf32>
  %w = mvc.weight "w" : tensor<64x64xf32>
  %h = mvc.add %x, %r : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x64xf32>
  %n = mvc.rms_norm %h, %nw {eps = 1.0e-6 : f32, offset = 1.0 : f32} : (tensor<?x64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  %y = mvc.matmul %n, %w {transpose_b} : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  %o = mvc.add %y, %h : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x64xf32>
  return %o : tensor<?x64xf32>
}

// -----

// Different row shapes do not fuse; the reshape between them is a view.
// CHECK-LABEL: func.func @row_shapes
// CHECK: mvc.dispatch_region row
// CHECK-NEXT: mvc.silu
// CHECK: mvc.reshape
// CHECK: mvc.dispatch_region row
// CHECK-NEXT: mvc.rms_norm
func.func @row_shapes(%x: tensor<?x64xf32>) -> tensor<?x4x16xf32> {
  %a = mvc.silu %x : tensor<?x64xf32>
  %b = mvc.reshape %a : tensor<?x64xf32> -> tensor<?x4x16xf32>
  %c = mvc.rms_norm %b {eps = 1.0e-6 : f32} : (tensor<?x4x16xf32>) -> tensor<?x4x16xf32>
  return %c : tensor<?x4x16xf32>
}

// -----

// A norm cannot be a matmul epilogue (it needs the whole row); gelu(gate) * up can.
// CHECK-LABEL: func.func @epilogues
// CHECK: mvc.dispatch_region matmul
// CHECK-NEXT: mvc.matmul
// CHECK-NEXT: mvc.yield
// CHECK: mvc.dispatch_region matmul
// CHECK-NEXT: mvc.matmul
// CHECK-NEXT: mvc.gelu
// CHECK-NEXT: mvc.mul
// CHECK-NEXT: mvc.yield
// CHECK: mvc.dispatch_region row
// CHECK-NEXT: mvc.rms_norm
func.func @epilogues(%x: tensor<?x64xf32>) -> tensor<?x128xf32> {
  %wu = mvc.weight "up" : tensor<128x64xf32>
  %wg = mvc.weight "gate" : tensor<128x64xf32>
  %u = mvc.matmul %x, %wu {transpose_b} : (tensor<?x64xf32>, tensor<128x64xf32>) -> tensor<?x128xf32>
  %g = mvc.matmul %x, %wg {transpose_b} : (tensor<?x64xf32>, tensor<128x64xf32>) -> tensor<?x128xf32>
  %a = mvc.gelu %g {approximate = "tanh"} : tensor<?x128xf32>
  %m = mvc.mul %a, %u : tensor<?x128xf32>, tensor<?x128xf32> -> tensor<?x128xf32>
  %n = mvc.rms_norm %m {eps = 1.0e-6 : f32} : (tensor<?x128xf32>) -> tensor<?x128xf32>
  return %n : tensor<?x128xf32>
}

// -----

// A gather selects other rows (here: the rows whose logits are wanted), so it starts a
// region of its own even though its table comes from a row region; the norm after it
// joins it.
// CHECK-LABEL: func.func @gather_rows
// CHECK: mvc.dispatch_region row
// CHECK-NEXT: mvc.add
// CHECK-NEXT: mvc.yield
// CHECK: mvc.dispatch_region row
// CHECK-NEXT: mvc.gather
// CHECK-NEXT: mvc.rms_norm
// CHECK-NEXT: mvc.yield
func.func @gather_rows(%x: tensor<?x64xf32>, %rows: tensor<?xi32>) -> tensor<?x64xf32> {
  %h = mvc.add %x, %x : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x64xf32>
  %g = mvc.gather %h, %rows : (tensor<?x64xf32>, tensor<?xi32>) -> tensor<?x64xf32>
  %n = mvc.rms_norm %g {eps = 1.0e-6 : f32} : (tensor<?x64xf32>) -> tensor<?x64xf32>
  return %n : tensor<?x64xf32>
}

// -----

// merge_rows reads its base row by row, so it joins the embedding gather's region; the
// image rows and their indices are read by index, never fused.
// CHECK-LABEL: func.func @merge_image_rows
// CHECK: mvc.dispatch_region row
// CHECK-NEXT: mvc.gather
// CHECK-NEXT: mvc.scale
// CHECK-NEXT: mvc.merge_rows
// CHECK-NEXT: mvc.yield
func.func @merge_image_rows(%ids: tensor<?xi32>, %img: tensor<?x64xf32>, %src: tensor<?xi32>) -> tensor<?x64xf32> {
  %e = mvc.weight "embed" : tensor<512x64xf32>
  %g = mvc.gather %e, %ids : (tensor<512x64xf32>, tensor<?xi32>) -> tensor<?x64xf32>
  %s = mvc.scale %g {factor = 8.0 : f32} : tensor<?x64xf32>
  %m = mvc.merge_rows %s, %img, %src : (tensor<?x64xf32>, tensor<?x64xf32>, tensor<?xi32>) -> tensor<?x64xf32>
  return %m : tensor<?x64xf32>
}

// -----

// A weight defined between the members (graph builders create weights where they are
// first read) does not split a row region: the region goes right after the weight.
// CHECK-LABEL: func.func @late_weight
// CHECK: mvc.weight "post"
// CHECK: mvc.weight "pre"
// CHECK: %[[ROW:.*]]:2 = mvc.dispatch_region row -> tensor<?x64xf32>, tensor<?x64xf32> {
// CHECK-NEXT:   mvc.rms_norm
// CHECK-NEXT:   mvc.add
// CHECK-NEXT:   mvc.rms_norm
// CHECK-NEXT:   mvc.yield
func.func @late_weight(%x: tensor<?x64xf32>, %r: tensor<?x64xf32>) -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  %w1 = mvc.weight "post" : tensor<64xf32>
  %n1 = mvc.rms_norm %x, %w1 {eps = 1.0e-6 : f32, offset = 1.0 : f32} : (tensor<?x64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  %h = mvc.add %r, %n1 : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x64xf32>
  %w2 = mvc.weight "pre" : tensor<64xf32>
  %n2 = mvc.rms_norm %h, %w2 {eps = 1.0e-6 : f32, offset = 1.0 : f32} : (tensor<?x64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  return %h, %n2 : tensor<?x64xf32>, tensor<?x64xf32>
}

// -----

// The region cannot move past an op that reads one of its values: here the matmul between
// the add and the late weight reads the add, so the second norm starts its own region.
// CHECK-LABEL: func.func @late_weight_blocked
// CHECK: mvc.dispatch_region row
// CHECK-NEXT:   mvc.add
// CHECK-NEXT:   mvc.yield
// CHECK: mvc.dispatch_region matmul
// CHECK: mvc.weight "pre"
// CHECK: mvc.dispatch_region row
// CHECK-NEXT:   mvc.rms_norm
// CHECK-NEXT:   mvc.yield
func.func @late_weight_blocked(%x: tensor<?x64xf32>, %r: tensor<?x64xf32>) -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  %w = mvc.weight "w" : tensor<64x64xf32>
  %h = mvc.add %r, %x : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x64xf32>
  %y = mvc.matmul %h, %w {transpose_b} : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  %w2 = mvc.weight "pre" : tensor<64xf32>
  %n2 = mvc.rms_norm %h, %w2 {eps = 1.0e-6 : f32, offset = 1.0 : f32} : (tensor<?x64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  return %y, %n2 : tensor<?x64xf32>, tensor<?x64xf32>
}
