//===- LlamaConfig.h - Llama text configuration ------------------*- C++ -*-===//
//
// LlamaForCausalLM's config.json (LlamaConfig of transformers 5.23.0; v4 and v5 key forms):
// the text model of SmolLM2 / SmolVLM and of Idefics3. MLIR-free.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_ARCHITECTURES_LLAMA_LLAMACONFIG_H
#define MVC_ARCHITECTURES_LLAMA_LLAMACONFIG_H

#include <optional>

#include "architectures/common/HfConfig.h"
#include "architectures/common/Rope.h"

namespace mvc {

struct LlamaConfig {
  int64_t vocabSize = 32000, hiddenSize = 4096, intermediateSize = 11008, numLayers = 32;
  int64_t numHeads = 32, numKvHeads = 32, headDim = 128;
  double rmsNormEps = 1e-6;
  RopeParams rope; // default, linear or llama3
  bool tieWordEmbeddings = false;
  bool attentionBias = false, mlpBias = false;
  std::optional<int64_t> bosTokenId, padTokenId;
  std::vector<int64_t> eosTokenIds; // config.json and generation_config.json
  int64_t maxPositions = 2048;

  OrderedJson toJson() const;
};

/// `generationConfig` may be an empty object. Errors name `path` and the field.
absl::StatusOr<LlamaConfig> parseLlamaConfig(const OrderedJson &config,
                                             const OrderedJson &generationConfig,
                                             const std::string &path);

} // namespace mvc

#endif
