//===- GgufBpeTokenizer.cpp - a GGUF "gpt2" vocabulary as tokenizer.json --===//
#include "architectures/common/GgufBpeTokenizer.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "runtime/util/StatusMacros.h"

namespace mvc {

namespace {

constexpr int64_t kControl = 3, kUserDefined = 4; // llama.cpp's token types

/// Pre-tokenizer names whose split is GPT-2's regex after individual digits.
const std::set<std::string> kDigitsThenByteLevel = {"smollm", "starcoder", "refact"};
/// Pre-tokenizer names whose split is GPT-2's regex alone.
const std::set<std::string> kByteLevel = {"gpt2", "default"};

} // namespace

absl::StatusOr<std::optional<GgufImport::Tokenizer>> ggufBpeTokenizer(const GgufReader &reader) {
  if (!reader.find("tokenizer.ggml.tokens"))
    return std::nullopt;
  auto invalid = [&](const std::string &what) {
    return absl::InvalidArgumentError(absl::StrCat(reader.path(), ": ", what));
  };
  MVC_ASSIGN_OR_RETURN(absl::string_view model, reader.getString("tokenizer.ggml.model"));
  if (model != "gpt2")
    return invalid(absl::StrCat("tokenizer.ggml.model: '", model,
                                "' is not a byte-level BPE vocabulary ('gpt2')"));
  std::string pre = "default";
  if (reader.find("tokenizer.ggml.pre")) {
    MVC_ASSIGN_OR_RETURN(absl::string_view name, reader.getString("tokenizer.ggml.pre"));
    pre = std::string(name);
  }
  if (!kDigitsThenByteLevel.count(pre) && !kByteLevel.count(pre))
    return invalid(absl::StrCat("tokenizer.ggml.pre: unsupported pre-tokenizer '", pre,
                                "' (mvc converts: smollm, starcoder, refact, gpt2, default)"));
  MVC_ASSIGN_OR_RETURN(std::vector<absl::string_view> tokens,
                       reader.getStringArray("tokenizer.ggml.tokens"));
  MVC_ASSIGN_OR_RETURN(std::vector<absl::string_view> merges,
                       reader.getStringArray("tokenizer.ggml.merges"));
  std::vector<int64_t> types(tokens.size(), 1);
  if (reader.find("tokenizer.ggml.token_type")) {
    MVC_ASSIGN_OR_RETURN(types, reader.getIntArray("tokenizer.ggml.token_type"));
    if (types.size() != tokens.size())
      return invalid(absl::StrCat("tokenizer.ggml.token_type has ", types.size(), " entries for ",
                                  tokens.size(), " tokens"));
  }

  OrderedJson vocab = OrderedJson::object();
  OrderedJson added = OrderedJson::array();
  for (size_t id = 0; id < tokens.size(); ++id) {
    std::string token(tokens[id]);
    if (token.empty())
      return invalid(absl::StrCat("tokenizer.ggml.tokens[", id, "] is empty"));
    if (vocab.contains(token))
      return invalid(absl::StrCat("tokenizer.ggml.tokens[", id, "] repeats '", token, "'"));
    vocab[token] = id;
    if (types[id] == kControl || types[id] == kUserDefined)
      added.push_back({{"id", id},
                       {"content", token},
                       {"single_word", false},
                       {"lstrip", false},
                       {"rstrip", false},
                       {"normalized", false},
                       {"special", types[id] == kControl}});
  }
  OrderedJson mergeList = OrderedJson::array();
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    absl::string_view merge = merges[rank];
    size_t space = merge.find(' ');
    if (space == absl::string_view::npos || space == 0 || space + 1 == merge.size() ||
        merge.find(' ', space + 1) != absl::string_view::npos)
      return invalid(absl::StrCat("tokenizer.ggml.merges[", rank, "] is not \"a b\""));
    mergeList.push_back(std::string(merge));
  }

  OrderedJson byteLevel = {{"type", "ByteLevel"},
                           {"add_prefix_space", false},
                           {"trim_offsets", true},
                           {"use_regex", true}};
  OrderedJson preTokenizer = byteLevel;
  if (kDigitsThenByteLevel.count(pre))
    preTokenizer = {
        {"type", "Sequence"},
        {"pretokenizers", {{{"type", "Digits"}, {"individual_digits", true}}, byteLevel}}};

  auto tokenAt = [&](const char *key) -> absl::StatusOr<std::optional<std::string>> {
    if (!reader.find(key))
      return std::nullopt;
    MVC_ASSIGN_OR_RETURN(uint64_t id, reader.getUInt(key));
    if (id >= tokens.size())
      return invalid(absl::StrCat(key, ": ", id, " is outside the ", tokens.size(), " tokens"));
    return std::string(tokens[id]);
  };
  MVC_ASSIGN_OR_RETURN(std::optional<std::string> bos, tokenAt("tokenizer.ggml.bos_token_id"));
  MVC_ASSIGN_OR_RETURN(std::optional<std::string> eos, tokenAt("tokenizer.ggml.eos_token_id"));
  MVC_ASSIGN_OR_RETURN(std::optional<std::string> unk, tokenAt("tokenizer.ggml.unknown_token_id"));
  MVC_ASSIGN_OR_RETURN(std::optional<std::string> pad, tokenAt("tokenizer.ggml.padding_token_id"));
  bool addBos = false;
  if (reader.find("tokenizer.ggml.add_bos_token")) {
    MVC_ASSIGN_OR_RETURN(addBos, reader.getBool("tokenizer.ggml.add_bos_token"));
  }
  OrderedJson postProcessor = nullptr;
  if (addBos && bos)
    postProcessor = {
        {"type", "TemplateProcessing"},
        {"single",
         {{{"SpecialToken", {{"id", *bos}, {"type_id", 0}}}},
          {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
        {"pair",
         {{{"SpecialToken", {{"id", *bos}, {"type_id", 0}}}},
          {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
          {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
        {"special_tokens", {{*bos, {{"id", *bos}, {"ids", {vocab[*bos]}}, {"tokens", {*bos}}}}}}};

  OrderedJson tokenizer = {{"version", "1.0"},
                           {"truncation", nullptr},
                           {"padding", nullptr},
                           {"added_tokens", added},
                           {"normalizer", nullptr},
                           {"pre_tokenizer", preTokenizer},
                           {"post_processor", postProcessor},
                           {"decoder",
                            {{"type", "ByteLevel"},
                             {"add_prefix_space", true},
                             {"trim_offsets", true},
                             {"use_regex", true}}},
                           {"model",
                            {{"type", "BPE"},
                             {"dropout", nullptr},
                             {"unk_token", nullptr},
                             {"continuing_subword_prefix", nullptr},
                             {"end_of_word_suffix", nullptr},
                             {"fuse_unk", false},
                             {"byte_fallback", false},
                             {"ignore_merges", false},
                             {"vocab", vocab},
                             {"merges", mergeList}}}};

  OrderedJson config = {{"add_bos_token", addBos}, {"add_eos_token", false}};
  for (auto [key, value] : {std::pair("bos_token", bos), std::pair("eos_token", eos),
                            std::pair("unk_token", unk), std::pair("pad_token", pad)})
    if (value)
      config[key] = *value;
  if (reader.find("tokenizer.chat_template")) {
    MVC_ASSIGN_OR_RETURN(absl::string_view chatTemplate,
                         reader.getString("tokenizer.chat_template"));
    config["chat_template"] = std::string(chatTemplate);
  }
  return GgufImport::Tokenizer{tokenizer.dump(), std::move(config)};
}

} // namespace mvc
