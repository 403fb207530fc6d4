//===- Gemma3GgufTokenizer.cpp - a GGUF vocabulary as Gemma 3's tokenizer.json -===//
#include "architectures/gemma3/Gemma3GgufTokenizer.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "runtime/text/Unicode.h"
#include "runtime/util/StatusMacros.h"

namespace mvc {

namespace {

// llama.cpp's token types (tokenizer.ggml.token_type), 1..6.
enum TokenType : int64_t {
  kNormal = 1,
  kControl = 3,
  kUserDefined = 4,
  kByte = 6,
};

/// The pieces Gemma 3's tokenizer.json marks special besides BOS, EOS, UNK and PAD.
constexpr const char *kGemmaSpecialPieces[] = {"<start_of_turn>", "<end_of_turn>",
                                               "<start_of_image>", "<end_of_image>"};

constexpr absl::string_view kSpaceMark = "\xe2\x96\x81"; // U+2581, SentencePiece's space

/// The tokenizer metadata of a GGUF, checked.
struct Vocabulary {
  std::vector<std::string> pieces;
  std::vector<float> scores;
  std::vector<int64_t> types;
  std::optional<int64_t> bos, eos, unk, pad;
  bool addBos = true, addEos = false;

  bool isSpecial(int64_t id) const {
    if (id == bos || id == eos || id == unk || id == pad)
      return true;
    return std::find(std::begin(kGemmaSpecialPieces), std::end(kGemmaSpecialPieces), pieces[id]) !=
           std::end(kGemmaSpecialPieces);
  }
};

absl::Status invalid(const GgufReader &reader, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(reader.path(), ": ", message));
}

/// Pieces of only U+0020 are the whitespace runs llama.cpp's converter un-escaped.
std::string sentencePiece(absl::string_view piece) {
  if (piece.find_first_not_of(' ') != absl::string_view::npos)
    return std::string(piece);
  std::string out;
  for (size_t i = 0; i < piece.size(); ++i)
    out.append(kSpaceMark.data(), kSpaceMark.size());
  return out;
}

/// A token id key: absent is fine, present must name a token.
absl::Status readId(const GgufReader &reader, const char *key, size_t count,
                    std::optional<int64_t> &id) {
  if (!reader.find(key))
    return absl::OkStatus();
  MVC_ASSIGN_OR_RETURN(uint64_t value, reader.getUInt(key));
  if (value >= count)
    return invalid(reader,
                   absl::StrCat(key, " = ", value, " is not a token id (the vocabulary has ", count,
                                " tokens)"));
  id = int64_t(value);
  return absl::OkStatus();
}

absl::Status readFlag(const GgufReader &reader, const char *key, bool &flag) {
  if (!reader.find(key))
    return absl::OkStatus();
  MVC_ASSIGN_OR_RETURN(flag, reader.getBool(key));
  return absl::OkStatus();
}

absl::StatusOr<Vocabulary> readVocabulary(const GgufReader &reader) {
  MVC_ASSIGN_OR_RETURN(absl::string_view model, reader.getString("tokenizer.ggml.model"));
  if (model != "llama")
    return absl::UnimplementedError(absl::StrCat(
        reader.path(), ": unsupported GGUF tokenizer model '", model,
        "' (mvc converts SentencePiece vocabularies, tokenizer.ggml.model \"llama\")"));
  Vocabulary v;
  MVC_ASSIGN_OR_RETURN(std::vector<absl::string_view> tokens,
                       reader.getStringArray("tokenizer.ggml.tokens"));
  MVC_ASSIGN_OR_RETURN(v.scores, reader.getFloatArray("tokenizer.ggml.scores"));
  MVC_ASSIGN_OR_RETURN(v.types, reader.getIntArray("tokenizer.ggml.token_type"));
  const size_t count = tokens.size();
  if (count == 0)
    return invalid(reader, "tokenizer.ggml.tokens is empty");
  if (v.scores.size() != count || v.types.size() != count)
    return invalid(reader, absl::StrCat("tokenizer.ggml.tokens has ", count,
                                        " entries but tokenizer.ggml.scores has ", v.scores.size(),
                                        " and tokenizer.ggml.token_type ", v.types.size()));
  v.pieces.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    absl::string_view token = tokens[i];
    if (token.empty() || !text::isValidUtf8(std::string_view(token.data(), token.size())))
      return invalid(reader, absl::StrCat("tokenizer.ggml.tokens[", i, "] is ",
                                          token.empty() ? "empty" : "not valid UTF-8"));
    if (v.types[i] < kNormal || v.types[i] > kByte)
      return invalid(reader, absl::StrCat("tokenizer.ggml.token_type[", i, "] = ", v.types[i],
                                          " is not a token type (1..6)"));
    if (!std::isfinite(v.scores[i]))
      return invalid(reader, absl::StrCat("tokenizer.ggml.scores[", i, "] is not finite"));
    v.pieces.push_back(sentencePiece(token));
  }
  MVC_RETURN_IF_ERROR(readId(reader, "tokenizer.ggml.bos_token_id", count, v.bos));
  MVC_RETURN_IF_ERROR(readId(reader, "tokenizer.ggml.eos_token_id", count, v.eos));
  MVC_RETURN_IF_ERROR(readId(reader, "tokenizer.ggml.unknown_token_id", count, v.unk));
  MVC_RETURN_IF_ERROR(readId(reader, "tokenizer.ggml.padding_token_id", count, v.pad));
  MVC_RETURN_IF_ERROR(readFlag(reader, "tokenizer.ggml.add_bos_token", v.addBos));
  MVC_RETURN_IF_ERROR(readFlag(reader, "tokenizer.ggml.add_eos_token", v.addEos));
  if (v.addBos && !v.bos)
    return invalid(reader, "tokenizer.ggml.add_bos_token is set but there is no bos_token_id");
  if (v.addEos && !v.eos)
    return invalid(reader, "tokenizer.ggml.add_eos_token is set but there is no eos_token_id");
  return v;
}

