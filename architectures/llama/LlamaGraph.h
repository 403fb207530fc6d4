//===- LlamaGraph.h - Llama text as an mvc graph ------------------*- C++ -*-===//
#ifndef MVC_ARCHITECTURES_LLAMA_LLAMAGRAPH_H
#define MVC_ARCHITECTURES_LLAMA_LLAMAGRAPH_H

#include "architectures/common/Architecture.h"
#include "architectures/llama/LlamaConfig.h"

namespace mvc {

/// The `forward` program of FORMAT.md's language-model interface for a Llama text model.
void buildLlamaText(GraphBuilder &gb, const LlamaConfig &config, const WeightNames &names,
                    const ArchitectureOptions &options);

/// Registry entry for LlamaForCausalLM.
absl::StatusOr<ArchitectureBuild> compileLlamaForCausalLM(const ArchitectureInput &input,
                                                          GraphBuilder &gb);

} // namespace mvc

#endif
