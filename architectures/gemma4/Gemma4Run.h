//===- Gemma4Run.h - Gemma 4's run half ---------------------------*- C++ -*-===//
//
// Gemma 4 text takes the six inputs every language model here takes: the run half's
// defaults (runtime/pipeline/RunHalf.h) are its behaviour. Its KV states differ per layer
// (head_dim, kv heads; shared layers have none), which the engine reads from the
// artifact's state declarations. MLIR-free.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_ARCHITECTURES_GEMMA4_GEMMA4RUN_H
#define MVC_ARCHITECTURES_GEMMA4_GEMMA4RUN_H

#include "runtime/pipeline/RunHalf.h"

namespace mvc {

class Gemma4RunHalf : public RunHalf {
public:
  static constexpr const char *kId = "gemma4";
  absl::string_view id() const override { return kId; }
};

} // namespace mvc

#endif
