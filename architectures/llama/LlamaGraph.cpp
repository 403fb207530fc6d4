//===- LlamaGraph.cpp - Llama text as an mvc graph ------------------------===//
//
// transformers' LlamaModel, in the order it computes: embedding (unscaled), per layer
// RMSNorm → GQA self-attention with RoPE (default, linear or llama3 frequencies) → residual,
// RMSNorm → SwiGLU MLP → residual; final RMSNorm; tied or untied head.
//
//===----------------------------------------------------------------------===//
#include "architectures/llama/LlamaGraph.h"

#include <cmath>

#include "architectures/common/Layers.h"

using namespace mlir;

namespace mvc {

void buildLlamaText(GraphBuilder &gb, const LlamaConfig &c, const WeightNames &names,
                    const ArchitectureOptions &o, bool images) {
  const int64_t h = c.hiddenSize, q = c.numHeads * c.headDim, kv = c.numKvHeads * c.headDim;
  LanguageModelInputs in = beginLanguageModelProgram(gb, images ? h : 0);
  auto norm = [&](Value x, const std::string &name) {
    return gb.rmsNorm(x, gb.weight(names(name), {h}, gb.f32()), float(c.rmsNormEps), 0.0f);
  };
  auto linear = [&](const std::string &name, int64_t out, int64_t inDim) {
    return gb.weight(names(name), {out, inDim}, o.weightType);
  };
  Value embedTable = linear("model.embed_tokens.weight", c.vocabSize, h);
  Value x = gb.gather(embedTable, in.tokens);
  if (images)
    x = gb.mergeRows(x, in.imageFeatures, in.embedSource);
  Value rope = gb.ropeTable(in.positions, gb.constant(ropeInvFreq(c.rope, c.headDim)));
  AttentionSpec spec{c.numHeads, c.numKvHeads, c.headDim, o.pageSize};
  GraphBuilder::AttentionOptions attn;
  attn.scale = float(1.0 / std::sqrt(double(c.headDim)));
  for (int64_t i = 0; i < c.numLayers; ++i) {
    std::string p = "model.layers." + std::to_string(i) + ".";
    AttentionWeights w{linear(p + "self_attn.q_proj.weight", q, h),
                       linear(p + "self_attn.k_proj.weight", kv, h),
                       linear(p + "self_attn.v_proj.weight", kv, h),
                       linear(p + "self_attn.o_proj.weight", h, q),
                       Value(),
                       Value()};
    Value att = pagedSelfAttention(gb, in, norm(x, p + "input_layernorm.weight"), w, spec, attn,
                                   QkNorm{}, rope, "kv." + std::to_string(i), o.kvType);
    x = gb.add(x, att);
    Value mlp =
        gatedMlp(gb, norm(x, p + "post_attention_layernorm.weight"),
                 linear(p + "mlp.gate_proj.weight", c.intermediateSize, h),
                 linear(p + "mlp.up_proj.weight", c.intermediateSize, h),
                 linear(p + "mlp.down_proj.weight", h, c.intermediateSize), Activation::Silu);
    x = gb.add(x, mlp);
  }
  // Only the rows whose logits are wanted go through the final norm and the head.
  Value last = norm(gb.gather(x, in.logitRows), "model.norm.weight");
  Value head = c.tieWordEmbeddings ? embedTable : linear("lm_head.weight", c.vocabSize, h);
  gb.endProgram({{"logits", gb.matmul(last, head)}});
}

absl::StatusOr<ArchitectureBuild> compileLlamaForCausalLM(const ArchitectureInput &input,
                                                          GraphBuilder &gb) {
  absl::StatusOr<LlamaConfig> config =
      parseLlamaConfig(input.config, input.generationConfig, input.configPath);
  if (!config.ok())
    return config.status();
  if (config->attentionBias || config->mlpBias)
    return absl::UnimplementedError(input.configPath +
                                    ": attention_bias / mlp_bias = true is not supported yet");
  // A checkpoint saved with tied weights may still carry lm_head.weight; transformers then
  // uses the embedding, and so do we. An untied one must have it.
  if (!config->tieWordEmbeddings && !input.hasWeight("lm_head.weight"))
    return absl::InvalidArgumentError(input.configPath +
                                      ": tie_word_embeddings is false but the checkpoint has "
                                      "no lm_head.weight");
  WeightNames names = [](const std::string &canonical) { return canonical; };
  buildLlamaText(gb, *config, names, input.options);
  ArchitectureBuild out;
  out.config = config->toJson();
  out.languageModel = {{"architecture", "llama"},
                       {"program", "forward"},
                       {"vocab_size", config->vocabSize},
                       {"page_size", input.options.pageSize},
                       {"bos_token_id", nullptr},
                       {"pad_token_id", nullptr},
                       {"eos_token_ids", config->eosTokenIds},
                       {"max_positions", config->maxPositions}};
  if (config->bosTokenId)
    out.languageModel["bos_token_id"] = *config->bosTokenId;
  if (config->padTokenId)
    out.languageModel["pad_token_id"] = *config->padTokenId;
  return out;
}

} // namespace mvc
