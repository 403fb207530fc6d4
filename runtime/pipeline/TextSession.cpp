//===- TextSession.cpp ----------------------------------------------------===//
#include "runtime/pipeline/TextSession.h"

#include "absl/strings/str_cat.h"
#include "runtime/util/StatusMacros.h"

namespace mvc {

namespace {

absl::Status prefixed(absl::string_view file, const absl::Status &status) {
  return absl::Status(status.code(), absl::StrCat(file, ": ", status.message()));
}

/// runtime/text takes std::string_view (not the same type as absl's in every abseil build).
std::string_view toStd(absl::string_view text) { return {text.data(), text.size()}; }

} // namespace

absl::StatusOr<TextSession> TextSession::create(const LanguageModelInfo &languageModel) {
  if (languageModel.tokenizerJson.empty())
    return absl::FailedPreconditionError(
        "this artifact has no tokenizer (compile a checkpoint directory with tokenizer.json)");
  return fromJson(languageModel.tokenizerJson, languageModel.tokenizerConfigJson);
}

absl::StatusOr<TextSession> TextSession::fromJson(absl::string_view tokenizerJson,
                                                  absl::string_view tokenizerConfigJson) {
  TextSession session;
  absl::StatusOr<std::unique_ptr<text::Tokenizer>> tokenizer =
      text::Tokenizer::fromJson(toStd(tokenizerJson));
  if (!tokenizer.ok())
    return prefixed("tokenizer.json", tokenizer.status());
  session.textTokenizer = std::move(*tokenizer);
  if (tokenizerConfigJson.empty())
    return session;
  // parseTokenizerConfig names the file in its errors.
  MVC_ASSIGN_OR_RETURN(text::TokenizerConfig config,
                       text::parseTokenizerConfig(toStd(tokenizerConfigJson)));
  session.hasConfig = true;
  session.specials = std::move(config.specials);
  if (!config.chat_template.empty()) {
    absl::StatusOr<text::ChatTemplate> chatTemplate =
        text::ChatTemplate::parse(config.chat_template);
    if (!chatTemplate.ok())
      return prefixed("tokenizer_config.json: chat_template", chatTemplate.status());
    session.chatTemplate = std::move(*chatTemplate);
  }
  return session;
}

absl::StatusOr<std::string> TextSession::renderChat(absl::string_view user,
                                                    absl::string_view system) const {
  if (!chatTemplate)
    return absl::FailedPreconditionError(
        hasConfig ? "the artifact's tokenizer_config.json has no chat_template"
                  : "the artifact has no tokenizer_config.json, so no chat template");
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  if (!system.empty())
    messages.push_back({{"role", "system"}, {"content", std::string(system)}});
  messages.push_back({{"role", "user"}, {"content", std::string(user)}});
  nlohmann::ordered_json input = {{"messages", std::move(messages)},
                                  {"add_generation_prompt", true}};
  absl::StatusOr<std::string> rendered = chatTemplate->apply(input, specials, text::localNow());
  if (!rendered.ok())
    return prefixed("chat template", rendered.status());
  return rendered;
}

absl::StatusOr<std::vector<int32_t>> TextSession::encodePrompt(absl::string_view text,
                                                               const PromptOptions &options) const {
  if (!options.vision) {
    if (options.numImages > 0)
      return absl::InvalidArgumentError("the model takes no images (it is a text-only model)");
    if (!options.chat)
      return textTokenizer->encode(toStd(text), /*add_special_tokens=*/true);
    MVC_ASSIGN_OR_RETURN(std::string rendered, renderChat(text, options.system));
    return textTokenizer->encode(rendered, /*add_special_tokens=*/false);
  }
  const LanguageModelInfo::Vision &vision = *options.vision;
  auto tokenText = [&](int32_t id, const char *what) -> absl::StatusOr<std::string> {
    std::optional<std::string> token = textTokenizer->idToToken(id);
    if (!token)
      return absl::FailedPreconditionError(absl::StrCat(
          "the tokenizer has no ", what, " token (id ", id, ") the model's images need"));
    return *token;
  };
  MVC_ASSIGN_OR_RETURN(std::string boi, tokenText(vision.boiTokenId, "begin-of-image"));
  MVC_ASSIGN_OR_RETURN(std::string eoi, tokenText(vision.eoiTokenId, "end-of-image"));
  MVC_ASSIGN_OR_RETURN(std::string image, tokenText(vision.imageTokenId, "image"));
  auto countMarkers = [&](absl::string_view s) {
    int64_t n = 0;
    for (size_t at = s.find(boi); at != absl::string_view::npos; at = s.find(boi, at + boi.size()))
      ++n;
    return n;
  };
  std::string prompt(toStd(text));
  if (options.chat) {
    std::string user = prompt;
    if (countMarkers(user) == 0)
      for (int64_t i = 0; i < options.numImages; ++i)
        user = boi + user;
    MVC_ASSIGN_OR_RETURN(prompt, renderChat(user, options.system));
  }
  int64_t markers = countMarkers(prompt);
  if (markers != options.numImages)
    return absl::InvalidArgumentError(absl::StrCat(
        "the prompt has ", markers, " image marker", markers == 1 ? "" : "s", " (", boi, ") but ",
        options.numImages, " image", options.numImages == 1 ? " was" : "s were", " given"));
  std::string span = "\n\n" + boi;
  for (int64_t i = 0; i < vision.tokensPerImage; ++i)
    span += image;
  span += eoi + "\n\n";
  std::string expanded;
  size_t from = 0, index = 0;
  for (size_t at = prompt.find(boi); at != std::string::npos; at = prompt.find(boi, from), ++index) {
    int64_t crops = index < options.numCrops.size() ? options.numCrops[index] : 0;
    std::string replacement = span;
    if (crops > 0) {
      replacement = "Here is the original image " + span +
                    " and here are some crops to help you see better ";
      for (int64_t c = 0; c < crops; ++c)
        replacement += (c ? " " : "") + span;
    }
    expanded += prompt.substr(from, at - from) + replacement;
    from = at + boi.size();
  }
  expanded += prompt.substr(from);
  return textTokenizer->encode(expanded, /*add_special_tokens=*/!options.chat);
}

std::string TextSession::decode(absl::Span<const int32_t> ids) const {
  return textTokenizer->decode(ids, /*skip_special_tokens=*/true);
}

} // namespace mvc
