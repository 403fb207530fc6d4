func.func @main(%x: tensor<?x4xf32> {mvc.dims = ["T"]}, %y: tensor<?x4xf32> {mvc.dims = ["U"]}) -> tensor<?x4xf32> {
  %c = mvc.concat %x, %y {axis = 0 : i64} : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
  return %c : tensor<?x4xf32>
}
