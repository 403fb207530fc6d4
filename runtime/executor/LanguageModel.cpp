//===- LanguageModel.cpp - the manifest's "language_model" entry ----------===//
#include "runtime/executor/LanguageModel.h"
#include "runtime/util/Json.h"

#include <algorithm>
#include <iterator>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "nlohmann/json.hpp"
#include "runtime/artifact/Format.h"
#include "runtime/util/StatusMacros.h"

namespace mvc {

namespace {

using Json = nlohmann::ordered_json;

absl::Status fieldError(absl::string_view field, absl::string_view message) {
  return absl::InvalidArgumentError(
      absl::StrCat("manifest: language_model", field.empty() ? "" : ".", field, ": ", message));
}

/// An integer field in [lo, hi].
absl::StatusOr<int64_t> integerField(const Json &entry, const char *key, int64_t lo, int64_t hi) {
  auto it = entry.find(key);
  if (it == entry.end())
    return fieldError(key, "missing");
  if (!it->is_number_integer() || it->get<int64_t>() < lo || it->get<int64_t>() > hi)
    return fieldError(
        key, absl::StrCat("expected an integer in [", lo, ", ", hi, "], got ", it->dump()));
  return it->get<int64_t>();
}

/// A token id in [0, vocab), or nullopt if the key is absent or null.
absl::StatusOr<std::optional<int32_t>> optionalTokenField(const Json &entry, const char *key,
                                                          int64_t vocab) {
  auto it = entry.find(key);
  if (it == entry.end() || it->is_null())
    return std::nullopt;
  MVC_ASSIGN_OR_RETURN(int64_t id, integerField(entry, key, 0, vocab - 1));
  return static_cast<int32_t>(id);
}

/// The interface every language model's forward program has (FORMAT.md): six i32 inputs
/// by name, logits f32 [N, V]. Inputs beyond these are the run half's to check.
absl::Status checkProgram(const ProgramInfo &program, int64_t vocab) {
  struct Expected {
    const char *name;
    size_t rank;
  };
  static constexpr Expected kInputs[] = {{"tokens", 1},      {"positions", 1},
                                         {"block_table", 2}, {"row_offsets", 1},
                                         {"cache_lens", 1},  {"logit_rows", 1}};
  std::string where = absl::StrCat("program '", program.name, "'");
  for (const Expected &expected : kInputs) {
    auto input = std::find_if(program.inputs.begin(), program.inputs.end(),
                              [&](const TensorInfo &t) { return t.name == expected.name; });
    if (input == program.inputs.end())
      return fieldError("program", absl::StrCat(where, " has no input '", expected.name,
                                                "' (a language model's forward takes tokens, "
                                                "positions, block_table, row_offsets, "
                                                "cache_lens, logit_rows)"));
    if (input->dtype != DType::I32 || input->shape.size() != expected.rank)
      return fieldError("program", absl::StrCat(where, " input '", expected.name,
                                                "' must be i32 of rank ", expected.rank));
  }
  auto logits = std::find_if(program.outputs.begin(), program.outputs.end(),
                             [](const TensorInfo &t) { return t.name == "logits"; });
  if (logits == program.outputs.end())
    return fieldError("program", absl::StrCat(where, " has no output 'logits'"));
  if (logits->dtype != DType::F32 || logits->shape.size() != 2)
    return fieldError("program", absl::StrCat(where, " output 'logits' must be f32 of rank 2"));
  if (logits->shape[1].isConstant() && logits->shape[1].leaf().value != vocab)
    return fieldError("vocab_size",
                      absl::StrCat(vocab, " but program '", program.name,
                                   "' returns logits of width ", logits->shape[1].leaf().value));
  return absl::OkStatus();
}

/// The section that `text.<key>` names: it must exist and be non-empty. Empty if the key is
/// absent and optional.
absl::StatusOr<absl::string_view> textSection(const ArtifactReader &artifact, const Json &text,
                                              const char *key, bool required,
                                              absl::string_view prefix = "text.") {
  std::string field = absl::StrCat(prefix, key);
  auto it = text.find(key);
  if (it == text.end() && !required)
    return absl::string_view();
  if (it == text.end())
    return fieldError(field, "missing");
  if (!it->is_string())
    return fieldError(field, absl::StrCat("expected a section name, got ", it->dump()));
  const ArtifactReader::Section *section = artifact.findSection(it->get<std::string>());
  if (!section)
    return fieldError(field,
                      absl::StrCat("the artifact has no section '", it->get<std::string>(), "'"));
  if (section->bytes.empty())
    return fieldError(field, absl::StrCat("section '", section->name, "' is empty"));
  return absl::string_view(reinterpret_cast<const char *>(section->bytes.data()),
                           section->bytes.size());
}

} // namespace

absl::StatusOr<std::optional<LanguageModelInfo>>
parseLanguageModel(const ArtifactReader &artifact,
                   const std::vector<std::pair<std::string, int64_t>> &loadSymbols) {
  // open() refused artifacts without a valid manifest section.
  const ArtifactReader::Section *manifestSection = artifact.findSection(artifact::kManifestSection);
  const Manifest &manifest = artifact.manifest();
  std::string_view text(reinterpret_cast<const char *>(manifestSection->bytes.data()),
                        manifestSection->bytes.size());
  MVC_ASSIGN_OR_RETURN(Json root, parseJson<Json>(text, "manifest"));
  if (!root.is_object())
    return absl::InvalidArgumentError("manifest: not a JSON object");
  auto found = root.find("language_model");
  if (found == root.end())
    return std::nullopt;
  const Json &entry = *found;
  if (!entry.is_object())
    return fieldError("", "expected an object");
  constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();

  LanguageModelInfo info;
  info.entryJson = entry.dump();
  if (auto format = entry.find("response_format"); format != entry.end()) {
    if (!format->is_string() || *format != "gemma4")
      return fieldError("response_format", absl::StrCat("expected \"gemma4\", got ", format->dump()));
    info.responseFormat = format->get<std::string>();
  }
  auto architecture = entry.find("architecture");
  if (architecture == entry.end() || !architecture->is_string() ||
      architecture->get<std::string>().empty())
    return fieldError("architecture", "expected the id of the architecture's run half");
  info.architecture = architecture->get<std::string>();
  auto program = entry.find("program");
  if (program == entry.end() || !program->is_string())
    return fieldError("program", "expected a program name");
  info.program = program->get<std::string>();
  const ProgramInfo *programInfo = manifest.findProgram(info.program);
  if (!programInfo)
    return fieldError("program", absl::StrCat("no program named '", info.program, "'"));
  MVC_ASSIGN_OR_RETURN(info.vocabSize, integerField(entry, "vocab_size", 1, kInt32Max));
  MVC_ASSIGN_OR_RETURN(info.processorConfigJson,
                       textSection(artifact, entry, "processor_config", false, ""));
  MVC_ASSIGN_OR_RETURN(info.videoProcessorConfigJson,
                       textSection(artifact, entry, "video_processor_config", false, ""));
  MVC_RETURN_IF_ERROR(checkProgram(*programInfo, info.vocabSize));
  MVC_ASSIGN_OR_RETURN(int64_t pageSize, integerField(entry, "page_size", 1, kInt32Max));
  info.pageSize = static_cast<int32_t>(pageSize);
  MVC_ASSIGN_OR_RETURN(info.maxPositions, integerField(entry, "max_positions", 1, kInt32Max));
  MVC_ASSIGN_OR_RETURN(info.bosTokenId, optionalTokenField(entry, "bos_token_id", info.vocabSize));
  MVC_ASSIGN_OR_RETURN(info.padTokenId, optionalTokenField(entry, "pad_token_id", info.vocabSize));

  auto eos = entry.find("eos_token_ids");
  if (eos == entry.end() || !eos->is_array())
    return fieldError("eos_token_ids", "expected an array of token ids");
  for (size_t i = 0; i < eos->size(); ++i) {
    const Json &id = (*eos)[i];
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= info.vocabSize)
      return fieldError(
          absl::StrCat("eos_token_ids[", i, "]"),
          absl::StrCat("expected a token id in [0, ", info.vocabSize, "), got ", id.dump()));
    info.eosTokenIds.push_back(id.get<int32_t>());
  }

