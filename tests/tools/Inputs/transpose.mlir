func.func @main(%x: tensor<4x8xf32>) -> tensor<8x4xf32> {
  %y = mvc.transpose %x [1, 0] : tensor<4x8xf32> -> tensor<8x4xf32>
  return %y : tensor<8x4xf32>
}
