//===- Qwen3VLGraph.h - Qwen3-VL (dense and MoE) as mvc graphs ----*- C++ -*-===//
//
// The `forward` program: the Qwen3 decoder (q/k RMSNorm per head before RoPE, GQA, explicit
// head_dim) with interleaved M-RoPE from [T, 3] positions (input `mrope_positions`, which
// the run half computes as transformers' get_rope_index does), and per layer either the
// dense SwiGLU MLP or the sparse MoE block: router (f32 softmax, top-k, renormalised),
// the tokens sorted by expert, grouped gate/up and down matmuls, the weighted combine.
// MODELS.md §5. The vision tower and deepstack come with the images.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_ARCHITECTURES_QWEN3VL_QWEN3VLGRAPH_H
#define MVC_ARCHITECTURES_QWEN3VL_QWEN3VLGRAPH_H

#include "architectures/common/Architecture.h"

namespace mvc {

/// Registry entry for Qwen3VLForConditionalGeneration and
/// Qwen3VLMoeForConditionalGeneration.
absl::StatusOr<ArchitectureBuild> compileQwen3VLForConditionalGeneration(
    const ArchitectureInput &input, GraphBuilder &gb);

} // namespace mvc

#endif
