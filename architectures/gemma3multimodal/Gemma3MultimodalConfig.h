//===- Gemma3MultimodalConfig.h - Gemma 3 multimodal configuration -*- C++ -*-===//
//
// Typed config of `Gemma3ForConditionalGeneration`: the Gemma 3 text model, the SigLIP
// vision tower, the projector's pooling and the image token ids (config.json's v5
// `*_token_index` keys, or `*_token_id`). MLIR-free.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_ARCHITECTURES_GEMMA3MULTIMODAL_GEMMA3MULTIMODALCONFIG_H
#define MVC_ARCHITECTURES_GEMMA3MULTIMODAL_GEMMA3MULTIMODALCONFIG_H

#include "architectures/common/SiglipConfig.h"
#include "architectures/gemma3/Gemma3Config.h"

namespace mvc {

struct Gemma3MultimodalConfig {
  Gemma3TextConfig text;
  SiglipVisionConfig vision;
  int64_t tokensPerImage = 256;   // mm_tokens_per_image
  int64_t boiTokenId = 255999, eoiTokenId = 256000, imageTokenId = 262144;
  // The image-span attention rule of the pinned transformers (5.23.0), confirmed from
  // dumped attention probabilities (tests/fixtures/tiny-gemma3-mm-window2): full layers
  // causal OR group; sliding layers (causal OR group) AND k > q - W.
  bool groupOnFullLayers = true;
  bool groupClippedToWindow = true;
  // transformers' Gemma3ForConditionalGeneration returns the head's logits without the
  // text config's final_logit_softcapping (only Gemma3ForCausalLM applies it; the released
  // multimodal checkpoints set it to null anyway). `text.finalLogitSoftcap` is cleared and
  // the configured value kept here, unused.
  std::optional<double> ignoredFinalLogitSoftcap;

  int64_t tokensPerSide() const;  // sqrt(tokensPerImage)
  int64_t poolKernel() const { return vision.patchesPerSide() / tokensPerSide(); }
  OrderedJson toJson() const;
};

absl::StatusOr<Gemma3MultimodalConfig> parseGemma3MultimodalConfig(
    const OrderedJson &config, const OrderedJson &generationConfig, const std::string &path);

} // namespace mvc

#endif