/// One merge: piece `id` = left + right, split after `leftBytes` bytes.
struct Merge {
  float score;
  uint32_t leftChars, rightChars;
  int32_t id;
  uint32_t leftBytes;
};

/// Every split of a NORMAL or USER_DEFINED piece into two pieces, in rank order.
std::vector<Merge> deriveMerges(const Vocabulary &v,
                                const absl::flat_hash_map<absl::string_view, int32_t> &ids) {
  std::vector<Merge> merges;
  for (size_t id = 0; id < v.pieces.size(); ++id) {
    if (v.types[id] != kNormal && v.types[id] != kUserDefined)
      continue;
    const absl::string_view piece = v.pieces[id];
    // SentencePiece scores USER_DEFINED pieces 0; the GGUF's -1000 is llama.cpp's filler.
    const float score = v.types[id] == kUserDefined ? 0.0f : v.scores[id];
    uint32_t chars = 0;
    for (size_t at = 0; at < piece.size(); at += text::utf8SequenceLength(piece[at]))
      ++chars;
    uint32_t leftChars = 0;
    for (size_t at = text::utf8SequenceLength(piece[0]); at < piece.size();
         at += text::utf8SequenceLength(piece[at])) {
      ++leftChars;
      if (ids.contains(piece.substr(0, at)) && ids.contains(piece.substr(at)))
        merges.push_back({score, leftChars, chars - leftChars, int32_t(id), uint32_t(at)});
    }
  }
  std::sort(merges.begin(), merges.end(), [](const Merge &a, const Merge &b) {
    if (a.score != b.score)
      return a.score > b.score;
    if (a.leftChars != b.leftChars)
      return a.leftChars > b.leftChars;
    if (a.rightChars != b.rightChars)
      return a.rightChars > b.rightChars;
    return a.id < b.id;
  });
  return merges;
}

void appendQuoted(std::string &out, absl::string_view text) {
  out += nlohmann::json(std::string(text)).dump();
}

OrderedJson specialToken(const Vocabulary &v, int64_t id, int typeId) {
  return {{"SpecialToken", {{"id", v.pieces[id]}, {"type_id", typeId}}}};
}

/// BOS/EOS around each sequence, as add_bos_token/add_eos_token say.
OrderedJson postProcessor(const Vocabulary &v) {
  OrderedJson single = OrderedJson::array(), pair = OrderedJson::array();
  OrderedJson specials = OrderedJson::object();
  auto sequence = [&](OrderedJson &out, const char *name, int typeId) {
    if (v.addBos)
      out.push_back(specialToken(v, *v.bos, typeId));
    out.push_back({{"Sequence", {{"id", name}, {"type_id", typeId}}}});
    if (v.addEos)
      out.push_back(specialToken(v, *v.eos, typeId));
  };
  sequence(single, "A", 0);
  sequence(pair, "A", 0);
  sequence(pair, "B", 1);
  auto define = [&](int64_t id) {
    specials[v.pieces[id]] = {{"id", v.pieces[id]},
                              {"ids", OrderedJson::array({id})},
                              {"tokens", OrderedJson::array({v.pieces[id]})}};
  };
  if (v.addBos)
    define(*v.bos);
  if (v.addEos)
    define(*v.eos);
  return {{"type", "TemplateProcessing"},
          {"single", single},
          {"pair", pair},
          {"special_tokens", specials}};
}

} // namespace

