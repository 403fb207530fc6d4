//===- Gemma3MultimodalGraph.h - Gemma 3 multimodal as mvc graphs -*- C++ -*-===//
//
// Two programs (MODELS.md §2.6): `vision` (SigLIP on one image, then the projector:
// k×k average pooling to mm_tokens_per_image rows, RMSNorm (1 + w), projection to the text
// width) and `forward` (Gemma 3 text over merged embeddings, with the image-span attention
// overlay).
//
//===----------------------------------------------------------------------===//
#ifndef MVC_ARCHITECTURES_GEMMA3MULTIMODAL_GEMMA3MULTIMODALGRAPH_H
#define MVC_ARCHITECTURES_GEMMA3MULTIMODAL_GEMMA3MULTIMODALGRAPH_H

#include "architectures/common/Architecture.h"

namespace mvc {

absl::StatusOr<ArchitectureBuild> compileGemma3ForConditionalGeneration(
    const ArchitectureInput &input, GraphBuilder &gb);

} // namespace mvc

#endif
