//===- SiglipConfig.h - SigLIP vision tower configuration ---------*- C++ -*-===//
//
// The `vision_config` of Gemma 3 multimodal and Idefics3 (`SiglipVisionConfig`). MLIR-free.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_ARCHITECTURES_COMMON_SIGLIPCONFIG_H
#define MVC_ARCHITECTURES_COMMON_SIGLIPCONFIG_H

#include "architectures/common/HfConfig.h"

namespace mvc {

struct SiglipVisionConfig {
  int64_t hiddenSize = 768, intermediateSize = 3072, numLayers = 12, numHeads = 12;
  int64_t numChannels = 3, imageSize = 224, patchSize = 16;
  double layerNormEps = 1e-6;

  int64_t patchesPerSide() const { return imageSize / patchSize; }
  int64_t numPatches() const { return patchesPerSide() * patchesPerSide(); }
  int64_t headDim() const { return hiddenSize / numHeads; }
  OrderedJson toJson() const;
};

/// Reads `fields` (the vision_config object), absent keys taking `defaults` (SigLIP's,
/// or e.g. Idefics3VisionConfig's); errors go to `fields`.
SiglipVisionConfig parseSiglipVisionConfig(ConfigFields &fields,
                                           const SiglipVisionConfig &defaults = {});

} // namespace mvc

#endif
