//===- QuantizeWeights.cpp - matmul weights in a block format ------------===//
//
// `mvc-compile --dtype q8_0` stores the weights of the model's projections as ggml's Q8_0
// blocks (an f16 scale per 32 values of a row, int8 values): about half the bytes of bf16,
// which is what a memory-bound decode step reads. This pass decides which weights that is:
// those whose every reader is an ungrouped matmul taking them as the transposed rhs [N, K]
// (the layout GGUF and HF linears share) with K a multiple of 32. It marks them with
// `format` and makes their type f32, the dequantized values the matmul computes with (so
// no bf16 rounding of the activations applies to them). Everything else keeps its type:
// norms, biases, an embedding table a gather reads (a tied LM head included), the experts'
// grouped weights.
//
//===----------------------------------------------------------------------===//
#include "dialects/mvc/Transforms/Passes.h"

namespace mvc {
#define GEN_PASS_DEF_QUANTIZEWEIGHTS
#include "dialects/mvc/Transforms/Passes.h.inc"
} // namespace mvc

using namespace mlir;
using namespace mvc;

namespace {

constexpr int64_t kBlock = 32; // values per q8_0 block

/// The block formats the matmul kernels decode.
bool isKernelFormat(StringRef format) { return format == "q8_0"; }

bool readOnlyAsTransposedRhs(WeightOp weight) {
  if (weight.getResult().use_empty()) return false;
  for (Operation *user : weight.getResult().getUsers()) {
    auto matmul = dyn_cast<MatmulOp>(user);
    if (!matmul || matmul.getRhs() != weight.getResult() || !matmul.getTransposeB() ||
        matmul.getGroups() || matmul.getLhs() == weight.getResult())
      return false;
  }
  return true;
}

struct QuantizeWeightsPass : mvc::impl::QuantizeWeightsBase<QuantizeWeightsPass> {
  using QuantizeWeightsBase::QuantizeWeightsBase;

  void runOnOperation() override {
    if (format != "q8_0" && format != "keep") {
      getOperation().emitError("--mvc-quantize-weights: unknown format '")
          << format << "' (expected q8_0 or keep)";
      return signalPassFailure();
    }
    getOperation().walk([&](WeightOp weight) {
      std::string chosen = format;
      if (format == "keep") {
        auto source = weight->getAttrOfType<StringAttr>("mvc.source_format");
        if (!source || !isKernelFormat(source.getValue())) return;
        chosen = source.str();
      }
      auto type = weight.getType();
      if (weight.getFormat() || type.getRank() != 2 || type.getDimSize(1) % kBlock != 0 ||
          !isa<FloatType>(type.getElementType()) || !readOnlyAsTransposedRhs(weight))
        return;
      weight.setFormat(StringRef(chosen));
      weight.getResult().setType(RankedTensorType::get(type.getShape(), Float32Type::get(&getContext())));
    });
  }
};

} // namespace
