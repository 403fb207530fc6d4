//===- Gemma3Config.cpp - Gemma 3 text configuration ---------------------===//
#include "architectures/gemma3/Gemma3Config.h"

#include <algorithm>

namespace mvc {

namespace {
OrderedJson ropeJson(const RopeParams &p) {
  return {{"rope_type", p.type}, {"rope_theta", p.theta}, {"factor", p.factor}};
}
} // namespace

OrderedJson Gemma3TextConfig::toJson() const {
  OrderedJson layers = OrderedJson::array();
  for (bool s : slidingLayers) layers.push_back(s ? "sliding_attention" : "full_attention");
  OrderedJson j = {{"vocab_size", vocabSize}, {"hidden_size", hiddenSize},
                   {"intermediate_size", intermediateSize}, {"num_hidden_layers", numLayers},
                   {"num_attention_heads", numHeads}, {"num_key_value_heads", numKvHeads},
                   {"head_dim", headDim}, {"rms_norm_eps", rmsNormEps},
                   {"query_pre_attn_scalar", queryPreAttnScalar},
                   {"sliding_window", slidingWindow}, {"layer_types", layers},
                   {"rope_local", ropeJson(ropeLocal)}, {"rope_global", ropeJson(ropeGlobal)},
                   {"final_logit_softcapping", nullptr},
                   {"tie_word_embeddings", tieWordEmbeddings},
                   {"bos_token_id", bosTokenId}, {"pad_token_id", padTokenId},
                   {"eos_token_ids", eosTokenIds}, {"max_position_embeddings", maxPositions}};
  if (finalLogitSoftcap) j["final_logit_softcapping"] = *finalLogitSoftcap;
  return j;
}

absl::StatusOr<Gemma3TextConfig> parseGemma3TextConfig(const OrderedJson &config,
                                                       const OrderedJson &generationConfig,
                                                       const std::string &path) {
  ConfigFields top(config, path);
  // The multimodal config nests the text model; the causal LM config is flat.
  bool nested = top.has("text_config");
  ConfigFields f = nested ? top.sub("text_config") : top;
  Gemma3TextConfig c;
  c.vocabSize = f.positive("vocab_size", 262208);
  c.hiddenSize = f.positive("hidden_size", 2304);
  c.intermediateSize = f.positive("intermediate_size", 9216);
  c.numLayers = f.positive("num_hidden_layers", 26);
  c.numHeads = f.positive("num_attention_heads", 8);
  c.numKvHeads = f.positive("num_key_value_heads", 4);
  c.headDim = f.positive("head_dim", 256);
  c.rmsNormEps = f.positiveNumber("rms_norm_eps", 1e-6);
  c.queryPreAttnScalar = f.positiveNumber("query_pre_attn_scalar", 256);
  c.slidingWindow = f.positive("sliding_window", 4096);
  c.attentionBias = f.boolean("attention_bias", false);
  c.tieWordEmbeddings = top.boolean("tie_word_embeddings", f.boolean("tie_word_embeddings", true));
  c.bosTokenId = f.integer("bos_token_id", top.integer("bos_token_id", 2));
  c.padTokenId = f.integer("pad_token_id", top.integer("pad_token_id", 0));
  c.maxPositions = f.positive("max_position_embeddings", 131072);
  if (f.has("final_logit_softcapping")) c.finalLogitSoftcap = f.number("final_logit_softcapping");
  std::string act = f.string("hidden_activation", std::string("gelu_pytorch_tanh"));
  if (act != "gelu_pytorch_tanh") f.fail("hidden_activation", "unsupported '" + act + "' (Gemma 3 uses gelu_pytorch_tanh)");
  if (c.numHeads % c.numKvHeads != 0)
    f.fail("num_key_value_heads", "must divide num_attention_heads");
  if (c.headDim % 2 != 0) f.fail("head_dim", "must be even for RoPE");

  // Layer types: v5 lists them; v4 derives them from sliding_window_pattern.
  if (f.has("layer_types")) {
    const OrderedJson &list = (nested ? config["text_config"] : config)["layer_types"];
    if (!list.is_array() || int64_t(list.size()) != c.numLayers) {
      f.fail("layer_types", "expected a list of num_hidden_layers entries");
    } else {
      for (const auto &t : list) {
        if (t == "sliding_attention") c.slidingLayers.push_back(true);
        else if (t == "full_attention") c.slidingLayers.push_back(false);
        else { f.fail("layer_types", "unknown layer type " + t.dump()); break; }
      }
    }
  } else {
    int64_t pattern = f.positive("sliding_window_pattern", 6);
    for (int64_t i = 0; i < c.numLayers; ++i) c.slidingLayers.push_back((i + 1) % pattern != 0);
  }

  // RoPE: v5 rope_parameters per layer type; v4 theta pair plus rope_scaling on full layers.
  if (f.has("rope_parameters")) {
    ConfigFields rp = f.sub("rope_parameters");
    if (rp.has("full_attention") || rp.has("sliding_attention")) {
      ConfigFields full = rp.sub("full_attention"), sliding = rp.sub("sliding_attention");
      c.ropeGlobal = readRopeParams(full, 1e6);
      c.ropeLocal = readRopeParams(sliding, 10000.0);
    } else {
      c.ropeGlobal = readRopeParams(rp, f.positiveNumber("rope_theta", 1e6));
      c.ropeLocal.theta = f.positiveNumber("rope_local_base_freq", 10000.0);
    }
  } else {
    double theta = f.positiveNumber("rope_theta", 1e6);
    if (f.has("rope_scaling")) {
      ConfigFields scaling = f.sub("rope_scaling");
      c.ropeGlobal = readRopeParams(scaling, theta);
    } else {
      c.ropeGlobal.theta = theta;
    }
    c.ropeLocal.theta = f.positiveNumber("rope_local_base_freq", 10000.0);
  }

  ConfigFields gen(generationConfig, "generation_config.json");
  c.eosTokenIds = readEosTokenIds(f, top, gen, c.vocabSize);

  if (!top.status().ok()) return top.status();
  if (!gen.status().ok()) return gen.status();
  return c;
}

} // namespace mvc
