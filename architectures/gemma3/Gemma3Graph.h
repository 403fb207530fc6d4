//===- Gemma3Graph.h - Gemma 3 text as an mvc graph ---------------*- C++ -*-===//
#ifndef MVC_ARCHITECTURES_GEMMA3_GEMMA3GRAPH_H
#define MVC_ARCHITECTURES_GEMMA3_GEMMA3GRAPH_H

#include "architectures/common/Architecture.h"
#include "architectures/gemma3/Gemma3Config.h"

namespace mvc {

/// The `forward` program of FORMAT.md's language-model interface for Gemma 3 text.
void buildGemma3Text(GraphBuilder &gb, const Gemma3TextConfig &config,
                     const WeightNames &names, const ArchitectureOptions &options);

/// Registry entry: parse the config, check the checkpoint's names, build the graph.
absl::StatusOr<ArchitectureBuild> compileGemma3ForCausalLM(const ArchitectureInput &input,
                                                           GraphBuilder &gb);

} // namespace mvc

#endif
