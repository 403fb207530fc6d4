func.func @main(%x: tensor<4x8xf32>) -> tensor<4x3xf32> {
  %w = mvc.weight "w" : tensor<3x9xf32>
  %y = mvc.matmul %x, %w {transpose_b} : (tensor<4x8xf32>, tensor<3x9xf32>) -> tensor<4x3xf32>
  return %y : tensor<4x3xf32>
}
