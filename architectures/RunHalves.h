//===- RunHalves.h - manifest architecture ids → run halves -------*- C++ -*-===//
//
// The runtime's registry of architecture run halves (runtime/pipeline/RunHalf.h), keyed by
// the id the compile half writes into the manifest's language_model.architecture. MLIR-free:
// the runtime links it.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_ARCHITECTURES_RUNHALVES_H
#define MVC_ARCHITECTURES_RUNHALVES_H

#include <memory>

#include "runtime/pipeline/RunHalf.h"

namespace mvc {

/// The run half `model`'s language-model entry names, checked against its programs; an
/// unknown id is refused naming it and the known ones.
absl::StatusOr<std::unique_ptr<RunHalf>> createRunHalf(const Model &model);

} // namespace mvc

#endif