bool ggufHasTokenizer(const GgufReader &reader) {
  return reader.find("tokenizer.ggml.tokens") != nullptr;
}

absl::StatusOr<std::string> ggufGemmaTokenizerJson(const GgufReader &reader) {
  MVC_ASSIGN_OR_RETURN(Vocabulary v, readVocabulary(reader));
  absl::flat_hash_map<absl::string_view, int32_t> ids;
  ids.reserve(v.pieces.size());
  for (size_t id = 0; id < v.pieces.size(); ++id) {
    auto [it, inserted] = ids.emplace(v.pieces[id], int32_t(id));
    if (!inserted)
      return invalid(reader, absl::StrCat("tokenizer.ggml.tokens[", id, "] repeats [", it->second,
                                          "] (", nlohmann::json(v.pieces[id]).dump(), ")"));
  }

  OrderedJson added = OrderedJson::array();
  for (size_t id = 0; id < v.pieces.size(); ++id) {
    if (v.types[id] != kControl && v.types[id] != kUserDefined && !v.isSpecial(id))
      continue;
    added.push_back({{"id", id},
                     {"content", v.pieces[id]},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", v.isSpecial(id)}});
  }
  const std::string space(kSpaceMark);
  const OrderedJson normalizer = {
      {"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", space}};
  const OrderedJson preTokenizer = {{"type", "Split"},
                                    {"pattern", {{"String", " "}}},
                                    {"behavior", "MergedWithPrevious"},
                                    {"invert", false}};
  const OrderedJson decoder = {
      {"type", "Sequence"},
      {"decoders",
       {{{"type", "Replace"}, {"pattern", {{"String", space}}}, {"content", " "}},
        {{"type", "ByteFallback"}},
        {{"type", "Fuse"}}}}};
  const OrderedJson modelHead = {
      {"type", "BPE"},
      {"dropout", nullptr},
      {"unk_token", v.unk ? OrderedJson(v.pieces[*v.unk]) : OrderedJson(nullptr)},
      {"continuing_subword_prefix", nullptr},
      {"end_of_word_suffix", nullptr},
      {"fuse_unk", true},
      {"byte_fallback", true},
      {"ignore_merges", false}};

  // The vocabulary and merges (~30 MB) are written directly: an ordered_json object
  // checks each key against all earlier ones.
  std::string out =
      absl::StrCat(R"({"version":"1.0","truncation":null,"padding":null,"added_tokens":)",
                   added.dump(), R"(,"normalizer":)", normalizer.dump(), R"(,"pre_tokenizer":)",
                   preTokenizer.dump(), R"(,"post_processor":)", postProcessor(v).dump(),
                   R"(,"decoder":)", decoder.dump(), R"(,"model":)");
  std::string head = modelHead.dump();
  head.pop_back(); // the closing brace: vocab and merges follow
  out += head;
  out += R"(,"vocab":{)";
  for (size_t id = 0; id < v.pieces.size(); ++id) {
    if (id)
      out += ',';
    appendQuoted(out, v.pieces[id]);
    absl::StrAppend(&out, ":", id);
  }
  out += R"(},"merges":[)";
  bool first = true;
  for (const Merge &merge : deriveMerges(v, ids)) {
    absl::string_view piece = v.pieces[merge.id];
    out += first ? "[" : ",[";
    first = false;
    appendQuoted(out, piece.substr(0, merge.leftBytes));
    out += ',';
    appendQuoted(out, piece.substr(merge.leftBytes));
    out += ']';
  }
  out += "]}}";
  return out;
}

absl::StatusOr<OrderedJson> ggufGemmaTokenizerConfig(const GgufReader &reader) {
  MVC_ASSIGN_OR_RETURN(Vocabulary v, readVocabulary(reader));
  OrderedJson config = {{"add_bos_token", v.addBos}, {"add_eos_token", v.addEos}};
  const std::pair<const char *, const std::optional<int64_t> &> named[] = {
      {"bos_token", v.bos}, {"eos_token", v.eos}, {"unk_token", v.unk}, {"pad_token", v.pad}};
  for (const auto &[key, id] : named)
    if (id)
      config[key] = v.pieces[*id];
  if (reader.find("tokenizer.chat_template")) {
    MVC_ASSIGN_OR_RETURN(absl::string_view chatTemplate,
                         reader.getString("tokenizer.chat_template"));
    if (!text::isValidUtf8(std::string_view(chatTemplate.data(), chatTemplate.size())))
      return invalid(reader, "tokenizer.chat_template is not valid UTF-8");
    config["chat_template"] = std::string(chatTemplate);
  }
  return config;
}

} // namespace mvc
