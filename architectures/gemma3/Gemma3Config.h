//===- Gemma3Config.h - Gemma 3 text configuration ----------------*- C++ -*-===//
//
// Typed config of `Gemma3ForCausalLM` (and the text half of
// `Gemma3ForConditionalGeneration`), read from config.json in both the v5 form
// (`layer_types`, `rope_parameters` per layer type) and the v4 form (`rope_theta`,
// `rope_local_base_freq`, `rope_scaling`, `sliding_window_pattern`). MLIR-free.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_ARCHITECTURES_GEMMA3_GEMMA3CONFIG_H
#define MVC_ARCHITECTURES_GEMMA3_GEMMA3CONFIG_H

#include "architectures/common/HfConfig.h"
#include "architectures/common/Rope.h"

#include <optional>

namespace mvc {

struct Gemma3TextConfig {
  int64_t vocabSize = 0, hiddenSize = 0, intermediateSize = 0, numLayers = 0;
  int64_t numHeads = 0, numKvHeads = 0, headDim = 0;
  double rmsNormEps = 1e-6;
  double queryPreAttnScalar = 256;
  int64_t slidingWindow = 4096;
  std::vector<bool> slidingLayers;     // per layer: sliding-window attention or full
  RopeParams ropeLocal, ropeGlobal;    // sliding layers, full layers
  std::optional<double> finalLogitSoftcap;
  bool tieWordEmbeddings = true;
  bool attentionBias = false;
  int64_t bosTokenId = 2, padTokenId = 0;
  std::vector<int64_t> eosTokenIds;    // config.json and generation_config.json
  int64_t maxPositions = 131072;

  OrderedJson toJson() const;
};

/// `generationConfig` may be an empty object. Errors name `path` and the field.
absl::StatusOr<Gemma3TextConfig> parseGemma3TextConfig(const OrderedJson &config,
                                                       const OrderedJson &generationConfig,
                                                       const std::string &path);

} // namespace mvc

#endif
