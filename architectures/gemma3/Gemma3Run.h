//===- Gemma3Run.h - Gemma 3 text's run half ----------------------*- C++ -*-===//
//
// Gemma 3 text takes the six inputs every language model here takes and nothing else: the
// run half's defaults (runtime/pipeline/RunHalf.h) are its behaviour. MLIR-free.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_ARCHITECTURES_GEMMA3_GEMMA3RUN_H
#define MVC_ARCHITECTURES_GEMMA3_GEMMA3RUN_H

#include "runtime/pipeline/RunHalf.h"

namespace mvc {

class Gemma3RunHalf : public RunHalf {
public:
  static constexpr const char *kId = "gemma3";
  absl::string_view id() const override { return kId; }
};

} // namespace mvc

#endif
