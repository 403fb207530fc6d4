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
  if (!options.chat)
    return textTokenizer->encode(toStd(text), /*add_special_tokens=*/true);
  MVC_ASSIGN_OR_RETURN(std::string rendered, renderChat(text, options.system));
  return textTokenizer->encode(rendered, /*add_special_tokens=*/false);
}

std::string TextSession::decode(absl::Span<const int32_t> ids) const {
  return textTokenizer->decode(ids, /*skip_special_tokens=*/true);
}

} // namespace mvc
