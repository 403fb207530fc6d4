//===- LanguageModel.h - the manifest's "language_model" entry, validated -===//
//
// The typed Manifest (runtime/artifact) ignores keys it does not know; this reads the one
// entry the generation pipeline needs from the raw manifest JSON, at load, and checks it
// against the program it names, the loaded load symbols and the artifact's sections, so the
// pipeline can trust it.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_EXECUTOR_LANGUAGEMODEL_H
#define MVC_RUNTIME_EXECUTOR_LANGUAGEMODEL_H

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "mvc/Runtime.h"
#include "runtime/artifact/ArtifactReader.h"

namespace mvc {

/// Parses `language_model` from the manifest of `artifact` (nullopt if absent). Errors name
/// the field: "manifest: language_model.page_size: expected an integer in [1, 2147483647]".
/// The tokenizer views point into `artifact`'s mapping.
absl::StatusOr<std::optional<LanguageModelInfo>>
parseLanguageModel(const ArtifactReader &artifact,
                   const std::vector<std::pair<std::string, int64_t>> &loadSymbols);

/// Checks the index-like inputs of a call of the language model's forward program against
/// the artifact's own sizes before any kernel runs (FORMAT.md "Language-model artifacts"):
/// token ids in [0, vocab), row offsets from 0, monotone, ending at T, block-table pages
/// inside the pool, each sequence's cache length plus its new rows (and every position of
/// its rows) inside the pages its block-table row names and below max_positions, logit rows
/// in [0, T). `inputs` are in the program's order and already match its shapes and dtypes.
/// Errors name the input, the index and the value.
absl::Status checkForwardInputs(const LanguageModelInfo &languageModel, const ProgramInfo &program,
                                const std::vector<HostTensor> &inputs);

} // namespace mvc

#endif // MVC_RUNTIME_EXECUTOR_LANGUAGEMODEL_H
