//===- TextSession.cpp ----------------------------------------------------===//
#include "runtime/pipeline/TextSession.h"

#include "absl/strings/match.h"
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
  session.pieces = std::make_unique<TokenPieces>(*session.textTokenizer);
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
    session.templateTakesParts = absl::StrContains(config.chat_template, "type");
  }
  return session;
}

absl::StatusOr<std::string> TextSession::renderConversation(const Conversation &conversation) const {
  if (!chatTemplate)
    return absl::FailedPreconditionError(
        hasConfig ? "the artifact's tokenizer_config.json has no chat_template"
                  : "the artifact has no tokenizer_config.json, so no chat template");
  nlohmann::ordered_json messages = conversation.messages;
  if (!templateTakesParts)
    for (size_t i = 0; i < messages.size(); ++i) {
      nlohmann::ordered_json &content = messages[i]["content"];
      if (!content.is_array())
        continue;
      std::string text;
      for (size_t j = 0; j < content.size(); ++j) {
        if (content[j]["type"] != "text")
          return absl::InvalidArgumentError(absl::StrCat(
              "messages[", i, "].content[", j, "]: the chat template prints string content "
              "only, so an ", content[j]["type"].get<std::string>(), " part has no place in it"));
        absl::StrAppend(&text, j ? "\n" : "", content[j]["text"].get<std::string>());
      }
      content = text;
    }
  nlohmann::ordered_json input = {{"messages", std::move(messages)},
                                  {"add_generation_prompt", true}};
  if (!conversation.tools.is_null())
    input["tools"] = conversation.tools;
  for (const auto &[key, value] : conversation.templateKwargs.items()) input[key] = value;
  absl::StatusOr<std::string> rendered = chatTemplate->apply(input, specials, text::localNow());
  if (!rendered.ok())
    return prefixed("chat template", rendered.status());
  return rendered;
}

absl::StatusOr<std::string> TextSession::renderChat(absl::string_view user,
                                                    absl::string_view system) const {
  return renderConversation(oneTurnConversation(user, system, 0));
}

absl::StatusOr<std::vector<int32_t>>
TextSession::encodeConversation(const Conversation &conversation,
                                absl::Span<const PreparedImage> images,
                                const RunHalf *runHalf) const {
  MVC_ASSIGN_OR_RETURN(std::string rendered, renderConversation(conversation));
  bool takesImages = runHalf && runHalf->takesImages();
  if (!images.empty() && !takesImages)
    return absl::InvalidArgumentError("the model takes no images (it is a text-only model)");
  // A model that takes images expands (and counts) its markers even when none were given.
  if (takesImages) {
    MVC_ASSIGN_OR_RETURN(rendered, runHalf->expandImages(rendered, images, *textTokenizer));
  }
  return textTokenizer->encode(rendered, /*add_special_tokens=*/false);
}

absl::StatusOr<std::vector<int32_t>> TextSession::encodePrompt(absl::string_view text,
                                                               const PromptOptions &options) const {
  bool images = !options.images.empty();
  if (images && (!options.runHalf || !options.runHalf->takesImages()))
    return absl::InvalidArgumentError("the model takes no images (it is a text-only model)");
  if (options.chat) {
    // Images and videos without a marker in the text go first, as image (then video)
    // parts of the user message.
    auto marker = [&](std::string m) { return !m.empty() && absl::StrContains(text, m); };
    bool marked = images && (marker(options.runHalf->imageMarker(*textTokenizer)) ||
                             marker(options.runHalf->videoMarker(*textTokenizer)));
    int64_t numVideos = 0;
    for (const PreparedImage &item : options.images) numVideos += item.video ? 1 : 0;
    int64_t numImages = static_cast<int64_t>(options.images.size()) - numVideos;
    Conversation conversation = oneTurnConversation(
        text, options.system, marked ? 0 : numImages,
        /*contentParts=*/options.runHalf && options.runHalf->takesImages(), marked ? 0 : numVideos);
    conversation.tools = options.tools;
    conversation.templateKwargs = options.templateKwargs;
    return encodeConversation(conversation, options.images, options.runHalf);
  }
  std::string prompt(toStd(text));
  if (options.runHalf && options.runHalf->takesImages()) {
    MVC_ASSIGN_OR_RETURN(prompt, options.runHalf->expandImages(prompt, options.images, *textTokenizer));
  }
  return textTokenizer->encode(prompt, /*add_special_tokens=*/true);
}

std::string TextSession::decode(absl::Span<const int32_t> ids) const {
  return textTokenizer->decode(ids, /*skip_special_tokens=*/true);
}

std::string TextSession::tokenText(int32_t id) const {
  return pieces->piece(id, /*skipSpecial=*/false);
}

} // namespace mvc
