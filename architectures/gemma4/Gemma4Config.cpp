//===- Gemma4Config.cpp - Gemma 4 configuration ------------------------------===//
#include "architectures/gemma4/Gemma4Config.h"

#include <algorithm>
#include <set>

#include "absl/strings/numbers.h"

namespace mvc {
namespace {

void readRope(ConfigFields &rope, const std::string &type, Gemma4Rope &out) {
  if (!rope.has(type)) return;
  ConfigFields r = rope.sub(type);
  out.type = r.string("rope_type", std::string("default"));
  if (out.type != "default" && out.type != "proportional")
    r.fail("rope_type", "unsupported '" + out.type + "' (Gemma 4 uses default or proportional)");
  out.theta = r.positiveNumber("rope_theta", out.theta);
  out.partialRotaryFactor = r.has("partial_rotary_factor") ? r.positiveNumber("partial_rotary_factor") : 1.0;
  if (out.partialRotaryFactor > 1.0) r.fail("partial_rotary_factor", "must be at most 1");
}

void readText(ConfigFields &f, const OrderedJson &raw, Gemma4TextConfig &c) {
  c.vocabSize = f.positive("vocab_size", 262144);
  c.hiddenSize = f.positive("hidden_size", 2304);
  c.intermediateSize = f.positive("intermediate_size", 9216);
  c.numLayers = f.positive("num_hidden_layers", 30);
  c.numHeads = f.positive("num_attention_heads", 8);
  c.numKvHeads = f.positive("num_key_value_heads", 4);
  c.headDim = f.positive("head_dim", 256);
  c.maxPositions = f.positive("max_position_embeddings", 131072);
  c.slidingWindow = f.positive("sliding_window", 512);
  c.rmsNormEps = f.positiveNumber("rms_norm_eps", 1e-6);
  if (f.has("final_logit_softcapping"))
    c.finalLogitSoftcapping = f.positiveNumber("final_logit_softcapping");
  const std::string act = f.string("hidden_activation", std::string("gelu_pytorch_tanh"));
  if (act != "gelu_pytorch_tanh")
    f.fail("hidden_activation", "unsupported '" + act + "' (Gemma 4 uses gelu_pytorch_tanh)");
  if (f.boolean("attention_bias", false)) f.fail("attention_bias", "true is not supported");
  if (f.has("use_bidirectional_attention")) {
    c.bidirectional = f.string("use_bidirectional_attention");
    if (c.bidirectional != "vision" && c.bidirectional != "all")
      f.fail("use_bidirectional_attention", "expected \"vision\", \"all\" or null");
    if (c.bidirectional == "all") c.slidingWindow = c.slidingWindow / 2 + 1;  // as transformers
  }
  c.pleVocabSize = f.positive("vocab_size_per_layer_input", 262144);
  c.pleWidth = f.has("hidden_size_per_layer_input") && f.integer("hidden_size_per_layer_input") != 0
                   ? f.positive("hidden_size_per_layer_input")
                   : 0;
  c.attentionKEqV = f.boolean("attention_k_eq_v", false);
  c.numKvSharedLayers = f.integer("num_kv_shared_layers", 0);
  if (c.numKvSharedLayers < 0 || c.numKvSharedLayers >= c.numLayers)
    f.fail("num_kv_shared_layers", "must be in [0, num_hidden_layers)");
  c.enableMoe = f.boolean("enable_moe_block", false);
  c.doubleWideMlp = f.boolean("use_double_wide_mlp", false);
  if (c.enableMoe) {
    c.numExperts = f.positive("num_experts");
    c.topKExperts = f.positive("top_k_experts");
    c.moeIntermediateSize = f.positive("moe_intermediate_size");
    if (c.topKExperts > c.numExperts) f.fail("top_k_experts", "exceeds num_experts");
  }
  if (c.numHeads % c.numKvHeads != 0) f.fail("num_key_value_heads", "must divide num_attention_heads");

  // Layer types.
  std::vector<bool> full(c.numLayers);
  if (f.has("layer_types")) {
    const OrderedJson &types = raw["layer_types"];
    if (!types.is_array() || static_cast<int64_t>(types.size()) != c.numLayers) {
      f.fail("layer_types", "expected one of sliding_attention / full_attention per layer");
    } else {
      for (int64_t i = 0; i < c.numLayers; ++i) {
        const OrderedJson &t = types[i];
        if (!t.is_string() || (t != "sliding_attention" && t != "full_attention"))
          f.fail("layer_types", "layer " + std::to_string(i) + ": expected sliding_attention or full_attention");
        else
          full[i] = t == "full_attention";
      }
    }
  } else {
    for (int64_t i = 0; i < c.numLayers; ++i) full[i] = (i + 1) % 6 == 0;
  }
  if (c.numLayers > 0) full[c.numLayers - 1] = true;  // transformers forces the last layer full

  // RoPE per type.
  c.slidingRope = {"default", 10000.0, 1.0};
  c.fullRope = {"proportional", 1000000.0, 0.25};
  if (f.has("rope_parameters")) {
    ConfigFields rope = f.sub("rope_parameters");
    readRope(rope, "sliding_attention", c.slidingRope);
    readRope(rope, "full_attention", c.fullRope);
  }

  // head_dim and kv heads per layer.
  c.layers.assign(c.numLayers, {});
  const bool perLayer = f.has("per_layer_config");
  const int64_t globalHeadDim = f.has("global_head_dim") ? f.positive("global_head_dim") : 512;
  std::optional<int64_t> globalKv;
  if (f.has("num_global_key_value_heads"))
    globalKv = f.positive("num_global_key_value_heads");
  for (int64_t i = 0; i < c.numLayers; ++i) {
    Gemma4Layer &l = c.layers[i];
    l.full = full[i];
    l.kEqV = c.attentionKEqV && l.full;
    l.headDim = c.headDim;
    l.kvHeads = c.numKvHeads;
    if (!perLayer && l.full) {
      l.headDim = globalHeadDim;
      if (c.attentionKEqV && globalKv) l.kvHeads = *globalKv;
    }
  }
  if (perLayer) {
    ConfigFields overrides = f.sub("per_layer_config");
    for (const auto &[key, value] : f.object("per_layer_config").items()) {
      int64_t layer = -1;
      if (!absl::SimpleAtoi(key, &layer) || layer < 0 || layer >= c.numLayers || !value.is_object()) {
        overrides.fail(key, "expected a layer number below num_hidden_layers with an object");
        continue;
      }
      ConfigFields o = overrides.sub(key);
      for (const auto &[field, unused] : value.items()) {
        (void)unused;
        if (field != "head_dim" && field != "num_key_value_heads")
          o.fail(field, "not supported per layer (head_dim and num_key_value_heads are)");
      }
      if (o.has("head_dim")) c.layers[layer].headDim = o.positive("head_dim");
      if (o.has("num_key_value_heads")) c.layers[layer].kvHeads = o.positive("num_key_value_heads");
    }
  }
  for (int64_t i = 0; i < c.numLayers; ++i) {
    const Gemma4Layer &l = c.layers[i];
    // transformers reads a layer type's shape once (RoPE tables are per type): every layer
    // of a type must agree, else it refuses the config ("not homogeneous").
    for (int64_t j = 0; j < i; ++j)
      if (c.layers[j].full == l.full &&
          (c.layers[j].headDim != l.headDim || c.layers[j].kvHeads != l.kvHeads)) {
        f.fail("per_layer_config", "layer " + std::to_string(i) + " differs from layer " +
                                       std::to_string(j) + " of the same attention type (" +
                                       (l.full ? "full" : "sliding") +
                                       "; transformers requires them homogeneous)");
        break;
      }
    if (c.numHeads % l.kvHeads != 0)
      f.fail("per_layer_config", "layer " + std::to_string(i) + ": kv heads must divide num_attention_heads");
    if (l.headDim % 2 != 0)
      f.fail("per_layer_config", "layer " + std::to_string(i) + ": head_dim must be even for RoPE");
  }

  // KV sharing and MLP widths.
  const int64_t firstShared = c.numLayers - c.numKvSharedLayers;
  if (c.numKvSharedLayers > 0) {
    std::set<bool> before, all;
    for (int64_t i = 0; i < c.numLayers; ++i) (i < firstShared ? before : all).insert(full[i]);
    all.insert(before.begin(), before.end());
    if (before != all)
      f.fail("num_kv_shared_layers", "the shared layers hold a layer type no earlier layer has "
                                     "(the set of layer types producing a cache differs from the "
                                     "set using them)");
    for (bool type : all) {
      for (int64_t j = firstShared - 1; j >= 0; --j)
        if (full[j] == type) {
          c.layers[j].sharing = Gemma4Layer::KvSharing::kStore;
          for (int64_t i = firstShared; i < c.numLayers; ++i)
            if (full[i] == type) c.layers[i].kvSource = j;
          break;
        }
    }
    for (int64_t i = firstShared; i < c.numLayers; ++i) c.layers[i].sharing = Gemma4Layer::KvSharing::kReuse;
  }
  for (int64_t i = 0; i < c.numLayers; ++i) {
    Gemma4Layer &l = c.layers[i];
    l.mlpWidth = c.intermediateSize * (c.doubleWideMlp && l.sharing == Gemma4Layer::KvSharing::kReuse ? 2 : 1);
    if (l.sharing == Gemma4Layer::KvSharing::kReuse && l.kvSource >= 0) {
      const Gemma4Layer &s = c.layers[l.kvSource];
      if (s.headDim != l.headDim || s.kvHeads != l.kvHeads)
        f.fail("per_layer_config", "layer " + std::to_string(i) + " reuses layer " +
                                       std::to_string(l.kvSource) + "'s K/V of another shape");
    }
  }
}

void readVision(ConfigFields &f, Gemma4VisionConfig &v) {
  v.hiddenSize = f.positive("hidden_size", v.hiddenSize);
  v.intermediateSize = f.positive("intermediate_size", v.intermediateSize);
  v.numLayers = f.positive("num_hidden_layers", v.numLayers);
  v.numHeads = f.positive("num_attention_heads", v.numHeads);
  v.numKvHeads = f.positive("num_key_value_heads", v.numKvHeads);
  v.headDim = f.positive("head_dim", v.headDim);
  v.patchSize = f.positive("patch_size", v.patchSize);
  v.poolingKernelSize = f.positive("pooling_kernel_size", v.poolingKernelSize);
  v.positionEmbeddingSize = f.positive("position_embedding_size", v.positionEmbeddingSize);
  v.rmsNormEps = f.positiveNumber("rms_norm_eps", v.rmsNormEps);
  v.useClippedLinears = f.boolean("use_clipped_linears", false);
  v.standardize = f.boolean("standardize", false);
  const std::string act = f.string("hidden_activation", std::string("gelu_pytorch_tanh"));
  if (act != "gelu_pytorch_tanh")
    f.fail("hidden_activation", "unsupported '" + act + "' (Gemma 4 uses gelu_pytorch_tanh)");
  if (f.boolean("attention_bias", false)) f.fail("attention_bias", "true is not supported");
  if (v.headDim % 4 != 0) f.fail("head_dim", "must be a multiple of 4 (2-D RoPE: two axes of pairs)");
  if (v.numHeads % v.numKvHeads != 0) f.fail("num_key_value_heads", "must divide num_attention_heads");
  if (v.poolingKernelSize < 2)
    f.fail("pooling_kernel_size", "must be at least 2 (transformers 5.23's pooler is broken without pooling)");
  if (f.has("rope_parameters")) {
    ConfigFields rope = f.sub("rope_parameters");
    // transformers converts an old "default" to "axial" and refuses any other type.
    const std::string type = rope.string("rope_type", std::string("axial"));
    if (type != "axial" && type != "default") rope.fail("rope_type", "unsupported '" + type + "' (axial)");
    v.ropeTheta = rope.positiveNumber("rope_theta", v.ropeTheta);
  }
}

} // namespace

absl::StatusOr<Gemma4Config> parseGemma4Config(const OrderedJson &config,
                                               const OrderedJson &generationConfig,
                                               const std::string &path) {
  Gemma4Config c;
  ConfigFields top(config, path);
  ConfigFields gen(generationConfig, "generation_config.json");
  c.conditional = top.has("text_config");
  ConfigFields text = c.conditional ? top.sub("text_config") : ConfigFields(config, path);
  readText(text, c.conditional ? config["text_config"] : config, c.text);
  if (c.conditional) {
    c.hasVision = top.has("vision_config");
    if (c.hasVision) {
      ConfigFields vision = top.sub("vision_config");
      readVision(vision, c.vision);
      if (absl::Status s = vision.status(); !s.ok()) return s;
    }
    c.hasAudio = top.has("audio_config");
    c.imageTokenId = top.integer("image_token_id", 258880);
    c.videoTokenId = top.integer("video_token_id", 258884);
    c.audioTokenId = top.integer("audio_token_id", 258881);
    c.boiTokenId = top.integer("boi_token_id", 255999);
    c.eoiTokenId = top.integer("eoi_token_id", 258882);
  }
  c.tieWordEmbeddings = top.boolean("tie_word_embeddings", true);
  c.text.bosTokenId = readOptionalTokenId(text, top, "bos_token_id", c.text.vocabSize);
  c.text.padTokenId = readOptionalTokenId(text, top, "pad_token_id", c.text.vocabSize);
  c.text.eosTokenIds = readEosTokenIds(text, top, gen, c.text.vocabSize);
  if (absl::Status s = top.status(); !s.ok()) return s;
  if (absl::Status s = text.status(); !s.ok()) return s;
  if (absl::Status s = gen.status(); !s.ok()) return s;
  return c;
}

} // namespace mvc
