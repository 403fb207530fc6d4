//===- Idefics3Graph.h - Idefics3 / SmolVLM as mvc graphs ---------*- C++ -*-===//
//
// Two programs: `vision` (one frame, a tile or the global image, through the SigLIP tower,
// the pixel shuffle and the modality projection: the image tokens' embeddings) and
// `forward` (the Llama text model with image features merged at image tokens).
// MODELS.md §4.5.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_ARCHITECTURES_IDEFICS3_IDEFICS3GRAPH_H
#define MVC_ARCHITECTURES_IDEFICS3_IDEFICS3GRAPH_H

#include "architectures/common/Architecture.h"

namespace mvc {

/// Registry entry for Idefics3ForConditionalGeneration and SmolVLMForConditionalGeneration.
absl::StatusOr<ArchitectureBuild> compileIdefics3ForConditionalGeneration(
    const ArchitectureInput &input, GraphBuilder &gb);

} // namespace mvc

#endif
