//===- Gemma4Graph.h - Gemma 4 as mvc graphs ---------------------*- C++ -*-===//
//
// The `forward` program of Gemma4ForCausalLM and of Gemma4ForConditionalGeneration's
// language model (MODELS.md §3.4): per layer its own head_dim and KV heads (so each layer
// has its own KV state shape), K=V on full layers, q/k norms and the weightless v-norm,
// attention scale 1, default or proportional RoPE per layer type, KV sharing (the last
// layers attend over the K/V state their source layer wrote and declare none of their
// own), the four-norm sandwich, the dense MLP (double-wide on shared layers) and the MoE
// block beside it, per-layer input embeddings (PLE), layer_scalar, final logit softcap.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_ARCHITECTURES_GEMMA4_GEMMA4GRAPH_H
#define MVC_ARCHITECTURES_GEMMA4_GEMMA4GRAPH_H

#include "architectures/common/Architecture.h"

namespace mvc {

/// Registry entry for Gemma4ForCausalLM and Gemma4ForConditionalGeneration.
absl::StatusOr<ArchitectureBuild> compileGemma4(const ArchitectureInput &input, GraphBuilder &gb);

} // namespace mvc

#endif
