//===- Siglip.h - the SigLIP vision tower as an mvc graph ----------*- C++ -*-===//
//
// Patch embedding (a matmul over unfolded patches: the Conv2d kernel read as
// [hidden, C·p·p]), learned position embedding, pre-LayerNorm encoder layers with biased
// bidirectional multi-head attention and a gelu-tanh MLP, post-LayerNorm. Used by Gemma 3
// multimodal and Idefics3.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_ARCHITECTURES_COMMON_SIGLIP_H
#define MVC_ARCHITECTURES_COMMON_SIGLIP_H

#include "architectures/common/Architecture.h"
#include "architectures/common/SiglipConfig.h"

namespace mvc {

/// `pixels` is F frames [F, C, S, S] (f32; F static or dynamic); returns every frame's
/// last_hidden_state, frame after frame: [F · patches, hidden]. Each frame attends only to
/// itself (a segmented mvc.attention), so F frames are one call.
/// `prefix` names the tower's weights ("vision_tower.vision_model." style prefixes end
/// in a dot).
mlir::Value buildSiglipVisionTower(GraphBuilder &gb, const SiglipVisionConfig &config,
                                   const std::string &prefix, mlir::Value pixels,
                                   mlir::Type weightType);

} // namespace mvc

#endif
