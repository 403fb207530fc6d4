//===- Idefics3Config.cpp - Idefics3 / SmolVLM configuration -------------===//
#include "architectures/idefics3/Idefics3Config.h"

namespace mvc {

OrderedJson Idefics3Config::toJson() const {
  return {{"model_type", modelType},
          {"text_config", text.toJson()},
          {"vision_config", vision.toJson()},
          {"scale_factor", scaleFactor},
          {"image_token_id", imageTokenId},
          {"tokens_per_frame", tokensPerFrame()}};
}

absl::StatusOr<Idefics3Config> parseIdefics3Config(const OrderedJson &config,
                                                   const OrderedJson &generationConfig,
                                                   const std::string &path) {
  Idefics3Config c;
  ConfigFields top(config, path);
  c.modelType = top.string("model_type", std::string("idefics3"));
  if (c.modelType != "idefics3" && c.modelType != "smolvlm")
    top.fail("model_type", "expected idefics3 or smolvlm, got '" + c.modelType + "'");
  if (!top.has("text_config")) top.fail("text_config", "missing");
  if (!top.has("vision_config")) top.fail("vision_config", "missing");
  if (!top.status().ok()) return top.status();

  // The text model is whatever AutoConfig text_config names; only Llama is supported. Its
  // rms_norm_eps defaults to 1e-5 here (Idefics3Config's sub-config init), not Llama's 1e-6.
  OrderedJson text = top.object("text_config");
  std::string textType = text.value("model_type", std::string("llama"));
  if (textType != "llama")
    top.fail("text_config.model_type", "only a llama text model is supported, got '" + textType + "'");
  if (!text.contains("rms_norm_eps")) text["rms_norm_eps"] = 1e-5;
  // Idefics3's tie_word_embeddings (default false) is the top-level key.
  text["tie_word_embeddings"] = top.boolean("tie_word_embeddings", false);
  absl::StatusOr<LlamaConfig> llama =
      parseLlamaConfig(text, generationConfig, path + ": text_config");
  if (!llama.ok()) return llama.status();
  c.text = *llama;

  ConfigFields vision = top.sub("vision_config");
  SiglipVisionConfig defaults; // Idefics3VisionConfig's
  defaults.hiddenSize = 1152;
  defaults.intermediateSize = 3072;
  defaults.numLayers = 12;
  defaults.numHeads = 16;
  defaults.imageSize = 224;
  defaults.patchSize = 32;
  c.vision = parseSiglipVisionConfig(vision, defaults);
  c.scaleFactor = top.positive("scale_factor", 2);
  c.imageTokenId = top.integer("image_token_id", 128257);
  if (!top.status().ok()) return top.status();
  if (c.vision.patchesPerSide() % c.scaleFactor != 0)
    top.fail("scale_factor", std::to_string(c.scaleFactor) + " must divide the " +
                                 std::to_string(c.vision.patchesPerSide()) +
                                 " patches per side of the vision tower");
  if (c.imageTokenId < 0 || c.imageTokenId >= c.text.vocabSize)
    top.fail("image_token_id", "token id " + std::to_string(c.imageTokenId) +
                                   " is outside the text vocabulary of " +
                                   std::to_string(c.text.vocabSize));
  if (!top.status().ok()) return top.status();
  return c;
}

} // namespace mvc
