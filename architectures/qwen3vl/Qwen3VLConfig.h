//===- Qwen3VLConfig.h - Qwen3-VL (dense and MoE) configuration ---*- C++ -*-===//
//
// Qwen3VLForConditionalGeneration's and Qwen3VLMoeForConditionalGeneration's config.json
// as transformers 5.23.0 reads it (MODELS.md §5), v5 and v4 key forms:
//   - text: a Qwen3 decoder (explicit head_dim, q/k norms), RoPE theta and the
//     interleaved M-RoPE sections from rope_parameters (v5) or rope_theta + rope_scaling
//     (v4), [24, 20, 20] when absent. Frequency column j of head_dim/2 rotates by the
//     height position if j % 3 == 1 and j < 3·section[1], the width position if
//     j % 3 == 2 and j < 3·section[2], else the temporal one (so any section fits any
//     head_dim, as in transformers).
//   - MoE (qwen3_vl_moe only): num_experts, saved as num_local_experts (both read; both
//     given must agree), num_experts_per_tok, moe_intermediate_size; a layer is MoE unless
//     it is in mlp_only_layers or (layer + 1) % decoder_sparse_step != 0.
//   - vision: depth, widths, heads, patch and temporal patch sizes, spatial merge, the
//     learned position table's size, deepstack_visual_indexes, vision RoPE theta.
//   - the top level: image / video / vision start / end token ids and
//     tie_word_embeddings (the top-level key decides; text_config's is not read).
// MLIR-free.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_ARCHITECTURES_QWEN3VL_QWEN3VLCONFIG_H
#define MVC_ARCHITECTURES_QWEN3VL_QWEN3VLCONFIG_H

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "architectures/common/HfConfig.h"

namespace mvc {

struct Qwen3VLTextConfig {
  int64_t vocabSize = 151936, hiddenSize = 4096, intermediateSize = 22016, numLayers = 32;
  int64_t numHeads = 32, numKvHeads = 32, headDim = 128, maxPositions = 128000;
  double rmsNormEps = 1e-6, ropeTheta = 500000.0;
  std::array<int64_t, 3> mropeSection = {24, 20, 20};
  bool attentionBias = false;
  // Mixture of experts (qwen3_vl_moe; 0 experts: every layer dense).
  int64_t numExperts = 0, expertsPerToken = 0, moeIntermediateSize = 0, decoderSparseStep = 1;
  std::vector<int64_t> mlpOnlyLayers;
  std::optional<int64_t> bosTokenId, padTokenId;
  std::vector<int64_t> eosTokenIds; // config.json and generation_config.json

  /// Whether decoder layer `layer` has the sparse MoE block (else the dense MLP).
  bool isMoeLayer(int64_t layer) const;
  /// The M-RoPE axis (0 time, 1 height, 2 width) of each of the head_dim/2 frequency
  /// columns, by the rule above.
  std::vector<int32_t> mropeAxes() const;
};

struct Qwen3VLVisionConfig {
  int64_t depth = 27, hiddenSize = 1152, intermediateSize = 4304, numHeads = 16;
  int64_t inChannels = 3, patchSize = 16, temporalPatchSize = 2, spatialMergeSize = 2;
  int64_t outHiddenSize = 3584, numPositionEmbeddings = 2304;
  std::vector<int64_t> deepstackIndexes = {8, 16, 24};
  std::string hiddenAct = "gelu_pytorch_tanh";
  double ropeTheta = 10000.0;
};

struct Qwen3VLConfig {
  std::string modelType = "qwen3_vl"; // or "qwen3_vl_moe"
  Qwen3VLTextConfig text;
  Qwen3VLVisionConfig vision;
  int64_t imageTokenId = 151655, videoTokenId = 151656;
  int64_t visionStartTokenId = 151652, visionEndTokenId = 151653;
  bool tieWordEmbeddings = false;

  bool moe() const { return modelType == "qwen3_vl_moe"; }
  /// The typed config, for the manifest.
  OrderedJson toJson() const;
};

/// Errors name `path` and the field.
absl::StatusOr<Qwen3VLConfig> parseQwen3VLConfig(const OrderedJson &config,
                                                 const OrderedJson &generationConfig,
                                                 const std::string &path);

} // namespace mvc

#endif // MVC_ARCHITECTURES_QWEN3VL_QWEN3VLCONFIG_H
