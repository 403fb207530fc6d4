//===- TextSession.h - text prompts: the artifact's tokenizer and chat template ===//
//
// The text side of a language-model artifact (FORMAT.md, language_model.text): its HF
// tokenizer, and the chat template and special tokens of its tokenizer_config.json. Prompts
// are encoded the way transformers does:
//   plain  tokenizer(text): the tokenizer's post-processor adds its special tokens (BOS);
//   chat   apply_chat_template(messages, add_generation_prompt=True, tokenize=True): the
//          template writes the special tokens itself (BOS included), so the rendered text is
//          encoded without the post-processor's.
// Images: the architecture's run half expands each image marker into the image's tokens
// (what the HF processor does to the text) before encoding.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_PIPELINE_TEXTSESSION_H
#define MVC_RUNTIME_PIPELINE_TEXTSESSION_H

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "mvc/Runtime.h"
#include "nlohmann/json.hpp"
#include "runtime/pipeline/Conversation.h"
#include "runtime/pipeline/RunHalf.h"
#include "runtime/pipeline/TokenPiece.h"
#include "runtime/text/ChatTemplate.h"
#include "runtime/text/Tokenizer.h"

namespace mvc {

struct PromptOptions {
  /// Render the text as one user message through the chat template, followed by the
  /// generation prompt (the start of the model's turn).
  bool chat = false;
  /// With `chat`: a system message before the user's; none when empty.
  std::string system;
  /// Images of the prompt, prepared by `runHalf` (which must be set when there are any).
  /// Each image marker in the text (runHalf->imageMarker()) is where the next image goes;
  /// with `chat` and no marker, the images come first in the user message, as image parts
  /// (the template places them). The run half expands each marker into the image's tokens.
  absl::Span<const PreparedImage> images;
  const RunHalf *runHalf = nullptr;
  /// With `chat`: tool definitions (null or an array, validateTools) and extra template
  /// variables (e.g. {"enable_thinking": true}).
  nlohmann::ordered_json tools;
  nlohmann::ordered_json templateKwargs = nlohmann::ordered_json::object();
};

class TextSession {
public:
  /// Loads the tokenizer files of `languageModel`. FailedPrecondition when the artifact has
  /// no tokenizer; a file that does not load is an error naming it.
  static absl::StatusOr<TextSession> create(const LanguageModelInfo &languageModel);
  /// From the contents of tokenizer.json and tokenizer_config.json (empty: none).
  static absl::StatusOr<TextSession> fromJson(absl::string_view tokenizerJson,
                                              absl::string_view tokenizerConfigJson);

  /// The token ids of a prompt; with options.chat, FailedPrecondition when there is no chat
  /// template.
  absl::StatusOr<std::vector<int32_t>> encodePrompt(absl::string_view text,
                                                    const PromptOptions &options = {}) const;
  /// A conversation's token ids: the chat template applied with add_generation_prompt,
  /// image parts expanded by `runHalf` (`images` in the order of the conversation's media).
  absl::StatusOr<std::vector<int32_t>> encodeConversation(const Conversation &conversation,
                                                          absl::Span<const PreparedImage> images,
                                                          const RunHalf *runHalf) const;
  /// The chat template applied to a conversation with add_generation_prompt. A template
  /// that only prints string content gets each message's text parts joined by "\n"; image
  /// or video parts then have nowhere to go and are an error.
  absl::StatusOr<std::string> renderConversation(const Conversation &conversation) const;
  /// The chat template applied to [system,] user messages with add_generation_prompt.
  absl::StatusOr<std::string> renderChat(absl::string_view user, absl::string_view system) const;
  /// Text for display: special tokens (BOS, end of turn, ...) are left out.
  std::string decode(absl::Span<const int32_t> ids) const;
  /// The text one token adds mid-text (runtime/pipeline/TokenPiece.h), special tokens
  /// included (e.g. for log probabilities; part of a character decodes to U+FFFD).
  std::string tokenText(int32_t id) const;
  const text::Tokenizer &tokenizer() const { return *textTokenizer; }
  /// Whether the chat template reads content as a list of parts (the processors' templates
  /// of multimodal models); string content then renders as transformers renders it (often
  /// not at all), so an OpenAI-style server turns it into a text part first.
  bool templateReadsParts() const { return templateTakesParts; }

private:
  TextSession() = default;
  std::unique_ptr<text::Tokenizer> textTokenizer;
  /// Over *textTokenizer (whose address survives moves of the session): its context token
  /// found once, not per tokenText() call (the serving loop calls it per token).
  std::unique_ptr<TokenPieces> pieces;
  bool hasConfig = false;
  std::optional<text::ChatTemplate> chatTemplate;
  /// Whether the template reads content parts (it looks at a part's "type"); one that does
  /// not gets a message's text parts joined into a string, as OpenAI-compatible servers do.
  bool templateTakesParts = false;
  nlohmann::ordered_json specials; // bos_token, eos_token, ... as the template sees them
};

} // namespace mvc

#endif // MVC_RUNTIME_PIPELINE_TEXTSESSION_H
