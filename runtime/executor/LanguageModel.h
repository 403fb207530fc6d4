//===- LanguageModel.h - the manifest's "language_model" entry, validated -===//
//
// The typed Manifest (runtime/artifact) ignores keys it does not know; this reads the one
// entry the generation pipeline needs from the raw manifest JSON, at load, and checks it
// against the program it names and the loaded load symbols, so the pipeline can trust it.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_EXECUTOR_LANGUAGEMODEL_H
#define MVC_RUNTIME_EXECUTOR_LANGUAGEMODEL_H

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mvc/Runtime.h"
#include "runtime/artifact/Manifest.h"

namespace mvc {

/// Parses `language_model` from `manifestText` (nullopt if absent). Errors name the field:
/// "manifest: language_model.page_size: expected an integer in [1, 2147483647]".
absl::StatusOr<std::optional<LanguageModelInfo>>
parseLanguageModel(absl::string_view manifestText, const Manifest &manifest,
                   const std::vector<std::pair<std::string, int64_t>> &loadSymbols);

} // namespace mvc

#endif // MVC_RUNTIME_EXECUTOR_LANGUAGEMODEL_H
