//===- Qwen3VLConfig.cpp - Qwen3-VL configuration ---------------------------===//
#include "architectures/qwen3vl/Qwen3VLConfig.h"

#include <algorithm>

namespace mvc {

bool Qwen3VLTextConfig::isMoeLayer(int64_t layer) const {
  return numExperts > 0 &&
         std::find(mlpOnlyLayers.begin(), mlpOnlyLayers.end(), layer) == mlpOnlyLayers.end() &&
         (layer + 1) % decoderSparseStep == 0;
}

namespace {

/// A size given as one integer or as a list of equal ones (patch sizes).
int64_t squareSize(ConfigFields &f, const std::string &key, int64_t fallback) {
  if (!f.has(key))
    return fallback;
  std::vector<int64_t> sizes = f.integers(key);
  if (sizes.empty() || sizes[0] <= 0 ||
      std::any_of(sizes.begin(), sizes.end(), [&](int64_t s) { return s != sizes[0]; })) {
    f.fail(key, "expected a positive size (or a list of equal ones)");
    return 1;
  }
  return sizes[0];
}

void readText(ConfigFields &f, bool moe, Qwen3VLTextConfig &c) {
  c.vocabSize = f.positive("vocab_size", 151936);
  c.hiddenSize = f.positive("hidden_size", moe ? 2048 : 4096);
  c.intermediateSize = f.positive("intermediate_size", moe ? 5632 : 22016);
  c.numLayers = f.positive("num_hidden_layers", moe ? 24 : 32);
  c.numHeads = f.positive("num_attention_heads", moe ? 16 : 32);
  c.numKvHeads = f.has("num_key_value_heads")
                     ? f.positive("num_key_value_heads")
                     : c.numHeads;
  c.headDim = f.has("head_dim")
                  ? f.positive("head_dim")
                  : (moe ? c.hiddenSize / c.numHeads : 128);
  c.maxPositions = f.positive("max_position_embeddings", 128000);
  c.rmsNormEps = f.positiveNumber("rms_norm_eps", 1e-6);
  c.attentionBias = f.boolean("attention_bias", false);
  const std::string act = f.string("hidden_act", std::string("silu"));
  if (act != "silu")
    f.fail("hidden_act", "unsupported '" + act + "' (Qwen3 uses silu)");
  if (c.numHeads % c.numKvHeads != 0)
    f.fail("num_key_value_heads", "must divide num_attention_heads");
  if (c.headDim % 2 != 0)
    f.fail("head_dim", "must be even for RoPE");

  // RoPE: v5 rope_parameters {rope_theta, mrope_section, ...}; v4 rope_theta + rope_scaling.
  c.ropeTheta = f.positiveNumber("rope_theta", 500000.0);
  const char *ropeKey = f.has("rope_parameters") ? "rope_parameters"
                        : f.has("rope_scaling")  ? "rope_scaling"
                                                 : nullptr;
  if (ropeKey) {
    ConfigFields rope = f.sub(ropeKey);
    c.ropeTheta = rope.positiveNumber("rope_theta", c.ropeTheta);
    const std::string type = rope.string("rope_type", rope.string("type", std::string("default")));
    if (type != "default" && type != "mrope")
      rope.fail("rope_type", "unsupported '" + type + "' (Qwen3-VL uses default M-RoPE)");
    if (rope.has("mrope_section")) {
      std::vector<int64_t> section = rope.integers("mrope_section");
      if (section.size() != 3 ||
          std::any_of(section.begin(), section.end(), [](int64_t s) { return s < 0; }))
        rope.fail("mrope_section", "expected 3 non-negative integers (temporal, height, width)");
      else
        std::copy(section.begin(), section.end(), c.mropeSection.begin());
    }
  }

  if (moe) {
    // save_pretrained writes num_local_experts (attribute_map); num_experts is the
    // constructor's name. Both may be present; they must agree.
    const bool local = f.has("num_local_experts"), named = f.has("num_experts");
    c.numExperts = local ? f.positive("num_local_experts") : f.positive("num_experts", 60);
    if (local && named && f.positive("num_experts") != c.numExperts)
      f.fail("num_experts", "disagrees with num_local_experts");
    c.expertsPerToken = f.positive("num_experts_per_tok", 4);
    c.moeIntermediateSize = f.positive("moe_intermediate_size", 1408);
    c.decoderSparseStep = f.positive("decoder_sparse_step", 1);
    if (f.has("mlp_only_layers"))
      c.mlpOnlyLayers = f.integers("mlp_only_layers");
    for (int64_t layer : c.mlpOnlyLayers)
      if (layer < 0 || layer >= c.numLayers)
        f.fail("mlp_only_layers", "layer " + std::to_string(layer) + " outside the model");
    if (c.expertsPerToken > c.numExperts)
      f.fail("num_experts_per_tok", "more than the experts there are");
  }
}

void readVision(ConfigFields &v, Qwen3VLVisionConfig &c) {
  c.depth = v.positive("depth", 27);
  c.hiddenSize = v.positive("hidden_size", 1152);
  c.intermediateSize = v.positive("intermediate_size", 4304);
  c.numHeads = v.positive("num_heads", 16);
  c.inChannels = v.positive("in_channels", 3);
  c.patchSize = squareSize(v, "patch_size", 16);
  c.temporalPatchSize = squareSize(v, "temporal_patch_size", 2);
  c.spatialMergeSize = v.positive("spatial_merge_size", 2);
  c.outHiddenSize = v.positive("out_hidden_size", 3584);
  c.numPositionEmbeddings = v.positive("num_position_embeddings", 2304);
  c.hiddenAct = v.string("hidden_act", std::string("gelu_pytorch_tanh"));
  if (v.has("deepstack_visual_indexes"))
    c.deepstackIndexes = v.integers("deepstack_visual_indexes");
  std::vector<int64_t> seen;
  for (int64_t index : c.deepstackIndexes) {
    if (index < 0 || index >= c.depth)
      v.fail("deepstack_visual_indexes", "layer " + std::to_string(index) + " outside the tower");
    else if (std::find(seen.begin(), seen.end(), index) != seen.end())
      v.fail("deepstack_visual_indexes", "layer " + std::to_string(index) + " twice");
    seen.push_back(index);
  }
  if (c.hiddenSize % c.numHeads != 0)
    v.fail("num_heads", "must divide hidden_size");
  // The learned position table is a square grid, interpolated to each image's.
  int64_t side = 1;
  while (side * side < c.numPositionEmbeddings)
    ++side;
  if (side * side != c.numPositionEmbeddings)
    v.fail("num_position_embeddings", "must be a square (a side x side table)");
  if (v.has("rope_parameters")) {
    ConfigFields rope = v.sub("rope_parameters");
    c.ropeTheta = rope.positiveNumber("rope_theta", 10000.0);
  }
}

} // namespace

std::vector<int32_t> Qwen3VLTextConfig::mropeAxes() const {
  std::vector<int32_t> axes(headDim / 2, 0);
  for (int64_t j = 0; j < headDim / 2; ++j) {
    if (j % 3 == 1 && j < 3 * mropeSection[1]) axes[j] = 1;
    else if (j % 3 == 2 && j < 3 * mropeSection[2]) axes[j] = 2;
  }
  return axes;
}

OrderedJson Qwen3VLConfig::toJson() const {
  const Qwen3VLTextConfig &t = text;
  OrderedJson textJson = {{"vocab_size", t.vocabSize},
                          {"hidden_size", t.hiddenSize},
                          {"intermediate_size", t.intermediateSize},
                          {"num_hidden_layers", t.numLayers},
                          {"num_attention_heads", t.numHeads},
                          {"num_key_value_heads", t.numKvHeads},
                          {"head_dim", t.headDim},
                          {"rms_norm_eps", t.rmsNormEps},
                          {"rope_theta", t.ropeTheta},
                          {"mrope_section", t.mropeSection},
                          {"max_position_embeddings", t.maxPositions},
                          {"eos_token_ids", t.eosTokenIds}};
  if (moe()) {
    textJson["num_experts"] = t.numExperts;
    textJson["num_experts_per_tok"] = t.expertsPerToken;
    textJson["moe_intermediate_size"] = t.moeIntermediateSize;
    textJson["decoder_sparse_step"] = t.decoderSparseStep;
    textJson["mlp_only_layers"] = t.mlpOnlyLayers;
  }
  const Qwen3VLVisionConfig &v = vision;
  return {{"model_type", modelType},
          {"text", textJson},
          {"vision", {{"depth", v.depth},
                      {"hidden_size", v.hiddenSize},
                      {"intermediate_size", v.intermediateSize},
                      {"num_heads", v.numHeads},
                      {"patch_size", v.patchSize},
                      {"temporal_patch_size", v.temporalPatchSize},
                      {"spatial_merge_size", v.spatialMergeSize},
                      {"out_hidden_size", v.outHiddenSize},
                      {"num_position_embeddings", v.numPositionEmbeddings},
                      {"deepstack_visual_indexes", v.deepstackIndexes}}},
          {"image_token_id", imageTokenId},
          {"video_token_id", videoTokenId},
          {"vision_start_token_id", visionStartTokenId},
          {"vision_end_token_id", visionEndTokenId},
          {"tie_word_embeddings", tieWordEmbeddings}};
}

absl::StatusOr<Qwen3VLConfig> parseQwen3VLConfig(const OrderedJson &config,
                                                 const OrderedJson &generationConfig,
                                                 const std::string &path) {
  ConfigFields top(config, path);
  Qwen3VLConfig c;
  c.modelType = top.string("model_type", std::string("qwen3_vl"));
  if (c.modelType != "qwen3_vl" && c.modelType != "qwen3_vl_moe")
    top.fail("model_type", "expected qwen3_vl or qwen3_vl_moe, got '" + c.modelType + "'");
  if (!top.has("text_config"))
    top.fail("text_config", "missing");
  if (!top.has("vision_config"))
    top.fail("vision_config", "missing");
  if (!top.status().ok())
    return top.status();
  ConfigFields text = top.sub("text_config");
  ConfigFields vision = top.sub("vision_config");
  readText(text, c.moe(), c.text);
  readVision(vision, c.vision);
  c.imageTokenId = top.integer("image_token_id", 151655);
  c.videoTokenId = top.integer("video_token_id", 151656);
  c.visionStartTokenId = top.integer("vision_start_token_id", 151652);
  c.visionEndTokenId = top.integer("vision_end_token_id", 151653);
  c.tieWordEmbeddings = top.boolean("tie_word_embeddings", false);
  if (c.vision.outHiddenSize != c.text.hiddenSize)
    vision.fail("out_hidden_size", "must equal text_config.hidden_size (" +
                                       std::to_string(c.text.hiddenSize) + ")");
  for (auto [key, id] : {std::pair("image_token_id", c.imageTokenId),
                         std::pair("video_token_id", c.videoTokenId),
                         std::pair("vision_start_token_id", c.visionStartTokenId),
                         std::pair("vision_end_token_id", c.visionEndTokenId)})
    if (id < 0 || id >= c.text.vocabSize)
      top.fail(key, "id " + std::to_string(id) + " outside the vocabulary");
  c.text.bosTokenId = readOptionalTokenId(text, top, "bos_token_id", c.text.vocabSize);
  c.text.padTokenId = readOptionalTokenId(text, top, "pad_token_id", c.text.vocabSize);
  ConfigFields gen(generationConfig, "generation_config.json");
  c.text.eosTokenIds = readEosTokenIds(text, top, gen, c.text.vocabSize);
  if (!top.status().ok())
    return top.status();
  if (!gen.status().ok())
    return gen.status();
  return c;
}

} // namespace mvc
