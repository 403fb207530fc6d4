//===- NarrowMatmulInputs.cpp - bf16 activations into bf16-weight matmuls -===//
//
// A matmul with bf16 weights rounds its f32 lhs to bf16 (nearest even) before the
// products: that is the op's definition. On a CPU with bf16 dot products the kernel did
// this rounding itself, once per workgroup, so each row was read as f32 and converted as
// many times as there are column blocks (five to seventeen times in a SigLIP layer). This
// pass makes the rounding an explicit `mvc.cast` to bf16 on the lhs: the cast fuses into
// the producer's region (a norm's row kernel, a matmul's epilogue), which then writes the
// activation once at half the bytes, and the matmul reads bf16 rows directly. The numbers
// are unchanged, bit for bit: the same rounding happens once instead of per workgroup.
//
// One cast per value: the Q, K and V projections of one normed hidden state share it.
//
//===----------------------------------------------------------------------===//
#include "dialects/mvc/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"

namespace mvc {
#define GEN_PASS_DEF_NARROWMATMULINPUTS
#include "dialects/mvc/Transforms/Passes.h.inc"
} // namespace mvc

using namespace mlir;
using namespace mvc;

namespace {

struct NarrowMatmulInputsPass : mvc::impl::NarrowMatmulInputsBase<NarrowMatmulInputsPass> {
  void runOnOperation() override {
    llvm::DenseMap<Value, Value> narrowed; // f32 lhs -> its bf16 cast
    getOperation().walk([&](MatmulOp matmul) {
      auto lhs = cast<RankedTensorType>(matmul.getLhs().getType());
      auto rhs = cast<RankedTensorType>(matmul.getRhs().getType());
      if (!lhs.getElementType().isF32() || !rhs.getElementType().isBF16()) return;
      Value &narrow = narrowed[matmul.getLhs()];
      if (!narrow) {
        OpBuilder b(matmul.getContext());
        if (Operation *def = matmul.getLhs().getDefiningOp())
          b.setInsertionPointAfter(def);
        else
          b.setInsertionPointToStart(cast<BlockArgument>(matmul.getLhs()).getOwner());
        narrow = CastOp::create(b, matmul.getLoc(), lhs.clone(b.getBF16Type()), matmul.getLhs());
      }
      matmul.getLhsMutable().assign(narrow);
    });
  }
};

} // namespace
