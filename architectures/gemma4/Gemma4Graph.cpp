//===- Gemma4Graph.cpp - Gemma 4 as mvc graphs ----------------------------===//
//
// MODELS.md §3.4, in the order transformers 5.23's Gemma4TextModel computes. Every norm is
// Gemma 4's RMSNorm (x · w, no 1 + w); the v-norm and the router's pre-norm have no weight.
//
//===----------------------------------------------------------------------===//
#include "architectures/gemma4/Gemma4Graph.h"

#include <cmath>
#include <map>

#include "architectures/common/Layers.h"
#include "architectures/common/Rope.h"
#include "architectures/gemma4/Gemma4Config.h"
#include "architectures/gemma4/Gemma4Processor.h"

using namespace mlir;

namespace mvc {
namespace {

/// Where the text model's tensors live: "model." (Gemma4ForCausalLM) or
/// "model.language_model." (Gemma4ForConditionalGeneration).
std::string textPrefix(const ArchitectureInput &input, const Gemma4Config &c) {
  if (c.conditional) return "model.language_model.";
  // A text-only checkpoint cut from a conditional one keeps the nested names.
  if (input.hasWeight && input.hasWeight("model.language_model.embed_tokens.weight"))
    return "model.language_model.";
  return "model.";
}

struct KvCaches {
  Value k, v;
};

/// The `vision` program: Gemma4VisionModel and the embedder over the real patches of a
/// call's images (Gemma4Processor.h), in one execution with attention within each image.
/// Inputs: pixel_values [N, 3·p²] in [0, 1], pos_ids / pos_weights [N, 2] (the x row and
/// the pos_size + y row of the learned table, weights 1), rope_positions [N, 2] (x, y),
/// segments [S + 1], pool_ids / pool_weights [M, k²] (each soft token's k×k patches).
/// Output: image_features [M, H] (the embedder's rows).
absl::Status buildVision(GraphBuilder &gb, const Gemma4Config &config, const ArchitectureOptions &o) {
  const Gemma4VisionConfig &v = config.vision;
  const int64_t hv = v.hiddenSize, hd = v.headDim, k2 = v.poolingKernelSize * v.poolingKernelSize;
  const int64_t patchElems = 3 * v.patchSize * v.patchSize;
  const float eps = float(v.rmsNormEps);
  std::vector<Value> in = gb.beginProgram(
      "vision", {{"pixel_values", {"N", patchElems}, gb.f32()},
                 {"pos_ids", {"N", 2}, gb.i32()},
                 {"pos_weights", {"N", 2}, gb.f32()},
                 {"rope_positions", {"N", 2}, gb.i32()},
                 {"segments", {"S1"}, gb.i32()},
                 {"pool_ids", {"M", k2}, gb.i32()},
                 {"pool_weights", {"M", k2}, gb.f32()}});
  const std::string p = "model.vision_tower.";
  auto vec = [&](const std::string &name, int64_t n) { return gb.weight(p + name, {n}, gb.f32()); };
  auto norm = [&](Value x, const std::string &name, int64_t n) {
    return gb.rmsNorm(x, vec(name, n), eps, 0.0f);
  };
  // Gemma4ClippableLinear: clamp(clamp(x, in_min, in_max) · Wᵀ, out_min, out_max), the
  // bounds scalar buffers, when use_clipped_linears.
  auto linear = [&](Value x, const std::string &name, int64_t out, int64_t inDim) {
    auto bound = [&](const char *which) { return gb.weight(p + name + "." + which, {1}, gb.f32()); };
    if (v.useClippedLinears) x = gb.minimum(gb.maximum(x, bound("input_min")), bound("input_max"));
    Value y = gb.matmul(x, gb.weight(p + name + ".linear.weight", {out, inDim}, o.weightType));
    if (v.useClippedLinears) y = gb.minimum(gb.maximum(y, bound("output_min")), bound("output_max"));
    return y;
  };
  // The model maps [0, 1] to [-1, 1] before the patch projection: 2 · (x - 0.5).
  Value x = gb.scale(gb.add(in[0], gb.constant({-0.5f})), 2.0f);
  x = gb.matmul(x, gb.weight(p + "patch_embedder.input_proj.weight", {hv, patchElems}, o.weightType));
  Value table = gb.reshapedWeight(p + "patch_embedder.position_embedding_table",
                                  {2 * v.positionEmbeddingSize, hv}, {2, v.positionEmbeddingSize, hv},
                                  o.weightType);
  x = gb.add(x, gb.weightedGather(table, in[1], in[2]));

  // 2-D RoPE: the head's first half rotates by x, its second by y, each rotate_half within
  // its half at inv_freq of a hd/2-wide head. Reordering the quarters [x0 x1 y0 y1] of q and
  // k to [x0 y0 x1 y1] (the same for both, so q·k is unchanged) makes that one rotate_half
  // over the whole head with frequencies [fx, fy]: a table with axes x then y.
  RopeParams ropeParams;
  ropeParams.theta = v.ropeTheta;
  std::vector<float> inv = ropeInvFreq(ropeParams, hd / 2);
  std::vector<int32_t> axes(inv.size(), 0);
  inv.insert(inv.end(), inv.begin(), inv.end());
  axes.resize(inv.size(), 1);
  Value rope = gb.ropeTable(in[3], gb.constant(inv), gb.constantI32(axes, {int64_t(axes.size())}));
  auto axial = [&](Value t) {
    const int64_t q = hd / 4;
    return gb.rope(gb.concat({gb.slice(t, 2, 0, q), gb.slice(t, 2, 2 * q, q), gb.slice(t, 2, q, q),
                              gb.slice(t, 2, 3 * q, q)},
                             2),
                   rope);
  };
  for (int64_t i = 0; i < v.numLayers; ++i) {
    const std::string l = "encoder.layers." + std::to_string(i) + ".";
    Value a = norm(x, l + "input_layernorm.weight", hv);
    Value q = gb.reshape(linear(a, l + "self_attn.q_proj", v.numHeads * hd, hv), {-1, v.numHeads, hd});
    Value kk = gb.reshape(linear(a, l + "self_attn.k_proj", v.numKvHeads * hd, hv), {-1, v.numKvHeads, hd});
    Value vv = gb.reshape(linear(a, l + "self_attn.v_proj", v.numKvHeads * hd, hv), {-1, v.numKvHeads, hd});
    q = axial(gb.rmsNorm(q, vec(l + "self_attn.q_norm.weight", hd), eps, 0.0f));
    kk = axial(gb.rmsNorm(kk, vec(l + "self_attn.k_norm.weight", hd), eps, 0.0f));
    vv = gb.rmsNorm(vv, Value(), eps, 0.0f);
    Value att = gb.varlenAttention(q, kk, vv, in[4], 1.0f);
    att = linear(gb.reshape(att, {-1, v.numHeads * hd}), l + "self_attn.o_proj", hv, v.numHeads * hd);
    x = gb.add(x, norm(att, l + "post_attention_layernorm.weight", hv));
    Value m = norm(x, l + "pre_feedforward_layernorm.weight", hv);
    Value g = gb.gelu(linear(m, l + "mlp.gate_proj", v.intermediateSize, hv), /*tanhApprox=*/true);
    m = linear(gb.mul(g, linear(m, l + "mlp.up_proj", v.intermediateSize, hv)), l + "mlp.down_proj", hv,
               v.intermediateSize);
    x = gb.add(x, norm(m, l + "post_feedforward_layernorm.weight", hv));
  }
  // Average pooling over each soft token's k×k patches, then · sqrt(Hv), in f32.
  Value pooled = gb.scale(gb.weightedGather(x, in[5], in[6]), float(std::sqrt(double(hv))));
  if (v.standardize)
    pooled = gb.mul(gb.sub(pooled, vec("std_bias", hv)), vec("std_scale", hv));
  Value features = gb.matmul(gb.rmsNorm(pooled, Value(), eps, 0.0f),
                             gb.weight("model.embed_vision.embedding_projection.weight",
                                       {config.text.hiddenSize, hv}, o.weightType));
  gb.endProgram({{"image_features", features}});
  return absl::OkStatus();
}

absl::Status buildText(GraphBuilder &gb, const Gemma4Config &config, const ArchitectureInput &input,
                       std::vector<std::pair<std::string, Value>> &routing) {
  const Gemma4TextConfig &c = config.text;
  const ArchitectureOptions &o = input.options;
  const int64_t h = c.hiddenSize, pd = c.pleWidth;
  const std::string t = textPrefix(input, config);
  const float eps = float(c.rmsNormEps);
  // With a vision tower: image_features and embed_source, and the image-span groups when
  // use_bidirectional_attention is "vision" (MODELS.md §3.7).
  const bool images = config.hasVision, groups = images && c.bidirectional == "vision";
  LanguageModelInputs in = beginLanguageModelProgram(gb, images ? h : 0, groups);
  auto vec = [&](const std::string &name, int64_t n) { return gb.weight(t + name, {n}, gb.f32()); };
  auto linear = [&](const std::string &name, int64_t out, int64_t inDim) {
    return gb.weight(t + name, {out, inDim}, o.weightType);
  };
  auto norm = [&](Value x, const std::string &name, int64_t n) {
    return gb.rmsNorm(x, vec(name, n), eps, 0.0f);
  };

  // Model parts for --profile's per-part totals (GraphBuilder::setPart).
  gb.setPart("embed");
  Value embedTable = linear("embed_tokens.weight", c.vocabSize, h);
  Value x = gb.scale(gb.gather(embedTable, in.tokens), inWeightType(std::sqrt(double(h)), o));
  // Image features replace the embeddings of the image tokens, unscaled. (The run half
  // gives those tokens as pad_token_id, so the per-layer table reads the pad row there, as
  // transformers' ids_llm.)
  if (images) x = gb.mergeRows(x, in.imageFeatures, in.embedSource);

  // Per-layer inputs [T, L·Pd]: the token's own row of the second table, mixed with a
  // projection of the (merged) embeddings; layer i reads columns i·Pd .. (i+1)·Pd.
  Value ple;
  gb.setPart("ple");
  if (pd) {
    if (c.pleVocabSize < c.vocabSize)
      return absl::InvalidArgumentError(
          input.configPath + ": vocab_size_per_layer_input " + std::to_string(c.pleVocabSize) +
          " is smaller than vocab_size " + std::to_string(c.vocabSize) +
          " (every token id indexes the per-layer table)");
    const int64_t width = c.numLayers * pd;
    Value tok = gb.scale(gb.gather(linear("embed_tokens_per_layer.weight", c.pleVocabSize, width), in.tokens),
                         inWeightType(std::sqrt(double(pd)), o));
    Value ctx = gb.scale(gb.matmul(x, linear("per_layer_model_projection.weight", width, h)),
                         float(std::pow(double(h), -0.5)));
    ctx = gb.reshape(gb.rmsNorm(gb.reshape(ctx, {-1, c.numLayers, pd}),
                                vec("per_layer_projection_norm.weight", pd), eps, 0.0f),
                     {-1, width});
    ple = gb.scale(gb.add(ctx, tok), float(std::pow(2.0, -0.5)));
  }

  // One cos/sin table per layer type (each type has one head_dim).
  std::map<bool, Value> ropeTables;
  for (const Gemma4Layer &l : c.layers) {
    if (ropeTables.count(l.full)) continue;
    const Gemma4Rope &r = l.full ? c.fullRope : c.slidingRope;
    RopeParams params;
    params.type = r.type;
    params.theta = r.theta;
    params.partialRotaryFactor = r.partialRotaryFactor;
    if (r.type == "default" && r.partialRotaryFactor != 1.0)
      return absl::UnimplementedError(input.configPath + ": a partial_rotary_factor with rope_type "
                                      "default (Gemma 4 rotates part of a head only with "
                                      "proportional RoPE)");
    ropeTables[l.full] = gb.ropeTable(in.positions, gb.constant(ropeInvFreq(params, l.headDim)));
  }

  std::map<int64_t, KvCaches> written;  // layer → the K/V states it wrote
  for (int64_t i = 0; i < c.numLayers; ++i) {
    const Gemma4Layer &l = c.layers[i];
    const std::string p = "layers." + std::to_string(i) + ".";
    const int64_t qWidth = c.numHeads * l.headDim, kvWidth = l.kvHeads * l.headDim;
    gb.setPart("attention");
    Value a = norm(x, p + "input_layernorm.weight", h);
    Value q = gb.reshape(gb.matmul(a, linear(p + "self_attn.q_proj.weight", qWidth, h)),
                         {-1, c.numHeads, l.headDim});
    q = gb.rope(gb.rmsNorm(q, vec(p + "self_attn.q_norm.weight", l.headDim), eps, 0.0f),
                ropeTables[l.full]);
    KvCaches kv;
    if (l.sharing == Gemma4Layer::KvSharing::kReuse) {
      // The source layer's states, already holding this call's tokens.
      kv = written.at(l.kvSource);
    } else {
      Value kRaw = gb.reshape(gb.matmul(a, linear(p + "self_attn.k_proj.weight", kvWidth, h)),
                              {-1, l.kvHeads, l.headDim});
      Value vRaw = l.kEqV ? kRaw
                          : gb.reshape(gb.matmul(a, linear(p + "self_attn.v_proj.weight", kvWidth, h)),
                                       {-1, l.kvHeads, l.headDim});
      Value k = gb.rope(gb.rmsNorm(kRaw, vec(p + "self_attn.k_norm.weight", l.headDim), eps, 0.0f),
                        ropeTables[l.full]);
      Value v = gb.rmsNorm(vRaw, Value(), eps, 0.0f);
      SmallVector<int64_t> cacheShape = {ShapedType::kDynamic, o.pageSize, l.kvHeads, l.headDim};
      const std::string state = "kv." + std::to_string(i);
      kv.k = gb.kvWrite(k, gb.state(state + ".k", cacheShape, o.kvType), in.blockTable,
                        in.rowOffsets, in.cacheLens);
      kv.v = gb.kvWrite(v, gb.state(state + ".v", cacheShape, o.kvType), in.blockTable,
                        in.rowOffsets, in.cacheLens);
      written[i] = kv;
    }
    GraphBuilder::AttentionOptions attn;
    attn.scale = 1.0f;
    attn.slidingWindow = l.full ? 0 : c.slidingWindow;
    // "vision": the sliding layers see their whole image span (within the window); the full
    // layers stay causal.
    if (groups && !l.full) {
      attn.groupSpans = in.groupSpans;
      attn.groupWindowClip = true;
    }
    Value att = gb.attention(q, kv.k, kv.v, in.blockTable, in.rowOffsets, in.cacheLens, attn);
    att = gb.matmul(gb.reshape(att, {-1, qWidth}), linear(p + "self_attn.o_proj.weight", h, qWidth));
    x = gb.add(x, norm(att, p + "post_attention_layernorm.weight", h));

    gb.setPart("mlp");
    Value m = gatedMlp(gb, norm(x, p + "pre_feedforward_layernorm.weight", h),
                       linear(p + "mlp.gate_proj.weight", l.mlpWidth, h),
                       linear(p + "mlp.up_proj.weight", l.mlpWidth, h),
                       linear(p + "mlp.down_proj.weight", h, l.mlpWidth), Activation::GeluTanh);
    if (c.enableMoe) {
      // The router and the experts read the residual stream after attention.
      gb.setPart("moe");
      const int64_t e = c.numExperts, inter = c.moeIntermediateSize;
      Value z = gb.scale(gb.rmsNorm(x, vec(p + "router.scale", h), eps, 0.0f),
                         float(std::pow(double(h), -0.5)));
      // The router stays f32 in a bf16 artifact (E·H values): its choices are discrete, and
      // near-ties between the k-th and (k+1)-th expert flip with bf16 rounding.
      GraphBuilder::MoeRoute route =
          gb.moeRoute(gb.matmul(z, gb.weight(t + p + "router.proj.weight", {e, h}, gb.f32())), c.topKExperts,
                      /*normalize=*/true, vec(p + "router.per_expert_scale", e));
      Value xs = gb.gather(norm(x, p + "pre_feedforward_layernorm_2.weight", h), route.rows);
      Value gu = gb.groupedMatmul(
          xs, gb.weight(t + p + "experts.gate_up_proj", {e, 2 * inter, h}, o.weightType), route.groups);
      Value act = gb.mul(gb.gelu(gb.slice(gu, 1, 0, inter), /*tanhApprox=*/true),
                         gb.slice(gu, 1, inter, inter));
      Value y = gb.moeCombine(
          gb.groupedMatmul(act, gb.weight(t + p + "experts.down_proj", {e, h, inter}, o.weightType),
                           route.groups),
          route.weights, route.slots);
      m = gb.add(norm(m, p + "post_feedforward_layernorm_1.weight", h),
                 norm(y, p + "post_feedforward_layernorm_2.weight", h));
      if (o.exposeRouting) {
        routing.push_back({"moe." + std::to_string(i) + ".slots", route.slots});
        routing.push_back({"moe." + std::to_string(i) + ".groups", route.groups});
      }
    }
    x = gb.add(x, norm(m, p + "post_feedforward_layernorm.weight", h));

    if (pd) {
      gb.setPart("ple");
      Value g = gb.gelu(gb.matmul(x, linear(p + "per_layer_input_gate.weight", pd, h)), true);
      g = gb.mul(g, gb.slice(ple, 1, i * pd, pd));
      x = gb.add(x, norm(gb.matmul(g, linear(p + "per_layer_projection.weight", h, pd)),
                         p + "post_per_layer_input_norm.weight", h));
    }
    x = gb.mul(x, vec(p + "layer_scalar", 1));
  }

  // Only the rows whose logits are wanted go through the final norm and the head.
  gb.setPart("head");
  Value last = norm(gb.gather(x, in.logitRows), "norm.weight", h);
  Value head = config.tieWordEmbeddings ? embedTable : gb.weight("lm_head.weight", {c.vocabSize, h}, o.weightType);
  Value logits = gb.matmul(last, head);
  if (c.finalLogitSoftcapping) logits = gb.softcap(logits, float(*c.finalLogitSoftcapping));
  std::vector<std::pair<std::string, Value>> outputs = {{"logits", logits}};
  outputs.insert(outputs.end(), routing.begin(), routing.end());
  gb.endProgram(outputs);
  gb.setPart("");
  return absl::OkStatus();
}

} // namespace

absl::StatusOr<ArchitectureBuild> compileGemma4(const ArchitectureInput &input, GraphBuilder &gb) {
  absl::StatusOr<Gemma4Config> config =
      parseGemma4Config(input.config, input.generationConfig, input.configPath);
  if (!config.ok()) return config.status();
  const Gemma4TextConfig &t = config->text;
  const std::string where = input.configPath + (config->conditional ? ": text_config" : "");
  if (t.bidirectional == "all")
    return absl::UnimplementedError(where + ": use_bidirectional_attention \"all\" (an encoder-style, "
                                            "non-causal text model) is not supported");
  bool checkpoint = input.hasWeight && input.hasWeight(textPrefix(input, *config) + "embed_tokens.weight");
  if (!config->tieWordEmbeddings && checkpoint && !input.hasWeight("lm_head.weight"))
    return absl::InvalidArgumentError(input.configPath +
                                      ": tie_word_embeddings is false but the checkpoint has no "
                                      "lm_head.weight");
  std::vector<std::pair<std::string, Value>> routing;
  if (config->hasVision) {
    const Gemma4VisionConfig &v = config->vision;
    // The processors' patches and pooling must be the tower's.
    if (!input.processorConfig.empty()) {
      auto processor = gemma4::ImageProcessorConfig::parse(input.processorConfig, input.processorConfigPath);
      if (!processor.ok()) return processor.status();
      if (absl::Status s = gemma4::checkFitsTower(*processor, v.patchSize, v.poolingKernelSize,
                                                  input.processorConfigPath);
          !s.ok())
        return s;
    }
    if (!input.videoProcessorConfig.empty()) {
      auto video = gemma4::VideoProcessorConfig::parse(input.videoProcessorConfig, input.videoProcessorConfigPath);
      if (!video.ok()) return video.status();
      if (absl::Status s = gemma4::checkFitsTower(video->frames, v.patchSize, v.poolingKernelSize,
                                                  input.videoProcessorConfigPath);
          !s.ok())
        return s;
    }
    if (absl::Status built = buildVision(gb, *config, input.options); !built.ok()) return built;
  }
  if (absl::Status built = buildText(gb, *config, input, routing); !built.ok()) return built;

  ArchitectureBuild out;
  out.config = input.config.contains("text_config") ? input.config["text_config"] : input.config;
  out.languageModel = {{"architecture", "gemma4"},
                       {"program", "forward"},
                       {"vocab_size", t.vocabSize},
                       {"page_size", input.options.pageSize},
                       {"bos_token_id", nullptr},
                       {"pad_token_id", nullptr},
                       {"eos_token_ids", t.eosTokenIds},
                       {"max_positions", t.maxPositions},
                       {"response_format", "gemma4"}};
  if (t.bosTokenId) out.languageModel["bos_token_id"] = *t.bosTokenId;
  if (t.padTokenId) out.languageModel["pad_token_id"] = *t.padTokenId;
  if (config->hasVision) {
    if (!t.padTokenId)
      return absl::InvalidArgumentError(input.configPath + ": pad_token_id is needed with a vision "
                                                           "tower (image tokens read its per-layer row)");
    const Gemma4VisionConfig &v = config->vision;
    out.languageModel["vision"] = {{"program", "vision"},
                                   {"image_token_id", config->imageTokenId},
                                   {"boi_token_id", config->boiTokenId},
                                   {"eoi_token_id", config->eoiTokenId},
                                   {"patch_size", v.patchSize},
                                   {"pooling_kernel_size", v.poolingKernelSize},
                                   {"position_table", v.positionEmbeddingSize},
                                   {"image_groups", t.bidirectional == "vision"},
                                   {"video_token_id", config->videoTokenId},
                                   {"audio_token_id", config->audioTokenId},
                                   {"takes_videos", true},
                                   {"image_hidden", t.hiddenSize}};
  }
  if (config->hasAudio)
    out.notes.push_back(input.configPath + ": audio_config is ignored (mvc has no Gemma 4 audio "
                                           "tower)");
  return out;
}

} // namespace mvc
