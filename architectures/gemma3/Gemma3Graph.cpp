//===- Gemma3Graph.cpp - Gemma 3 text as an mvc graph ---------------------===//
//
// MODELS.md §2.3, in the order the model computes: scaled embedding, per layer
// (sliding or full attention with q/k RMSNorm and RoPE, four (1 + w) norms, GeGLU MLP),
// final norm, tied head, optional final logit softcapping.
//
//===----------------------------------------------------------------------===//
#include "architectures/gemma3/Gemma3Graph.h"

#include "architectures/common/Layers.h"

#include <cmath>

using namespace mlir;

namespace mvc {

void buildGemma3Text(GraphBuilder &gb, const Gemma3TextConfig &c, const WeightNames &names,
                     const ArchitectureOptions &o, const Gemma3ImageAttention *images) {
  const int64_t h = c.hiddenSize;
  LanguageModelInputs in = beginLanguageModelProgram(gb, images ? h : 0, /*imageGroups=*/true);
  auto norm = [&](Value x, const std::string &name, int64_t n) {
    return gb.rmsNorm(x, gb.weight(names(name), {n}, gb.f32()), float(c.rmsNormEps), 1.0f);
  };
  Value embedTable = gb.weight(names("model.embed_tokens.weight"), {c.vocabSize, h}, o.weightType);

  // The embedding scale is sqrt(H) rounded to the weight dtype, as HF multiplies it.
  Value x = gb.scale(gb.gather(embedTable, in.tokens), inWeightType(std::sqrt(double(h)), o));
  // Image features replace the embeddings of the image tokens, unscaled.
  if (images) x = gb.mergeRows(x, in.imageFeatures, in.embedSource);

  // One cos/sin table per RoPE flavour for the whole program, shared by its layers.
  Value ropeLocal = gb.ropeTable(in.positions, gb.constant(ropeInvFreq(c.ropeLocal, c.headDim)));
  Value ropeGlobal = gb.ropeTable(in.positions, gb.constant(ropeInvFreq(c.ropeGlobal, c.headDim)));
  AttentionSpec spec{c.numHeads, c.numKvHeads, c.headDim, o.pageSize};
  for (int64_t i = 0; i < c.numLayers; ++i) {
    std::string p = "model.layers." + std::to_string(i) + ".";
    bool sliding = c.slidingLayers[i];
    Value a = norm(x, p + "input_layernorm.weight", h);
    AttentionWeights w{gb.weight(names(p + "self_attn.q_proj.weight"), {c.numHeads * c.headDim, h}, o.weightType),
                       gb.weight(names(p + "self_attn.k_proj.weight"), {c.numKvHeads * c.headDim, h}, o.weightType),
                       gb.weight(names(p + "self_attn.v_proj.weight"), {c.numKvHeads * c.headDim, h}, o.weightType),
                       gb.weight(names(p + "self_attn.o_proj.weight"), {h, c.numHeads * c.headDim}, o.weightType),
                       gb.weight(names(p + "self_attn.q_norm.weight"), {c.headDim}, gb.f32()),
                       gb.weight(names(p + "self_attn.k_norm.weight"), {c.headDim}, gb.f32())};
    GraphBuilder::AttentionOptions attn;
    attn.scale = float(std::pow(c.queryPreAttnScalar, -0.5));
    attn.slidingWindow = sliding ? c.slidingWindow : 0;
    if (images && (sliding || images->fullLayers)) {
      attn.groupSpans = in.groupSpans;
      attn.groupWindowClip = sliding && images->clipToWindow;
    }
    QkNorm qkNorm{float(c.rmsNormEps), 1.0f};
    Value att = pagedSelfAttention(gb, in, a, w, spec, attn, qkNorm, sliding ? ropeLocal : ropeGlobal,
                                   "kv." + std::to_string(i), o.kvType);
    x = gb.add(x, norm(att, p + "post_attention_layernorm.weight", h));

    Value m = norm(x, p + "pre_feedforward_layernorm.weight", h);
    Value mlp = gatedMlp(gb, m,
                         gb.weight(names(p + "mlp.gate_proj.weight"), {c.intermediateSize, h}, o.weightType),
                         gb.weight(names(p + "mlp.up_proj.weight"), {c.intermediateSize, h}, o.weightType),
                         gb.weight(names(p + "mlp.down_proj.weight"), {h, c.intermediateSize}, o.weightType),
                         Activation::GeluTanh);
    x = gb.add(x, norm(mlp, p + "post_feedforward_layernorm.weight", h));
  }

  // Only the rows whose logits are wanted go through the final norm and the head.
  Value last = norm(gb.gather(x, in.logitRows), "model.norm.weight", h);
  Value head = c.tieWordEmbeddings
                   ? embedTable
                   : gb.weight(names("lm_head.weight"), {c.vocabSize, h}, o.weightType);
  Value logits = gb.matmul(last, head);
  if (c.finalLogitSoftcap) logits = gb.softcap(logits, float(*c.finalLogitSoftcap));
  gb.endProgram({{"logits", logits}});
}

WeightNames gemma3TextWeightNames(const ArchitectureInput &input) {
  std::string prefix = "model.";
  for (const char *candidate : {"model.", "model.language_model.", "language_model.model."})
    if (input.hasWeight(std::string(candidate) + "embed_tokens.weight")) { prefix = candidate; break; }
  return [prefix](const std::string &canonical) {
    if (canonical.rfind("model.", 0) == 0) return prefix + canonical.substr(6);
    if (canonical == "lm_head.weight" && prefix == "language_model.model.")
      return std::string("language_model.lm_head.weight");
    return canonical;
  };
}

absl::StatusOr<ArchitectureBuild> compileGemma3ForCausalLM(const ArchitectureInput &input,
                                                           GraphBuilder &gb) {
  auto config = parseGemma3TextConfig(input.config, input.generationConfig, input.configPath);
  if (!config.ok()) return config.status();
  if (config->attentionBias)
    return absl::UnimplementedError(input.configPath + ": attention_bias = true is not supported");
  WeightNames names = gemma3TextWeightNames(input);
  buildGemma3Text(gb, *config, names, input.options);
  ArchitectureBuild out;
  out.config = config->toJson();
  out.languageModel = {{"architecture", "gemma3"}, {"program", "forward"}, {"vocab_size", config->vocabSize},
                       {"page_size", input.options.pageSize},
                       {"bos_token_id", config->bosTokenId}, {"pad_token_id", config->padTokenId},
                       {"eos_token_ids", config->eosTokenIds},
                       {"max_positions", config->maxPositions}};
  return out;
}

} // namespace mvc
