//===- Conversation.h - OpenAI-style messages as data ---------------------===//
//
// A conversation as users of OpenAI-compatible APIs write it, parsed once for mvc-run
// (--messages FILE) and mvc-serve:
//
//   [{"role": "system", "content": "Be brief."},
//    {"role": "user", "content": [
//       {"type": "text", "text": "What is in these?"},
//       {"type": "image", "image": "cat.jpg"},
//       {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR..."}},
//       {"type": "video", "video": "clip.mp4"}]}]
//
// or {"messages": [...], "tools": [...]}. Roles: system, developer, user, assistant, tool;
// content: a string, null, or a list of parts. Image parts name a file ("image", "url" or
// "path" key, as transformers' processors accept), a file:// URL, or carry a base64 data:
// URL; remote URLs are refused (nothing is fetched). For the chat template each part
// becomes what transformers' apply_chat_template passes it: {"type": "text", "text": ...},
// {"type": "image"}, {"type": "video"}, in order; the media go to the caller in the same
// order. Other message keys (tool_calls, name, tool_call_id, reasoning_content) pass
// through untouched. Errors name the message and part: "messages[1].content[2]: ...".
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_PIPELINE_CONVERSATION_H
#define MVC_RUNTIME_PIPELINE_CONVERSATION_H

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace mvc {

struct ConversationMedia {
  enum class Kind { Image, Video };
  Kind kind = Kind::Image;
  std::string path;  // a local file; empty when the data came inline
  std::string bytes; // the decoded contents of a data: URL
  std::string where; // "messages[1].content[0]", for errors
};

struct Conversation {
  nlohmann::ordered_json messages = nlohmann::ordered_json::array(); // for the template
  nlohmann::ordered_json tools;                                      // null or an array
  /// Extra variables for the chat template (e.g. Gemma 4's enable_thinking): the file's
  /// "chat_template_kwargs" object, as OpenAI-compatible servers take it.
  nlohmann::ordered_json templateKwargs = nlohmann::ordered_json::object();
  std::vector<ConversationMedia> media;                              // in order
};

/// Deepest JSON nesting a conversation may have (objects and arrays).
constexpr int kMaxConversationDepth = 64;

/// Checks tool definitions as OpenAI's API takes them: an array of {"type": "function",
/// "function": {"name": NAME, "description"?: TEXT, "parameters"?: SCHEMA}} where NAME is
/// 1-64 letters, digits, '_' or '-' and SCHEMA a JSON schema object whose "type" is
/// "object" and whose "properties", when given, is an object of schema objects. Errors
/// name `where` and the offending entry ("tools[1].function.name: ...").
absl::Status validateTools(const nlohmann::ordered_json &tools, absl::string_view where);

/// Parses `json`; `name` (a file name) starts every error.
absl::StatusOr<Conversation> parseConversation(absl::string_view json, absl::string_view name);

/// The one-turn conversation of mvc-run -p: a system message when `system` is not empty,
/// then the user's: the text alone, or `numImages` image parts, `numVideos` video parts and
/// then the text. With
/// `contentParts` (a model that takes images: the processors' chat templates read only a
/// list of parts) every content is a list of parts, the text a text part.
Conversation oneTurnConversation(absl::string_view user, absl::string_view system,
                                 int64_t numImages, bool contentParts = false,
                                 int64_t numVideos = 0);

} // namespace mvc

#endif // MVC_RUNTIME_PIPELINE_CONVERSATION_H
