//===- Gemma3MultimodalGraph.cpp - Gemma 3 multimodal as mvc graphs ------===//
#include "architectures/gemma3multimodal/Gemma3MultimodalGraph.h"

#include "architectures/common/Siglip.h"
#include "architectures/gemma3/Gemma3Graph.h"
#include "architectures/gemma3multimodal/Gemma3MultimodalConfig.h"
#include "runtime/vision/ImageProcessor.h"

using namespace mlir;

namespace mvc {

namespace {

/// The first of `candidates` under which the checkpoint has `probe`.
std::string findPrefix(const ArchitectureInput &input, std::initializer_list<const char *> candidates,
                       const std::string &probe) {
  for (const char *candidate : candidates)
    if (input.hasWeight(candidate + probe)) return candidate;
  return *candidates.begin();
}

/// The projector's k×k average pooling as a matrix: pooled = Pᵀ·patches, with
/// P[patch, token] = 1/k² when the patch lies in the token's block (tokens row-major over
/// the pooled grid). 1/k² is exact for the power-of-two k of every Gemma 3.
std::vector<float> poolingMatrix(int64_t patchesPerSide, int64_t kernel) {
  int64_t side = patchesPerSide / kernel, tokens = side * side;
  std::vector<float> m(patchesPerSide * patchesPerSide * tokens, 0.0f);
  float weight = 1.0f / float(kernel * kernel);
  for (int64_t r = 0; r < patchesPerSide; ++r)
    for (int64_t col = 0; col < patchesPerSide; ++col)
      m[(r * patchesPerSide + col) * tokens + (r / kernel) * side + col / kernel] = weight;
  return m;
}

void buildVisionProgram(GraphBuilder &gb, const Gemma3MultimodalConfig &c,
                        const ArchitectureInput &input) {
  const SiglipVisionConfig &v = c.vision;
  std::string tower = findPrefix(input,
                                 {"vision_tower.vision_model.", "model.vision_tower.vision_model.",
                                  "vision_tower.", "model.vision_tower."},
                                 "embeddings.patch_embedding.weight");
  std::string projector = findPrefix(input, {"multi_modal_projector.", "model.multi_modal_projector."},
                                     "mm_input_projection_weight");
  // Every frame of a forward call (images and their pan-and-scan crops) in one execution.
  Value pixels = gb.beginProgram(
      "vision", {{"pixel_values", {"frames", v.numChannels, v.imageSize, v.imageSize}, gb.f32()}})[0];
  Value y = buildSiglipVisionTower(gb, v, tower, pixels, input.options.weightType);

  // Per frame: pooled = (yᵀ · P)ᵀ, as one matmul over the frames' hidden columns.
  int64_t patches = v.numPatches(), h = v.hiddenSize, tokens = c.tokensPerImage;
  Value pool = gb.constant(poolingMatrix(v.patchesPerSide(), c.poolKernel()), {patches, tokens});
  Value columns = gb.reshape(gb.transpose(gb.reshape(y, {-1, patches, h}), {0, 2, 1}), {-1, patches});
  Value pooledColumns = gb.matmul(columns, pool, /*transposeB=*/false);
  Value pooled = gb.reshape(gb.transpose(gb.reshape(pooledColumns, {-1, h, tokens}), {0, 2, 1}), {-1, h});
  Value normed = gb.rmsNorm(pooled, gb.weight(projector + "mm_soft_emb_norm.weight", {v.hiddenSize}, gb.f32()),
                            float(v.layerNormEps), 1.0f);
  Value projection = gb.weight(projector + "mm_input_projection_weight",
                               {v.hiddenSize, c.text.hiddenSize}, input.options.weightType);
  gb.endProgram({{"image_features", gb.matmul(normed, projection, /*transposeB=*/false)}});
}

} // namespace

absl::StatusOr<ArchitectureBuild> compileGemma3ForConditionalGeneration(
    const ArchitectureInput &input, GraphBuilder &gb) {
  auto config = parseGemma3MultimodalConfig(input.config, input.generationConfig, input.configPath);
  if (!config.ok()) return config.status();
  if (config->text.attentionBias)
    return absl::UnimplementedError(input.configPath + ": attention_bias = true is not supported");
  if (!input.processorConfig.empty()) {
    // Parsed as the run half will; its resize must give the vision program's images.
    auto processor = vision::ImageProcessorConfig::parse(input.processorConfig,
                                                         input.processorConfigPath);
    if (!processor.ok()) return processor.status();
    int64_t size = config->vision.imageSize;
    if (processor->doResize && (processor->height != size || processor->width != size))
      return absl::InvalidArgumentError(
          input.processorConfigPath + ": resizes to " + std::to_string(processor->height) + "x" +
          std::to_string(processor->width) + ", but the vision model takes " +
          std::to_string(size) + "x" + std::to_string(size) + " images");
  }
  buildVisionProgram(gb, *config, input);
  Gemma3ImageAttention images{config->groupOnFullLayers, config->groupClippedToWindow};
  buildGemma3Text(gb, config->text, gemma3TextWeightNames(input), input.options, &images);

  const Gemma3TextConfig &t = config->text;
  ArchitectureBuild out;
  out.config = config->toJson();
  out.languageModel = {{"architecture", "gemma3_multimodal"}, {"program", "forward"}, {"vocab_size", t.vocabSize},
                       {"page_size", input.options.pageSize},
                       {"bos_token_id", t.bosTokenId}, {"pad_token_id", t.padTokenId},
                       {"eos_token_ids", t.eosTokenIds},
                       {"max_positions", t.maxPositions},
                       {"vision", {{"program", "vision"},
                                   {"image_token_id", config->imageTokenId},
                                   {"boi_token_id", config->boiTokenId},
                                   {"eoi_token_id", config->eoiTokenId},
                                   {"tokens_per_image", config->tokensPerImage},
                                   {"image_size", config->vision.imageSize},
                                   {"num_channels", config->vision.numChannels}}}};
  return out;
}

} // namespace mvc