  if (auto text = entry.find("text"); text != entry.end()) {
    if (!text->is_object())
      return fieldError("text", "expected an object");
    MVC_ASSIGN_OR_RETURN(info.tokenizerJson, textSection(artifact, *text, "tokenizer", true));
    MVC_ASSIGN_OR_RETURN(info.tokenizerConfigJson,
                         textSection(artifact, *text, "tokenizer_config", false));
  }

  auto pages = std::find_if(loadSymbols.begin(), loadSymbols.end(),
                            [](const auto &symbol) { return symbol.first == "num_pages"; });
  if (pages == loadSymbols.end())
    return fieldError("page_size", "the artifact has no load symbol 'num_pages' to count pages");
  if (pages->second > kInt32Max)
    return absl::InvalidArgumentError(
        absl::StrCat("load symbol 'num_pages' = ", pages->second, " exceeds ", kInt32Max));
  info.numPages = static_cast<int32_t>(pages->second);
  return info;
}

absl::Status checkForwardInputs(const LanguageModelInfo &lm, const ProgramInfo &program,
                                const std::vector<HostTensor> &inputs) {
  auto input = [&](const char *name) -> const HostTensor * {
    for (size_t i = 0; i < program.inputs.size(); ++i)
      if (program.inputs[i].name == name)
        return &inputs[i];
    return nullptr;
  };
  const HostTensor *tokens = input("tokens"), *positions = input("positions"),
                   *blockTable = input("block_table"), *rowOffsets = input("row_offsets"),
                   *cacheLens = input("cache_lens"), *logitRows = input("logit_rows");
  // The loader checked that the program has these, i32, of these ranks.
  auto bad = [&](const char *name, int64_t index, absl::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat("program '", program.name, "' input '", name, "'[", index, "]: ", what));
  };
  int64_t numTokens = tokens->shape()[0], numSequences = cacheLens->shape()[0];
  int64_t tablePages = blockTable->shape()[1];
  const int32_t *ids = tokens->dataAs<int32_t>();
  for (int64_t t = 0; t < numTokens; ++t)
    if (ids[t] < 0 || ids[t] >= lm.vocabSize)
      return bad("tokens", t, absl::StrCat("token id ", ids[t], " is outside [0, ", lm.vocabSize, ")"));
  const int32_t *pages = blockTable->dataAs<int32_t>();
  for (int64_t i = 0; i < blockTable->numElements(); ++i)
    if (pages[i] < 0 || pages[i] >= lm.numPages)
      return bad("block_table", i, absl::StrCat("page ", pages[i], " is outside the pool of ",
                                                lm.numPages, " pages"));
  if (rowOffsets->shape()[0] != numSequences + 1 || blockTable->shape()[0] != numSequences)
    return absl::InvalidArgumentError(absl::StrCat(
        "program '", program.name, "': row_offsets must have one entry more than cache_lens (",
        numSequences, ") and block_table one row per sequence"));
  const int32_t *offsets = rowOffsets->dataAs<int32_t>(), *lens = cacheLens->dataAs<int32_t>();
  const int32_t *pos = positions->dataAs<int32_t>();
  if (offsets[0] != 0)
    return bad("row_offsets", 0, absl::StrCat("must be 0, got ", offsets[0]));
  int64_t capacity = tablePages * lm.pageSize;
  for (int64_t b = 0; b < numSequences; ++b) {
    if (offsets[b + 1] < offsets[b] || offsets[b + 1] > numTokens)
      return bad("row_offsets", b + 1, absl::StrCat(offsets[b + 1], " is not in [", offsets[b], ", ",
                                                    numTokens, "]"));
    int64_t rows = offsets[b + 1] - offsets[b];
    if (lens[b] < 0 || lens[b] + rows > capacity || lens[b] + rows > lm.maxPositions)
      return bad("cache_lens", b, absl::StrCat(lens[b], " cached + ", rows, " new tokens do not fit the ",
                                               capacity, " slots its block-table row names (max positions ",
                                               lm.maxPositions, ")"));
    for (int32_t r = offsets[b]; r < offsets[b + 1]; ++r)
      if (pos[r] < 0 || pos[r] >= capacity || pos[r] >= lm.maxPositions)
        return bad("positions", r, absl::StrCat("position ", pos[r], " is outside the sequence's ",
                                                std::min<int64_t>(capacity, lm.maxPositions),
                                                " slots"));
  }
  if (numSequences > 0 && offsets[numSequences] != numTokens)
    return bad("row_offsets", numSequences, absl::StrCat("must end at T = ", numTokens, ", got ",
                                                         offsets[numSequences]));
  const int32_t *logit = logitRows->dataAs<int32_t>();
  for (int64_t n = 0; n < logitRows->shape()[0]; ++n)
    if (logit[n] < 0 || logit[n] >= numTokens)
      return bad("logit_rows", n, absl::StrCat("row ", logit[n], " is outside [0, ", numTokens, ")"));
  return absl::OkStatus();
}

} // namespace mvc
