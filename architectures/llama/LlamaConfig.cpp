//===- LlamaConfig.cpp - Llama text configuration -------------------------===//
#include "architectures/llama/LlamaConfig.h"

#include <algorithm>

namespace mvc {

OrderedJson LlamaConfig::toJson() const {
  OrderedJson j = {
      {"vocab_size", vocabSize},
      {"hidden_size", hiddenSize},
      {"intermediate_size", intermediateSize},
      {"num_hidden_layers", numLayers},
      {"num_attention_heads", numHeads},
      {"num_key_value_heads", numKvHeads},
      {"head_dim", headDim},
      {"rms_norm_eps", rmsNormEps},
      {"rope", {{"rope_type", rope.type}, {"rope_theta", rope.theta}, {"factor", rope.factor}}},
      {"tie_word_embeddings", tieWordEmbeddings},
      {"bos_token_id", nullptr},
      {"pad_token_id", nullptr},
      {"eos_token_ids", eosTokenIds},
      {"max_position_embeddings", maxPositions}};
  if (rope.type == "llama3") {
    j["rope"]["low_freq_factor"] = rope.lowFreqFactor;
    j["rope"]["high_freq_factor"] = rope.highFreqFactor;
    j["rope"]["original_max_position_embeddings"] = rope.originalMaxPositions;
  }
  if (bosTokenId)
    j["bos_token_id"] = *bosTokenId;
  if (padTokenId)
    j["pad_token_id"] = *padTokenId;
  return j;
}

absl::StatusOr<LlamaConfig> parseLlamaConfig(const OrderedJson &config,
                                             const OrderedJson &generationConfig,
                                             const std::string &path) {
  ConfigFields top(config, path);
  // Idefics3 / SmolVLM nest the Llama text model; LlamaForCausalLM is flat.
  bool nested = top.has("text_config");
  ConfigFields f = nested ? top.sub("text_config") : top;
  LlamaConfig c;
  c.vocabSize = f.positive("vocab_size", 32000);
  c.hiddenSize = f.positive("hidden_size", 4096);
  c.intermediateSize = f.positive("intermediate_size", 11008);
  c.numLayers = f.positive("num_hidden_layers", 32);
  c.numHeads = f.positive("num_attention_heads", 32);
  c.numKvHeads = f.positive("num_key_value_heads", c.numHeads);
  c.headDim = f.has("head_dim") ? f.positive("head_dim") : c.hiddenSize / c.numHeads;
  c.rmsNormEps = f.positiveNumber("rms_norm_eps", 1e-6);
  if (!(c.rmsNormEps > 0))
    f.fail("rms_norm_eps", "must be positive");
  c.attentionBias = f.boolean("attention_bias", false);
  c.mlpBias = f.boolean("mlp_bias", false);
  c.tieWordEmbeddings = top.boolean("tie_word_embeddings", f.boolean("tie_word_embeddings", false));
  c.maxPositions = f.positive("max_position_embeddings", 2048);
  std::string act = f.string("hidden_act", std::string("silu"));
  if (act != "silu")
    f.fail("hidden_act", "unsupported '" + act + "' (Llama uses silu)");
  if (c.numHeads % c.numKvHeads != 0)
    f.fail("num_key_value_heads", "must divide num_attention_heads");
  if (c.headDim % 2 != 0)
    f.fail("head_dim", "must be even for RoPE");

  // RoPE: v5 rope_parameters; v4 rope_theta with an optional rope_scaling.
  double theta = f.positiveNumber("rope_theta", 10000.0);
  if (f.has("rope_parameters")) {
    ConfigFields rp = f.sub("rope_parameters");
    c.rope = readRopeParams(rp, theta);
  } else if (f.has("rope_scaling")) {
    ConfigFields scaling = f.sub("rope_scaling");
    c.rope = readRopeParams(scaling, theta);
  } else {
    c.rope.theta = theta;
  }
  if (c.rope.type == "proportional")
    f.fail("rope_parameters", "proportional RoPE is Gemma 4's, not Llama's");

  c.bosTokenId = readOptionalTokenId(f, top, "bos_token_id", c.vocabSize);
  c.padTokenId = readOptionalTokenId(f, top, "pad_token_id", c.vocabSize);
  ConfigFields gen(generationConfig, "generation_config.json");
  c.eosTokenIds = readEosTokenIds(f, top, gen, c.vocabSize);

  if (!top.status().ok())
    return top.status();
  if (!gen.status().ok())
    return gen.status();
  return c;
}

} // namespace mvc
