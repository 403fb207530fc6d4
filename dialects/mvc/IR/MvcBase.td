//===- MvcBase.td - the mvc dialect ------------------------*- tablegen -*-===//
#ifndef MVC_BASE_TD
#define MVC_BASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/CommonTypeConstraints.td"

def Mvc_Dialect : Dialect {
  let name = "mvc";
  let cppNamespace = "::mvc";
  let summary = "Tensor-level ops of transformer models";
  let description = [{
    A model is a `func.func` per program over ranked tensors. Dynamic sizes are named by the
    `mvc.dims` argument attribute (one name per `?`), weights are referenced by name with
    `mvc.weight` and persistent state (KV caches) by name with `mvc.state`. Ops carry value
    semantics; `mvc.kv_write` yields the updated cache, which the compiler writes in place.
  }];
  let useDefaultAttributePrinterParser = 1;
}

class Mvc_Op<string mnemonic, list<Trait> traits = []> :
    Op<Mvc_Dialect, mnemonic, traits>;

def Mvc_FloatTensor : RankedTensorOf<[F32, BF16, F16]>;
def Mvc_IndexTensor : RankedTensorOf<[I32]>;

#endif // MVC_BASE_TD
