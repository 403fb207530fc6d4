#include "runtime/text/Tokenizer.h"
#include "runtime/util/Json.h"
#include "runtime/util/Files.h"

#include <fstream>
#include <sstream>

#include "runtime/text/Strings.h"
#include "runtime/text/Unicode.h"

namespace mvc::text {
namespace {

// Collects the ids a post-processor adds around a single sequence.
absl::Status parsePostProcessor(const nlohmann::json& json, std::vector<TokenId>& prefix,
                                std::vector<TokenId>& suffix) {
  if (json.is_null()) return absl::OkStatus();
  const std::string type = json.value("type", std::string());
  if (type == "ByteLevel") return absl::OkStatus();  // Only adjusts offsets.
  if (type == "Sequence") {
    for (const auto& step : json.value("processors", nlohmann::json::array())) {
      if (auto status = parsePostProcessor(step, prefix, suffix); !status.ok()) return status;
    }
    return absl::OkStatus();
  }
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    // {"cls": [token, id], "sep": [token, id]}
    prefix.push_back(json.at("cls").at(1).get<TokenId>());
    suffix.insert(suffix.begin(), json.at("sep").at(1).get<TokenId>());
    return absl::OkStatus();
  }
  if (type == "TemplateProcessing") {
    const auto& special = json.at("special_tokens");
    bool seen_sequence = false;
    std::vector<TokenId> before, after;
    for (const auto& piece : json.at("single")) {
      if (piece.contains("Sequence")) {
        if (piece["Sequence"].value("id", std::string("A")) != "A") {
          return absl::InvalidArgumentError(
              "tokenizer.json: post_processor.single refers to sequence B");
        }
        seen_sequence = true;
        continue;
      }
      const std::string name = piece.at("SpecialToken").at("id").get<std::string>();
      auto it = special.find(name);
      if (it == special.end()) {
        return absl::InvalidArgumentError(cat(
            "tokenizer.json: post_processor special token '", name, "' is not defined"));
      }
      for (const auto& id : it->at("ids")) (seen_sequence ? after : before).push_back(id.get<TokenId>());
    }
    prefix.insert(prefix.end(), before.begin(), before.end());
    suffix.insert(suffix.begin(), after.begin(), after.end());
    return absl::OkStatus();
  }
  return unsupported("post_processor", json);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::fromFile(const std::string& path) {
  absl::StatusOr<std::string> text = readInputFile(path, "tokenizer");
  if (!text.ok()) return text.status();
  auto tokenizer = fromJson(*text);
  if (!tokenizer.ok()) {
    return absl::Status(tokenizer.status().code(),
                        cat(path, ": ", tokenizer.status().message()));
  }
  return tokenizer;
}

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::fromJson(std::string_view text) {
  absl::StatusOr<nlohmann::json> parsed = parseJson<nlohmann::json>(text, "tokenizer.json");
  if (!parsed.ok()) return parsed.status();
  nlohmann::json json = std::move(*parsed);
  if (!json.is_object()) {
    return absl::InvalidArgumentError("tokenizer.json: not a JSON object");
  }
  std::unique_ptr<Tokenizer> tokenizer(new Tokenizer());
  try {
    auto added = AddedVocabulary::fromJson(json.value("added_tokens", nlohmann::json()));
    if (!added.ok()) return added.status();
    tokenizer->added_ = std::move(*added);
    if (json.contains("normalizer") && !json["normalizer"].is_null()) {
      auto normalizer = makeNormalizer(json["normalizer"]);
      if (!normalizer.ok()) return normalizer.status();
      tokenizer->normalizer_ = std::move(*normalizer);
    }
    if (json.contains("pre_tokenizer") && !json["pre_tokenizer"].is_null()) {
      auto pre_tokenizer = makePreTokenizer(json["pre_tokenizer"]);
      if (!pre_tokenizer.ok()) return pre_tokenizer.status();
      tokenizer->pre_tokenizer_ = std::move(*pre_tokenizer);
    }
    if (json.contains("decoder") && !json["decoder"].is_null()) {
      auto decoder = makeDecoder(json["decoder"]);
      if (!decoder.ok()) return decoder.status();
      tokenizer->decoder_ = std::move(*decoder);
    }
    if (!json.contains("model")) return absl::InvalidArgumentError("tokenizer.json: no model");
    auto model = BpeModel::fromJson(json["model"]);
    if (!model.ok()) return model.status();
    tokenizer->model_ = std::move(*model);
    auto status = parsePostProcessor(json.value("post_processor", nlohmann::json()),
                                     tokenizer->prefix_ids_, tokenizer->suffix_ids_);
    if (!status.ok()) return status;
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(cat("tokenizer.json: ", e.what()));
  }
  return tokenizer;
}

void Tokenizer::encodeText(std::string_view text, bool at_start,
                           std::vector<TokenId>& out) const {
  std::string normalized(text);
  if (normalizer_) normalizer_->normalize(normalized);
  for (const Segment& segment : added_.split(normalized, /*normalized=*/true)) {
    if (segment.token >= 0) {
      out.push_back(segment.token);
      continue;
    }
    std::vector<Split> splits;
    splits.push_back({normalized.substr(segment.begin, segment.end - segment.begin),
                      at_start && segment.begin == 0});
    if (pre_tokenizer_) pre_tokenizer_->preTokenize(splits);
    for (const Split& split : splits) model_->tokenize(split.text, out);
  }
}

std::vector<TokenId> Tokenizer::encode(std::string_view input, bool add_special_tokens) const {
  const std::string text = toValidUtf8(input);
  std::vector<TokenId> ids;
  if (add_special_tokens) ids = prefix_ids_;
  for (const Segment& segment : added_.split(text, /*normalized=*/false)) {
    if (segment.token >= 0) {
      ids.push_back(segment.token);
    } else {
      encodeText(std::string_view(text).substr(segment.begin, segment.end - segment.begin),
                 segment.begin == 0, ids);
    }
  }
  if (add_special_tokens) ids.insert(ids.end(), suffix_ids_.begin(), suffix_ids_.end());
  return ids;
}

std::string Tokenizer::decode(absl::Span<const TokenId> ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (TokenId id : ids) {
    if (const AddedToken* added = added_.byId(id)) {
      if (!(skip_special_tokens && added->special)) tokens.push_back(added->content);
    } else if (const std::string* token = model_->idToToken(id)) {
      tokens.push_back(*token);
    }
  }
  if (!decoder_) {
    std::string joined;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0) joined += ' ';
      joined += tokens[i];
    }
    return toValidUtf8(joined);
  }
  decoder_->decodeChain(tokens);
  std::string joined;
  for (const std::string& token : tokens) joined += token;
  return toValidUtf8(joined);
}

std::optional<TokenId> Tokenizer::tokenToId(std::string_view token) const {
  if (const AddedToken* added = added_.byContent(token)) return added->id;
  return model_->tokenToId(token);
}

std::optional<std::string> Tokenizer::idToToken(TokenId id) const {
  if (const AddedToken* added = added_.byId(id)) return added->content;
  if (const std::string* token = model_->idToToken(id)) return *token;
  return std::nullopt;
}

bool Tokenizer::isSpecial(TokenId id) const {
  const AddedToken* added = added_.byId(id);
  return added != nullptr && added->special;
}

size_t Tokenizer::vocabSize() const {
  size_t size = model_->vocabSize();
  for (const AddedToken& token : added_.tokens()) {
    size = std::max(size, static_cast<size_t>(token.id) + 1);
  }
  return size;
}

}  // namespace mvc::text
