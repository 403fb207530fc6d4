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

/// Per-patch inputs of frames that may be smaller than the tower's image size (Idefics3:
/// a frame padded to the full size). Both [F, patches] i32, F as the pixels'.
struct SiglipPatchInputs {
  mlir::Value positionIds; // each patch's row of the position table (bucketed)
  mlir::Value mask;        // 1 for a real patch, 0 for padding (hidden as a key)
};

/// `pixels` is F frames [F, C, S, S] (f32; F static or dynamic); returns every frame's
/// last_hidden_state, frame after frame: [F · patches, hidden]. Each frame attends only to
/// itself (a segmented mvc.attention), so F frames are one call. Without `patches`, patch k
/// of a frame takes position k and every patch is real.
/// `prefix` names the tower's weights ("vision_tower.vision_model." style prefixes end
/// in a dot).
mlir::Value buildSiglipVisionTower(GraphBuilder &gb, const SiglipVisionConfig &config,
                                   const std::string &prefix, mlir::Value pixels,
                                   mlir::Type weightType,
                                   const SiglipPatchInputs *patches = nullptr);

} // namespace mvc

#endif
