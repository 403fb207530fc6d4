//===- FakeLanguageModel.h - a tiny language-model artifact for tests -----===//
//
// An artifact with a `language_model` entry whose `forward` program is the one kernel of
// FakeLanguageModelKernels.c (see there): its logits are one-hot at
//   next(tokens 0..p) = (tokens[0] + ... + tokens[p] + p) mod vocab,
// read back through the paged KV cache, so greedy generation is known in advance and any
// bookkeeping error in the caller changes it. Used by the pipeline and mvc-run tests.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_PIPELINE_FAKELANGUAGEMODEL_H
#define MVC_RUNTIME_PIPELINE_FAKELANGUAGEMODEL_H

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"

namespace mvc::testing {

struct FakeLanguageModel {
  int64_t vocabSize = 16;
  int64_t pageSize = 4;
  int64_t numPages = 16; // the manifest's default for load symbol num_pages
  int64_t maxPositions = 64;
  std::vector<int32_t> eosTokenIds;

  /// The manifest, for tests to modify before writing.
  nlohmann::ordered_json manifest() const;
  /// The token the fake predicts after `sequence` (non-empty).
  int32_t next(const std::vector<int32_t> &sequence) const;
  /// Greedy generation as the Generator must produce it: up to `maxNewTokens`, stopping
  /// after an EOS id.
  std::vector<int32_t> continuation(std::vector<int32_t> prompt, int64_t maxNewTokens) const;
};

/// Writes an artifact with `manifest`, the fake's kernels (the shared object at
/// `kernelsPath`) and `extraSections` (name, bytes), e.g. tokenizer files.
absl::Status
writeFakeLanguageModel(const std::string &path, const nlohmann::ordered_json &manifest,
                       const std::string &kernelsPath,
                       const std::vector<std::pair<std::string, std::string>> &extraSections = {});

} // namespace mvc::testing

#endif // MVC_RUNTIME_PIPELINE_FAKELANGUAGEMODEL_H
