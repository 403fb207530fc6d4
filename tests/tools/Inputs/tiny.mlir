func.func @main(%x: tensor<?x32xf32> {mvc.dims = ["T"]}) -> tensor<?x16xf32> {
  %w = mvc.weight "w" : tensor<16x32xf32>
  %y = mvc.matmul %x, %w {transpose_b} : (tensor<?x32xf32>, tensor<16x32xf32>) -> tensor<?x16xf32>
  %g = mvc.gelu %y {approximate = "tanh"} : tensor<?x16xf32>
  return %g : tensor<?x16xf32>
}
