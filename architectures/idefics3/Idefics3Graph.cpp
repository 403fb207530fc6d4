//===- Idefics3Graph.cpp - Idefics3 / SmolVLM as mvc graphs --------------===//
#include "architectures/idefics3/Idefics3Graph.h"

#include "architectures/common/Siglip.h"
#include "architectures/idefics3/Idefics3Config.h"
#include "architectures/idefics3/Idefics3Processor.h"
#include "architectures/llama/LlamaGraph.h"

using namespace mlir;

namespace mvc {

namespace {

/// Frames [F, C, S, S] (F dynamic: every tile and global image of a prefill batch) → their
/// tokens' embeddings [F · (n/s)², Ht], frame after frame. A frame whose real content is
/// smaller than S x S (padded, with a pixel attention mask) takes the patches' bucketed
/// position ids and their mask ([F, n²] each), which the run half computes from the pixel
/// attention mask as transformers does.
void buildVisionProgram(GraphBuilder &gb, const Idefics3Config &c, const ArchitectureInput &input) {
  const SiglipVisionConfig &v = c.vision;
  const int64_t n = v.patchesPerSide(), s = c.scaleFactor, hv = v.hiddenSize;
  std::vector<Value> in = gb.beginProgram(
      "vision", {{"pixel_values", {"frames", v.numChannels, v.imageSize, v.imageSize}, gb.f32()},
                 {"patch_position_ids", {"frames", n * n}, gb.i32()},
                 {"patch_mask", {"frames", n * n}, gb.i32()}});
  SiglipPatchInputs patches{in[1], in[2]};
  Value y = buildSiglipVisionTower(gb, v, "model.vision_model.", in[0], input.options.weightType,
                                   &patches);
  // Pixel shuffle, per frame: token (I, J) of the (n/s)² grid is the s×s block of patches
  // (I·s + m, J·s + k), concatenated row-major over (m, k).
  Value blocks = gb.reshape(y, {-1, n / s, s, n / s, s, hv});
  Value shuffled = gb.reshape(gb.transpose(blocks, {0, 1, 3, 2, 4, 5}), {-1, s * s * hv});
  Value projection = gb.weight("model.connector.modality_projection.proj.weight",
                               {c.text.hiddenSize, s * s * hv}, input.options.weightType);
  gb.endProgram({{"image_features", gb.matmul(shuffled, projection)}});
}

} // namespace

absl::StatusOr<ArchitectureBuild> compileIdefics3ForConditionalGeneration(
    const ArchitectureInput &input, GraphBuilder &gb) {
  absl::StatusOr<Idefics3Config> config =
      parseIdefics3Config(input.config, input.generationConfig, input.configPath);
  if (!config.ok())
    return config.status();
  const LlamaConfig &t = config->text;
  if (t.attentionBias || t.mlpBias)
    return absl::UnimplementedError(input.configPath +
                                    ": text_config attention_bias / mlp_bias = true is not supported yet");
  if (!t.tieWordEmbeddings && !input.hasWeight("lm_head.weight"))
    return absl::InvalidArgumentError(input.configPath +
                                      ": tie_word_embeddings is false but the checkpoint has "
                                      "no lm_head.weight");
  if (!input.processorConfig.empty()) {
    // Every frame the processor emits is max_image_size square: the tower's image size.
    auto processor = idefics3::Idefics3ProcessorConfig::parse(input.processorConfig,
                                                             input.processorConfigPath);
    if (!processor.ok()) return processor.status();
    if (processor->maxImageSize != config->vision.imageSize)
      return absl::UnimplementedError(
          input.processorConfigPath + ": max_image_size.longest_edge " +
          std::to_string(processor->maxImageSize) + " differs from the vision tower's image_size " +
          std::to_string(config->vision.imageSize));
  }
  buildVisionProgram(gb, *config, input);
  // The text model's weights sit under model.text_model. (the head stays lm_head).
  WeightNames names = [](const std::string &canonical) {
    const std::string model = "model.";
    return canonical.compare(0, model.size(), model) == 0
               ? "model.text_model." + canonical.substr(model.size())
               : canonical;
  };
  buildLlamaText(gb, t, names, input.options, /*images=*/true);

  ArchitectureBuild out;
  out.config = config->toJson();
  out.languageModel = {{"architecture", "idefics3"},
                       {"program", "forward"},
                       {"vocab_size", t.vocabSize},
                       {"page_size", input.options.pageSize},
                       {"bos_token_id", nullptr},
                       {"pad_token_id", nullptr},
                       {"eos_token_ids", t.eosTokenIds},
                       {"max_positions", t.maxPositions},
                       {"vision", {{"program", "vision"},
                                   {"image_token_id", config->imageTokenId},
                                   {"tokens_per_frame", config->tokensPerFrame()},
                                   {"image_size", config->vision.imageSize},
                                   {"patch_size", config->vision.patchSize},
                                   {"num_channels", config->vision.numChannels},
                                   {"image_token_texts", config->modelType == "smolvlm"
                                                             ? "tokenizer_config"
                                                             : "idefics3"}}}};
  if (t.bosTokenId)
    out.languageModel["bos_token_id"] = *t.bosTokenId;
  if (t.padTokenId)
    out.languageModel["pad_token_id"] = *t.padTokenId;
  return out;
}

} // namespace mvc
