//===- Layers.h - layers shared by the architectures --------------*- C++ -*-===//
//
// Parameterized once, used by every model: the language-model program inputs, paged
// self-attention (projections, q/k norm, RoPE, KV write, fused attention, output
// projection) and the gated MLP.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_ARCHITECTURES_COMMON_LAYERS_H
#define MVC_ARCHITECTURES_COMMON_LAYERS_H

#include "compiler/Builder/GraphBuilder.h"

#include <map>

namespace mvc {

/// The inputs of FORMAT.md's `forward` program; the image inputs are null for text-only
/// models.
struct LanguageModelInputs {
  mlir::Value tokens, positions, blockTable, rowOffsets, cacheLens, logitRows;
  mlir::Value imageFeatures;  // [I, H] f32: rows that replace token embeddings
  mlir::Value embedSource;    // [T] i32: the image_features row of each token, or -1
  mlir::Value groupSpans;     // [T, 2] i32: each token's bidirectional image span [start, end)
  std::map<std::string, mlir::Value> extra;  // the architecture's own inputs, by name
};
/// `imageHidden` > 0 adds the image inputs (image_features with that row width and
/// embed_source); `imageGroups` also group_spans (bidirectional image spans, Gemma 3);
/// `extra` the architecture's own inputs (its run half fills them), after those.
LanguageModelInputs beginLanguageModelProgram(GraphBuilder &gb, int64_t imageHidden = 0,
                                              bool imageGroups = false,
                                              const std::vector<ProgramInput> &extra = {});

struct AttentionSpec {
  int64_t heads, kvHeads, headDim, pageSize;
};

struct AttentionWeights {
  mlir::Value q, k, v, o;       // [heads*hd, H], [kv*hd, H], [kv*hd, H], [H, heads*hd]
  mlir::Value qNorm, kNorm;     // [hd] or null (no q/k norm)
};

struct QkNorm {
  float eps = 1e-6f;
  float offset = 0.0f;          // 1.0 for Gemma's (1 + w)
};

/// Self-attention of one layer over the paged cache `kvPrefix`.{k,v}; returns the output
/// projection [T, H].
mlir::Value pagedSelfAttention(GraphBuilder &gb, const LanguageModelInputs &in, mlir::Value x,
                               const AttentionWeights &w, const AttentionSpec &spec,
                               const GraphBuilder::AttentionOptions &options, const QkNorm &qkNorm,
                               mlir::Value ropeTable, const std::string &kvPrefix,
                               mlir::Type kvType);

enum class Activation { GeluTanh, Gelu, Silu };

/// down(act(gate(x)) ⊙ up(x)).
mlir::Value gatedMlp(GraphBuilder &gb, mlir::Value x, mlir::Value gate, mlir::Value up,
                     mlir::Value down, Activation act);

} // namespace mvc

#endif
