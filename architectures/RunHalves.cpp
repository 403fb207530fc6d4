//===- RunHalves.cpp - manifest architecture ids → run halves -------------===//
#include "architectures/RunHalves.h"

#include <algorithm>
#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "architectures/gemma3/Gemma3Run.h"
#include "architectures/gemma3multimodal/Gemma3MultimodalRun.h"
#include "architectures/gemma4/Gemma4Run.h"
#include "architectures/idefics3/Idefics3Run.h"
#include "architectures/llama/LlamaRun.h"
#include "architectures/qwen3vl/Qwen3VLRun.h"
#include "runtime/util/StatusMacros.h"

namespace mvc {

namespace {

using Factory = std::function<absl::StatusOr<std::unique_ptr<RunHalf>>(const Model &,
                                                                       const LanguageModelInfo &)>;

template <typename T>
absl::StatusOr<std::unique_ptr<RunHalf>> plain(const Model &, const LanguageModelInfo &) {
  return std::unique_ptr<RunHalf>(new T());
}

const std::vector<std::pair<std::string, Factory>> &registry() {
  static const std::vector<std::pair<std::string, Factory>> entries = {
      {Gemma3RunHalf::kId, plain<Gemma3RunHalf>},
      {Gemma3MultimodalRunHalf::kId, Gemma3MultimodalRunHalf::create},
      {Gemma4RunHalf::kId, Gemma4RunHalf::create},
      {Idefics3RunHalf::kId, Idefics3RunHalf::create},
      {LlamaRunHalf::kId, plain<LlamaRunHalf>},
      {Qwen3VLRunHalf::kId, Qwen3VLRunHalf::create},
  };
  return entries;
}

/// Checks the forward program's inputs beyond the common six against the run half's.
absl::Status checkExtraInputs(const Model &model, const LanguageModelInfo &info,
                              const RunHalf &half) {
  static const char *const kCommon[] = {"tokens",      "positions",  "block_table",
                                        "row_offsets", "cache_lens", "logit_rows"};
  std::vector<RunHalf::InputSpec> extra = half.extraInputs();
  for (const ProgramSignature &program : model.programs()) {
    if (program.name != info.program)
      continue;
    for (const TensorSignature &input : program.inputs) {
      if (std::find(std::begin(kCommon), std::end(kCommon), input.name) != std::end(kCommon))
        continue;
      auto spec = std::find_if(extra.begin(), extra.end(),
                               [&](const RunHalf::InputSpec &s) { return s.name == input.name; });
      if (spec == extra.end())
        return absl::InvalidArgumentError(absl::StrCat(
            "manifest: language_model.program: program '", program.name, "' takes input '",
            input.name, "', which the '", half.id(), "' run half does not provide"));
      if (spec->dtype != input.dtype || spec->rank != input.shape.size())
        return absl::InvalidArgumentError(absl::StrCat(
            "manifest: language_model.program: program '", program.name, "' input '", input.name,
            "' must be ", dtypeName(spec->dtype), " of rank ", spec->rank));
    }
    for (const RunHalf::InputSpec &spec : extra)
      if (std::none_of(program.inputs.begin(), program.inputs.end(),
                       [&](const TensorSignature &t) { return t.name == spec.name; }))
        return absl::InvalidArgumentError(absl::StrCat(
            "manifest: language_model.program: program '", program.name, "' has no input '",
            spec.name, "', which the '", half.id(), "' run half needs"));
  }
  return absl::OkStatus();
}

} // namespace

absl::StatusOr<std::unique_ptr<RunHalf>> createRunHalf(const Model &model) {
  const LanguageModelInfo *info = model.languageModel();
  if (!info)
    return absl::FailedPreconditionError(
        "the artifact is not a language model (its manifest has no language_model entry)");
  for (const auto &[id, factory] : registry()) {
    if (id != info->architecture)
      continue;
    MVC_ASSIGN_OR_RETURN(std::unique_ptr<RunHalf> half, factory(model, *info));
    MVC_RETURN_IF_ERROR(checkExtraInputs(model, *info, *half));
    return half;
  }
  std::vector<std::string> known;
  for (const auto &entry : registry())
    known.push_back(entry.first);
  return absl::UnimplementedError(absl::StrCat(
      "the artifact needs the run half of architecture '", info->architecture,
      "', which this runtime does not have (it has: ", absl::StrJoin(known, ", "), ")"));
}

} // namespace mvc
