//===- Gemma3Graph.h - Gemma 3 text as an mvc graph ---------------*- C++ -*-===//
#ifndef MVC_ARCHITECTURES_GEMMA3_GEMMA3GRAPH_H
#define MVC_ARCHITECTURES_GEMMA3_GEMMA3GRAPH_H

#include "architectures/common/Architecture.h"
#include "architectures/gemma3/Gemma3Config.h"

namespace mvc {

/// How image tokens attend in a multimodal Gemma 3 (MODELS.md §1.6): the tokens of one
/// contiguous image span see each other both ways during prefill.
struct Gemma3ImageAttention {
  bool fullLayers = true;        // full-attention layers: causal OR group
  bool clipToWindow = true;      // sliding layers: (causal OR group) AND k > q - W
};

/// The `forward` program of FORMAT.md's language-model interface for Gemma 3 text; with
/// `images`, the program also takes image features, where they go, and the image spans.
void buildGemma3Text(GraphBuilder &gb, const Gemma3TextConfig &config,
                     const WeightNames &names, const ArchitectureOptions &options,
                     const Gemma3ImageAttention *images = nullptr);

/// The checkpoint's names for the text model: "model." (causal LM), "model.language_model."
/// (multimodal, transformers >= 4.52) or "language_model.model." (older multimodal).
WeightNames gemma3TextWeightNames(const ArchitectureInput &input);

/// Registry entry: parse the config, check the checkpoint's names, build the graph.
absl::StatusOr<ArchitectureBuild> compileGemma3ForCausalLM(const ArchitectureInput &input,
                                                           GraphBuilder &gb);

} // namespace mvc

#endif
