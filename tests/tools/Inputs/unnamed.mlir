func.func @main(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %y = mvc.silu %x : tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}
