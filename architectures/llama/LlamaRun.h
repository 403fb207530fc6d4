//===- LlamaRun.h - Llama text's run half -------------------------*- C++ -*-===//
//
// A Llama text model takes the six inputs every language model here takes and nothing
// else: the run half's defaults (runtime/pipeline/RunHalf.h) are its behaviour. MLIR-free.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_ARCHITECTURES_LLAMA_LLAMARUN_H
#define MVC_ARCHITECTURES_LLAMA_LLAMARUN_H

#include "runtime/pipeline/RunHalf.h"

namespace mvc {

class LlamaRunHalf : public RunHalf {
public:
  static constexpr const char *kId = "llama";
  absl::string_view id() const override { return kId; }
};

} // namespace mvc

#endif
