//===- QuantizeWeights.cpp - matmul weights in a block format ------------===//
//
// `mvc-compile --dtype q8_0` stores the weights of the model's projections as ggml's Q8_0
// blocks (an f16 scale per 32 values of a row, int8 values): about half the bytes of bf16,
// which is what a memory-bound decode step reads. This pass decides which weights that is:
// those whose every reader is an ungrouped matmul taking them as the transposed rhs [N, K]
// (the layout GGUF and HF linears share) with K a multiple of 32. It marks them with
// `format` and makes their type f32, the dequantized values the matmul computes with (so
// no bf16 rounding of the activations applies to them). A tied embedding and LM head is
// one of them (stored once: the gather reads its rows from the blocks). Everything else
// keeps its type: norms, biases, embedding tables only gathers read, the experts' grouped
// weights.
//
// The mix, as llama.cpp's quantization types keep their output tensor finer than the
// rest: with a 4- or 5-bit format, the LM head (a matmul whose result reaches the
// function's results through elementwise ops only, e.g. a softcap) and a tied embedding
// (a matmul weight gathers also read) take q8_0; errors in the logits' projection move
// every token's scores, and the table is read once per token, not per layer. A k-quant
// needs K a multiple of 256; a weight whose K is not takes the block-32 format of at
// least its bits, as llama.cpp falls back: q4_k -> q5_0, q5_k -> q5_1, q6_k -> q8_0
// (Gemma 3 270M's hidden size is 640: its q4_k files hold q5_0 tensors for this reason).
//
//===----------------------------------------------------------------------===//
#include "runtime/artifact/BlockFormat.h"
#include "dialects/mvc/Transforms/Passes.h"

#include "llvm/ADT/StringSwitch.h"

namespace mvc {
#define GEN_PASS_DEF_QUANTIZEWEIGHTS
#include "dialects/mvc/Transforms/Passes.h.inc"
} // namespace mvc

using namespace mlir;
using namespace mvc;

namespace {

/// The block formats the matmul kernels decode.
bool isKernelFormat(StringRef format) { return findBlockFormat(format.str()) != nullptr; }

/// Whether every reader decodes blocks: the transposed rhs of an ungrouped matmul, or the
/// table of an unweighted gather (row lookups of a tied embedding and LM head) when a
/// matmul reads the table too.
bool readByBlockKernels(WeightOp weight) {
  bool matmuls = false;
  for (Operation *user : weight.getResult().getUsers()) {
    if (auto matmul = dyn_cast<MatmulOp>(user)) {
      if (matmul.getRhs() != weight.getResult() || !matmul.getTransposeB() ||
          matmul.getGroups() || matmul.getLhs() == weight.getResult())
        return false;
      matmuls = true;
    } else if (auto gather = dyn_cast<GatherOp>(user)) {
      if (gather.getTable() != weight.getResult() || gather.getWeights() ||
          gather.getIds() == weight.getResult())
        return false;
    } else {
      return false;
    }
  }
  return matmuls;
}

/// Whether `v` reaches a func.return within `hops` elementwise ops (the logits after a
/// softcap or a scale).
bool reachesResults(Value v, int hops) {
  for (Operation *user : v.getUsers()) {
    if (isa<func::ReturnOp>(user)) return true;
    if (hops > 0 && user->hasTrait<mvc::OpTrait::Elementwise>() &&
        reachesResults(user->getResult(0), hops - 1))
      return true;
  }
  return false;
}

/// The block-32 format a k-quant falls back to where K is not a multiple of 256.
StringRef fallbackFormat(StringRef kQuant) {
  return llvm::StringSwitch<StringRef>(kQuant).Case("q4_k", "q5_0").Case("q5_k", "q5_1").Default("q8_0");
}

/// The LM head or a tied embedding (see the file comment).
bool isOutputOrTable(WeightOp weight) {
  for (Operation *user : weight.getResult().getUsers()) {
    if (isa<GatherOp>(user)) return true;
    if (auto matmul = dyn_cast<MatmulOp>(user); matmul && reachesResults(matmul.getResult(), 4))
      return true;
  }
  return false;
}

struct QuantizeWeightsPass : mvc::impl::QuantizeWeightsBase<QuantizeWeightsPass> {
  using QuantizeWeightsBase::QuantizeWeightsBase;

  void runOnOperation() override {
    const BlockFormat *named = findBlockFormat(format);
    if (format != "keep" && !named) {
      getOperation().emitError("--mvc-quantize-weights: unknown format '")
          << format << "' (expected q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k or keep)";
      return signalPassFailure();
    }
    getOperation().walk([&](WeightOp weight) {
      std::string chosen = format;
      if (format == "keep") {
        auto source = weight->getAttrOfType<StringAttr>("mvc.source_format");
        if (!source || !isKernelFormat(source.getValue())) return;
        chosen = source.str();
      }
      if (format != "keep" && named->bits <= 5 && isOutputOrTable(weight)) chosen = "q8_0";
      auto type = weight.getType();
      const BlockFormat *block = findBlockFormat(chosen);
      if (format != "keep" && type.getRank() == 2 && type.getDimSize(1) % block->groupValues != 0) {
        chosen = fallbackFormat(chosen).str();
        block = findBlockFormat(chosen);
      }
      if (weight.getFormat() || type.getRank() != 2 || type.getDimSize(1) % block->groupValues != 0 ||
          !isa<FloatType>(type.getElementType()) || !readByBlockKernels(weight))
        return;
      weight.setFormat(StringRef(chosen));
      weight.getResult().setType(RankedTensorType::get(type.getShape(), Float32Type::get(&getContext())));
    });
  }
};

} // namespace
