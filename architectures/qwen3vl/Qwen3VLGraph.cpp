//===- Qwen3VLGraph.cpp - Qwen3-VL (dense and MoE) as mvc graphs ----------===//
#include "architectures/qwen3vl/Qwen3VLGraph.h"

#include <cmath>

#include "architectures/common/Layers.h"
#include "architectures/common/Rope.h"
#include "architectures/qwen3vl/Qwen3VLConfig.h"

using namespace mlir;

namespace mvc {
namespace {

/// How a checkpoint stores an expert tensor that transformers 5.x holds as [E, N, K]
/// (gate_up_proj [E, 2I, H], down_proj [E, H, I]): the same, or transposed ([E, K, N]) as
/// checkpoints written before transformers 5 and the published Qwen3-VL-MoE files are.
/// transformers 5.23 loads either, deciding by shape (conversion_mapping's
/// Transpose(check_dims)); when N == K the shape cannot tell, and the file's
/// transformers_version does.
absl::StatusOr<bool> expertsTransposed(const ArchitectureInput &input, const std::string &name,
                                       int64_t e, int64_t n, int64_t k) {
  std::optional<std::vector<int64_t>> shape = input.weightShape ? input.weightShape(name) : std::nullopt;
  if (!shape) return false;  // no checkpoint (random weights): transformers 5's layout
  std::vector<int64_t> asIs = {e, n, k}, transposed = {e, k, n};
  auto text = [](const std::vector<int64_t> &s) {
    std::string out = "[";
    for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
    return out + "]";
  };
  if (*shape != asIs && *shape != transposed)
    return absl::InvalidArgumentError("checkpoint tensor '" + name + "' is " + text(*shape) +
                                      ", but the config's experts need " + text(asIs) + " (or " +
                                      text(transposed) + " as saved before transformers 5)");
  if (n != k) return *shape == transposed;
  // Square: only the writer's version tells the layouts apart.
  std::string version;
  if (input.config.contains("transformers_version") && input.config["transformers_version"].is_string())
    version = input.config["transformers_version"].get<std::string>();
  if (version.empty() || !std::isdigit(static_cast<unsigned char>(version[0])))
    return absl::InvalidArgumentError(
        input.configPath + ": expert tensor '" + name + "' is square " + text(*shape) +
        ", so its layout ([E, out, in] since transformers 5, [E, in, out] before) cannot be told "
        "from its shape, and config.json has no transformers_version to tell it");
  return std::stoi(version.substr(0, version.find('.'))) < 5;
}

/// The `vision` program: Qwen3VLMoeVisionModel over the patches of one call (any number of
/// images or video frames: attention stays within each segment, one per image or temporal
/// patch). Inputs, as transformers' vision_utils computes them from the grids (the run half
/// does the same): pixel_values [N, C·tp·p·p] in merge-block order, pos_ids / pos_weights
/// [N, 4] (the bilinear taps into the learned position table, align_corners), rope_positions
/// [N, 2] (row, column), segments [S + 1] (cu_seqlens). Outputs: image_features [N/4, out]
/// (the merger) and deepstack.{j} [N/4, out] (the deepstack mergers).
absl::Status buildVision(GraphBuilder &gb, const Qwen3VLVisionConfig &v, const ArchitectureOptions &o) {
  const int64_t h = v.hiddenSize, heads = v.numHeads, hd = h / heads;
  const int64_t merge2 = v.spatialMergeSize * v.spatialMergeSize;
  const int64_t patchElems = v.inChannels * v.temporalPatchSize * v.patchSize * v.patchSize;
  if (h % heads || hd % 4)
    return absl::UnimplementedError("vision_config: hidden_size / num_heads must be a multiple of 4");
  bool tanhGelu = v.hiddenAct == "gelu_pytorch_tanh";
  if (!tanhGelu && v.hiddenAct != "gelu")
    return absl::UnimplementedError("vision_config.hidden_act '" + v.hiddenAct +
                                    "' is not supported (gelu_pytorch_tanh or gelu)");
  std::vector<Value> in = gb.beginProgram(
      "vision", {{"pixel_values", {"N", patchElems}, gb.f32()},
                 {"pos_ids", {"N", 4}, gb.i32()},
                 {"pos_weights", {"N", 4}, gb.f32()},
                 {"rope_positions", {"N", 2}, gb.i32()},
                 {"segments", {"S1"}, gb.i32()}});
  const std::string p = "model.visual.";
  auto vec = [&](const std::string &name, int64_t n) { return gb.weight(p + name, {n}, gb.f32()); };
  auto linear = [&](Value x, const std::string &name, int64_t out, int64_t inDim) {
    return gb.add(gb.matmul(x, gb.weight(p + name + ".weight", {out, inDim}, o.weightType)),
                  vec(name + ".bias", out));
  };
  auto layerNorm = [&](Value x, const std::string &name, int64_t n) {
    return gb.layerNorm(x, vec(name + ".weight", n), vec(name + ".bias", n), 1e-6f);
  };
  // The Conv3d patch embedding as one matmul over each patch's C·tp·p·p values.
  Value patchW = gb.reshapedWeight(p + "patch_embed.proj.weight", {h, patchElems},
                                   {h, v.inChannels, v.temporalPatchSize, v.patchSize, v.patchSize},
                                   o.weightType);
  Value x = gb.add(gb.matmul(in[0], patchW), vec("patch_embed.proj.bias", h));
  x = gb.add(x, gb.weightedGather(gb.weight(p + "pos_embed.weight", {v.numPositionEmbeddings, h},
                                            o.weightType),
                                  in[1], in[2]));
  // 2-D RoPE: the default frequencies of a head_dim/2 "head" (head_dim/4 of them), the
  // row's angles then the column's.
  RopeParams ropeParams;
  ropeParams.theta = v.ropeTheta;
  std::vector<float> inv = ropeInvFreq(ropeParams, hd / 2);
  std::vector<int32_t> axes(inv.size(), 0);
  inv.insert(inv.end(), inv.begin(), inv.end());
  axes.resize(inv.size(), 1);
  Value rope = gb.ropeTable(in[3], gb.constant(inv), gb.constantI32(axes, {int64_t(axes.size())}));
  auto merger = [&](Value y, const std::string &name, bool postShuffleNorm) {
    if (postShuffleNorm) {
      y = layerNorm(gb.reshape(y, {-1, merge2 * h}), name + ".norm", merge2 * h);
    } else {
      y = gb.reshape(layerNorm(y, name + ".norm", h), {-1, merge2 * h});
    }
    y = gb.gelu(linear(y, name + ".linear_fc1", merge2 * h, merge2 * h), /*tanhApprox=*/false);
    return linear(y, name + ".linear_fc2", v.outHiddenSize, merge2 * h);
  };
  std::vector<std::pair<std::string, Value>> outputs;
  for (int64_t i = 0; i < v.depth; ++i) {
    std::string b = "blocks." + std::to_string(i) + ".";
    Value qkv = linear(layerNorm(x, b + "norm1", h), b + "attn.qkv", 3 * h, h);
    auto part = [&](int64_t k) { return gb.reshape(gb.slice(qkv, 1, k * h, h), {-1, heads, hd}); };
    Value q = gb.rope(part(0), rope), k = gb.rope(part(1), rope);
    Value a = gb.varlenAttention(q, k, part(2), in[4], float(1.0 / std::sqrt(double(hd))));
    x = gb.add(x, linear(gb.reshape(a, {-1, h}), b + "attn.proj", h, h));
    Value mlp = linear(layerNorm(x, b + "norm2", h), b + "mlp.linear_fc1", v.intermediateSize, h);
    mlp = linear(gb.gelu(mlp, tanhGelu), b + "mlp.linear_fc2", h, v.intermediateSize);
    x = gb.add(x, mlp);
    for (size_t j = 0; j < v.deepstackIndexes.size(); ++j)
      if (v.deepstackIndexes[j] == i)
        outputs.push_back({"deepstack." + std::to_string(j),
                           merger(x, "deepstack_merger_list." + std::to_string(j), true)});
  }
  outputs.insert(outputs.begin(), {"image_features", merger(x, "merger", false)});
  gb.endProgram(outputs);
  return absl::OkStatus();
}

absl::Status buildText(GraphBuilder &gb, const Qwen3VLConfig &config, const ArchitectureInput &input) {
  const Qwen3VLTextConfig &c = config.text;
  const ArchitectureOptions &o = input.options;
  const int64_t h = c.hiddenSize, q = c.numHeads * c.headDim, kv = c.numKvHeads * c.headDim;
  // Image features replace the image tokens' embeddings; the deepstack features are added
  // to the hidden states at the same tokens after the first decoder layers.
  const int64_t deepstack = int64_t(config.vision.deepstackIndexes.size());
  std::vector<ProgramInput> extra = {{"mrope_positions", {"T", 3}, gb.i32()}};
  for (int64_t j = 0; j < deepstack; ++j)
    extra.push_back({"deepstack." + std::to_string(j), {"I", h}, gb.f32()});
  LanguageModelInputs in = beginLanguageModelProgram(gb, h, false, extra);
  Value mropePositions = in.extra.at("mrope_positions");
  const std::string prefix = "model.language_model.";
  auto norm = [&](Value x, const std::string &name, int64_t width) {
    return gb.rmsNorm(x, gb.weight(prefix + name, {width}, gb.f32()), float(c.rmsNormEps), 0.0f);
  };
  auto linear = [&](const std::string &name, int64_t out, int64_t inDim) {
    return gb.weight(name, {out, inDim}, o.weightType);
  };
  Value embedTable = linear(prefix + "embed_tokens.weight", c.vocabSize, h);
  Value x = gb.mergeRows(gb.gather(embedTable, in.tokens), in.imageFeatures, in.embedSource);
  RopeParams ropeParams;
  ropeParams.theta = c.ropeTheta;
  std::vector<float> inv = ropeInvFreq(ropeParams, c.headDim);
  std::vector<int32_t> axes = c.mropeAxes();
  Value rope = gb.ropeTable(mropePositions, gb.constant(inv),
                            gb.constantI32(axes, {int64_t(axes.size())}));
  AttentionSpec spec{c.numHeads, c.numKvHeads, c.headDim, o.pageSize};
  GraphBuilder::AttentionOptions attn;
  attn.scale = float(1.0 / std::sqrt(double(c.headDim)));
  std::vector<std::pair<std::string, Value>> routing;  // --expose-routing
  for (int64_t i = 0; i < c.numLayers; ++i) {
    std::string p = prefix + "layers." + std::to_string(i) + ".";
    AttentionWeights w{linear(p + "self_attn.q_proj.weight", q, h),
                       linear(p + "self_attn.k_proj.weight", kv, h),
                       linear(p + "self_attn.v_proj.weight", kv, h),
                       linear(p + "self_attn.o_proj.weight", h, q),
                       gb.weight(p + "self_attn.q_norm.weight", {c.headDim}, gb.f32()),
                       gb.weight(p + "self_attn.k_norm.weight", {c.headDim}, gb.f32())};
    Value att = pagedSelfAttention(gb, in, norm(x, "layers." + std::to_string(i) + ".input_layernorm.weight", h),
                                   w, spec, attn, QkNorm{float(c.rmsNormEps), 0.0f}, rope,
                                   "kv." + std::to_string(i), o.kvType);
    x = gb.add(x, att);
    Value hn = norm(x, "layers." + std::to_string(i) + ".post_attention_layernorm.weight", h);
    Value mlp;
    if (c.isMoeLayer(i)) {
      int64_t e = c.numExperts, inter = c.moeIntermediateSize;
      std::string gateUp = p + "mlp.experts.gate_up_proj", down = p + "mlp.experts.down_proj";
      auto guT = expertsTransposed(input, gateUp, e, 2 * inter, h);
      if (!guT.ok()) return guT.status();
      auto downT = expertsTransposed(input, down, e, h, inter);
      if (!downT.ok()) return downT.status();
      Value router = linear(p + "mlp.gate.weight", e, h);
      GraphBuilder::MoeRoute route =
          gb.moeRoute(gb.matmul(hn, router), c.expertsPerToken, /*normalize=*/true);
      Value xs = gb.gather(hn, route.rows);
      Value guW = gb.weight(gateUp, *guT ? std::vector<int64_t>{e, h, 2 * inter}
                                          : std::vector<int64_t>{e, 2 * inter, h},
                            o.weightType);
      Value gu = gb.groupedMatmul(xs, guW, route.groups, /*transposeB=*/!*guT);
      Value act = gb.mul(gb.silu(gb.slice(gu, 1, 0, inter)), gb.slice(gu, 1, inter, inter));
      Value downW = gb.weight(down, *downT ? std::vector<int64_t>{e, inter, h}
                                            : std::vector<int64_t>{e, h, inter},
                              o.weightType);
      mlp = gb.moeCombine(gb.groupedMatmul(act, downW, route.groups, !*downT), route.weights,
                          route.slots);
      if (o.exposeRouting) {
        routing.push_back({"moe." + std::to_string(i) + ".slots", route.slots});
        routing.push_back({"moe." + std::to_string(i) + ".groups", route.groups});
      }
    } else {
      mlp = gatedMlp(gb, hn, linear(p + "mlp.gate_proj.weight", c.intermediateSize, h),
                     linear(p + "mlp.up_proj.weight", c.intermediateSize, h),
                     linear(p + "mlp.down_proj.weight", h, c.intermediateSize), Activation::Silu);
    }
    x = gb.add(x, mlp);
    if (i < deepstack)
      x = gb.addRows(x, in.extra.at("deepstack." + std::to_string(i)), in.embedSource);
  }
  // Only the rows whose logits are wanted go through the final norm and the head.
  Value last = norm(gb.gather(x, in.logitRows), "norm.weight", h);
  Value head = config.tieWordEmbeddings ? embedTable : linear("lm_head.weight", c.vocabSize, h);
  std::vector<std::pair<std::string, Value>> outputs = {{"logits", gb.matmul(last, head)}};
  outputs.insert(outputs.end(), routing.begin(), routing.end());
  gb.endProgram(outputs);
  return absl::OkStatus();
}

} // namespace

absl::StatusOr<ArchitectureBuild> compileQwen3VLForConditionalGeneration(
    const ArchitectureInput &input, GraphBuilder &gb) {
  absl::StatusOr<Qwen3VLConfig> config =
      parseQwen3VLConfig(input.config, input.generationConfig, input.configPath);
  if (!config.ok()) return config.status();
  const Qwen3VLTextConfig &t = config->text;
  if (t.attentionBias)
    return absl::UnimplementedError(input.configPath +
                                    ": text_config.attention_bias = true is not supported yet");
  // (A build without a checkpoint, --random-weights, makes the head up too.)
  bool checkpoint = input.hasWeight && input.hasWeight("model.language_model.embed_tokens.weight");
  if (!config->tieWordEmbeddings && checkpoint && !input.hasWeight("lm_head.weight"))
    return absl::InvalidArgumentError(input.configPath +
                                      ": tie_word_embeddings is false but the checkpoint has "
                                      "no lm_head.weight");
  if (config->vision.outHiddenSize != t.hiddenSize)
    return absl::InvalidArgumentError(
        input.configPath + ": vision_config.out_hidden_size " +
        std::to_string(config->vision.outHiddenSize) + " differs from the text hidden_size " +
        std::to_string(t.hiddenSize));
  if (absl::Status built = buildVision(gb, config->vision, input.options); !built.ok())
    return built;
  if (absl::Status built = buildText(gb, *config, input); !built.ok()) return built;

  // The learned position table is square: side x side.
  int64_t side = int64_t(std::lround(std::sqrt(double(config->vision.numPositionEmbeddings))));
  if (side * side != config->vision.numPositionEmbeddings)
    return absl::InvalidArgumentError(input.configPath + ": vision_config.num_position_embeddings " +
                                      std::to_string(config->vision.numPositionEmbeddings) +
                                      " is not a square");
  ArchitectureBuild out;
  out.config = config->toJson();
  out.languageModel = {{"architecture", "qwen3vl"},
                       {"program", "forward"},
                       {"vocab_size", t.vocabSize},
                       {"page_size", input.options.pageSize},
                       {"bos_token_id", nullptr},
                       {"pad_token_id", nullptr},
                       {"eos_token_ids", t.eosTokenIds},
                       {"max_positions", t.maxPositions},
                       {"vision", {{"program", "vision"},
                                   {"image_token_id", config->imageTokenId},
                                   {"video_token_id", config->videoTokenId},
                                   {"vision_start_token_id", config->visionStartTokenId},
                                   {"vision_end_token_id", config->visionEndTokenId},
                                   {"takes_videos", true},
                                   {"spatial_merge_size", config->vision.spatialMergeSize},
                                   {"position_table_side", side},
                                   {"patch_elems", config->vision.inChannels *
                                                       config->vision.temporalPatchSize *
                                                       config->vision.patchSize *
                                                       config->vision.patchSize},
                                   {"deepstack", config->vision.deepstackIndexes.size()},
                                   {"image_hidden", t.hiddenSize}}}};
  if (t.bosTokenId) out.languageModel["bos_token_id"] = *t.bosTokenId;
  if (t.padTokenId) out.languageModel["pad_token_id"] = *t.padTokenId;
  return out;
}

} // namespace mvc
