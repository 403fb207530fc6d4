//===- LlamaGraph.h - Llama text as an mvc graph ------------------*- C++ -*-===//
#ifndef MVC_ARCHITECTURES_LLAMA_LLAMAGRAPH_H
#define MVC_ARCHITECTURES_LLAMA_LLAMAGRAPH_H

#include "architectures/common/Architecture.h"
#include "architectures/llama/LlamaConfig.h"

namespace mvc {

/// The `forward` program of FORMAT.md's language-model interface for a Llama text model.
/// With `images`, it also takes image_features and embed_source: the rows of image tokens
/// are replaced by image features before the first layer (Idefics3, SmolVLM).
void buildLlamaText(GraphBuilder &gb, const LlamaConfig &config, const WeightNames &names,
                    const ArchitectureOptions &options, bool images = false);

/// Registry entry for LlamaForCausalLM.
absl::StatusOr<ArchitectureBuild> compileLlamaForCausalLM(const ArchitectureInput &input,
                                                          GraphBuilder &gb);

} // namespace mvc

#endif
