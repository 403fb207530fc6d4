// A gated MLP block: n = rms_norm(x); gelu(n·Wgᵀ) ⊙ (n·Wuᵀ), then ·Wdᵀ plus n.
func.func @main(%x: tensor<?x64xf32> {mvc.dims = ["T"]}) -> tensor<?x64xf32> {
  %norm = mvc.weight "norm" : tensor<64xf32>
  %wg = mvc.weight "wg" : tensor<128x64xf32>
  %wu = mvc.weight "wu" : tensor<128x64xf32>
  %wd = mvc.weight "wd" : tensor<64x128xf32>
  %n = mvc.rms_norm %x, %norm {eps = 1.0e-06 : f32} : (tensor<?x64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  %g = mvc.matmul %n, %wg {transpose_b} : (tensor<?x64xf32>, tensor<128x64xf32>) -> tensor<?x128xf32>
  %a = mvc.gelu %g {approximate = "tanh"} : tensor<?x128xf32>
  %u = mvc.matmul %n, %wu {transpose_b} : (tensor<?x64xf32>, tensor<128x64xf32>) -> tensor<?x128xf32>
  %h = mvc.mul %a, %u : tensor<?x128xf32>, tensor<?x128xf32> -> tensor<?x128xf32>
  %d = mvc.matmul %h, %wd {transpose_b} : (tensor<?x128xf32>, tensor<64x128xf32>) -> tensor<?x64xf32>
  %r = mvc.add %d, %n : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}
