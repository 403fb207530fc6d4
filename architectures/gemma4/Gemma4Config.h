//===- Gemma4Config.h - Gemma 4 configuration and its per-layer shapes -*- C++ -*-===//
//
// Gemma4ForCausalLM's and Gemma4ForConditionalGeneration's config.json as transformers
// 5.23.0 reads it (MODELS.md §3.1, §3.2), and what each decoder layer is as the modeling
// code builds it:
//   - attention type per layer: layer_types, else 5 sliding : 1 full; the last layer is
//     always full (transformers forces it);
//   - head_dim and kv heads per layer: per_layer_config {"<i>": {head_dim,
//     num_key_value_heads}} when the file has it (5.15+ saves it; a layer it does not name
//     keeps the flat head_dim / num_key_value_heads), else the older flat keys for full
//     layers: global_head_dim (512 when absent) and num_global_key_value_heads (only with
//     attention_k_eq_v);
//   - K=V (attention_k_eq_v) on full layers: no v_proj, V from the raw K projection;
//   - KV sharing (num_kv_shared_layers N): the last N layers reuse the K/V of the last
//     earlier layer of their type (which stores it); every type of the shared layers must
//     occur before them, as transformers checks;
//   - the dense MLP's width, doubled on shared layers with use_double_wide_mlp; the MoE
//     block beside it (enable_moe_block: num_experts, top_k_experts, moe_intermediate_size);
//   - per-layer input embeddings (hidden_size_per_layer_input, 0 or null: none);
//   - RoPE per layer type (rope_parameters {sliding_attention, full_attention}: default or
//     proportional with partial_rotary_factor), final_logit_softcapping,
//     use_bidirectional_attention ("all" halves the window as transformers does);
//   - the top level (conditional generation): text_config, whether vision_config and
//     audio_config are present, the media token ids, tie_word_embeddings (the top level
//     decides).
// MLIR-free.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_ARCHITECTURES_GEMMA4_GEMMA4CONFIG_H
#define MVC_ARCHITECTURES_GEMMA4_GEMMA4CONFIG_H

#include <optional>
#include <string>
#include <vector>

#include "architectures/common/HfConfig.h"

namespace mvc {

struct Gemma4Rope {
  std::string type = "default";  // or "proportional"
  double theta = 10000.0;
  double partialRotaryFactor = 1.0;
};

struct Gemma4Layer {
  bool full = false;            // full attention (else sliding)
  int64_t headDim = 0, kvHeads = 0;
  bool kEqV = false;            // V from the raw K projection (no v_proj)
  enum class KvSharing { kNone, kStore, kReuse } sharing = KvSharing::kNone;
  int64_t kvSource = -1;        // kReuse: the layer whose K/V it reads
  int64_t mlpWidth = 0;
};

struct Gemma4TextConfig {
  int64_t vocabSize = 262144, hiddenSize = 2304, intermediateSize = 9216, numLayers = 30;
  int64_t numHeads = 8, numKvHeads = 4, headDim = 256, maxPositions = 131072;
  int64_t slidingWindow = 512;
  double rmsNormEps = 1e-6;
  std::optional<double> finalLogitSoftcapping;
  std::string bidirectional;    // "", "vision" or "all"
  int64_t pleVocabSize = 262144, pleWidth = 256;  // pleWidth 0: no per-layer embeddings
  bool attentionKEqV = false, enableMoe = false, doubleWideMlp = false;
  int64_t numKvSharedLayers = 0, numExperts = 0, topKExperts = 0, moeIntermediateSize = 0;
  Gemma4Rope slidingRope, fullRope;
  std::optional<int64_t> bosTokenId, padTokenId;
  std::vector<int64_t> eosTokenIds;
  std::vector<Gemma4Layer> layers;  // derived, one per decoder layer
};

/// Gemma4VisionConfig (MODELS.md §3.1): the tower's shape, its 2-D axial RoPE, pooling and
/// the optional clipped linears and standardization.
struct Gemma4VisionConfig {
  int64_t hiddenSize = 768, intermediateSize = 3072, numLayers = 16, numHeads = 12;
  int64_t numKvHeads = 12, headDim = 64, patchSize = 16, poolingKernelSize = 3;
  int64_t positionEmbeddingSize = 10240;
  double rmsNormEps = 1e-6, ropeTheta = 100.0;
  bool useClippedLinears = false, standardize = false;
};

struct Gemma4Config {
  bool conditional = false;     // Gemma4ForConditionalGeneration's nested form
  Gemma4TextConfig text;
  Gemma4VisionConfig vision;    // when hasVision
  bool hasVision = false, hasAudio = false;
  int64_t imageTokenId = 258880, videoTokenId = 258884, audioTokenId = 258881;
  int64_t boiTokenId = 255999, eoiTokenId = 258882;
  bool tieWordEmbeddings = true;
};

/// Errors name `path` and the field.
absl::StatusOr<Gemma4Config> parseGemma4Config(const OrderedJson &config,
                                               const OrderedJson &generationConfig,
                                               const std::string &path);

} // namespace mvc

#endif // MVC_ARCHITECTURES_GEMMA4_GEMMA4CONFIG_H
