//===- Gemma3MultimodalConfig.cpp - Gemma 3 multimodal configuration -----===//
#include "architectures/gemma3multimodal/Gemma3MultimodalConfig.h"

#include <cmath>

namespace mvc {

int64_t Gemma3MultimodalConfig::tokensPerSide() const {
  return int64_t(std::llround(std::sqrt(double(tokensPerImage))));
}

OrderedJson Gemma3MultimodalConfig::toJson() const {
  return {{"text_config", text.toJson()},
          {"vision_config", vision.toJson()},
          {"mm_tokens_per_image", tokensPerImage},
          {"boi_token_id", boiTokenId},
          {"eoi_token_id", eoiTokenId},
          {"image_token_id", imageTokenId},
          {"image_attention", {{"full_layers_group_overlay", groupOnFullLayers},
                               {"sliding_group_clipped_to_window", groupClippedToWindow}}},
          {"final_logit_softcapping_not_applied",
           ignoredFinalLogitSoftcap ? OrderedJson(*ignoredFinalLogitSoftcap) : OrderedJson()}};
}

absl::StatusOr<Gemma3MultimodalConfig> parseGemma3MultimodalConfig(
    const OrderedJson &config, const OrderedJson &generationConfig, const std::string &path) {
  Gemma3MultimodalConfig c;
  auto text = parseGemma3TextConfig(config, generationConfig, path);
  if (!text.ok()) return text.status();
  c.text = *text;
  c.ignoredFinalLogitSoftcap = c.text.finalLogitSoftcap;
  c.text.finalLogitSoftcap.reset();
  ConfigFields top(config, path);
  if (!top.has("vision_config")) top.fail("vision_config", "missing");
  ConfigFields vision = top.sub("vision_config");
  c.vision = parseSiglipVisionConfig(vision);
  c.tokensPerImage = top.positive("mm_tokens_per_image", 256);
  auto tokenId = [&](const char *index, const char *id, int64_t fallback) {
    return top.has(index) ? top.integer(index) : top.integer(id, fallback);
  };
  c.boiTokenId = tokenId("boi_token_index", "boi_token_id", 255999);
  c.eoiTokenId = tokenId("eoi_token_index", "eoi_token_id", 256000);
  c.imageTokenId = tokenId("image_token_index", "image_token_id", 262144);
  if (!top.status().ok()) return top.status();
  int64_t side = c.tokensPerSide();
  if (side * side != c.tokensPerImage)
    top.fail("mm_tokens_per_image", "must be a square number, got " + std::to_string(c.tokensPerImage));
  else if (c.vision.patchesPerSide() % side != 0)
    top.fail("mm_tokens_per_image",
             "sqrt(" + std::to_string(c.tokensPerImage) + ") must divide the " +
                 std::to_string(c.vision.patchesPerSide()) + " patches per side");
  for (auto [key, id] : {std::pair{"boi_token_index", c.boiTokenId},
                         std::pair{"eoi_token_index", c.eoiTokenId}})
    if (id < 0 || id >= c.text.vocabSize)
      top.fail(key, "token id " + std::to_string(id) + " is outside the vocabulary");
  if (c.imageTokenId < 0)
    top.fail("image_token_index", "must be >= 0");
  if (!top.status().ok()) return top.status();
  return c;
}

} // namespace mvc
