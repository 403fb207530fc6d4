//===- Idefics3Config.h - Idefics3 / SmolVLM configuration -------*- C++ -*-===//
//
// Idefics3ForConditionalGeneration's and SmolVLMForConditionalGeneration's config.json
// (transformers 5.23.0; MODELS.md §4.1): a SigLIP-style vision tower (Idefics3VisionConfig
// defaults), the pixel-shuffle connector's scale factor, the image token, and a Llama text
// model (text_config; Idefics3 changes only its rms_norm_eps default, to 1e-5). MLIR-free.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_ARCHITECTURES_IDEFICS3_IDEFICS3CONFIG_H
#define MVC_ARCHITECTURES_IDEFICS3_IDEFICS3CONFIG_H

#include "architectures/common/SiglipConfig.h"
#include "architectures/llama/LlamaConfig.h"

namespace mvc {

struct Idefics3Config {
  std::string modelType = "idefics3"; // or "smolvlm"
  SiglipVisionConfig vision;
  LlamaConfig text;
  int64_t scaleFactor = 2;
  int64_t imageTokenId = 128257;

  /// Image tokens per frame: (patches per side / scale factor)².
  int64_t tokensPerFrame() const {
    int64_t side = vision.patchesPerSide() / scaleFactor;
    return side * side;
  }
  OrderedJson toJson() const;
};

/// Errors name `path` and the field.
absl::StatusOr<Idefics3Config> parseIdefics3Config(const OrderedJson &config,
                                                   const OrderedJson &generationConfig,
                                                   const std::string &path);

} // namespace mvc

#endif
