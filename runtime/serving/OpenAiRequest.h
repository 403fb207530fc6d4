//===- OpenAiRequest.h - OpenAI-compatible request bodies as data ---------===//
//
// The JSON bodies of POST /v1/chat/completions and /v1/completions, parsed and checked
// before anything runs (the HTTP layer maps a parse error to a 400 in OpenAI's error
// shape; `param` names the offending field). Unknown fields are ignored, as OpenAI does;
// fields mvc does not implement yet (presence/frequency penalties other than 0, tools,
// schema keywords JsonSchema.h lists) are refused by name rather than silently ignored.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_SERVING_OPENAIREQUEST_H
#define MVC_RUNTIME_SERVING_OPENAIREQUEST_H

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/pipeline/Conversation.h"
#include "runtime/pipeline/JsonSchema.h"
#include "runtime/pipeline/Sampler.h"

namespace mvc::serving {

/// A request that cannot run as given: the HTTP status, OpenAI's error "type" and
/// "param" (empty: none) and a message that names the field.
struct ApiError {
  int status = 400;
  std::string type = "invalid_request_error";
  std::string param;
  std::string message;
};

/// What the sampling fields of either endpoint ask for.
struct GenerationParams {
  std::optional<int64_t> maxTokens; // max_tokens / max_completion_tokens; none: to the context
  SamplingOptions sampling;         // temperature 0 turns top_k/top_p/min_p off (greedy)
  bool seeded = false;              // seed given (else the server picks one)
  std::vector<std::string> stop;    // at most 4, none empty
  int64_t n = 1;                    // choices, 1..16
  bool stream = false;
  bool includeUsage = false; // stream_options.include_usage
  /// Log probabilities of the new tokens: -1 none; k >= 0 each token's and its k most
  /// likely alternatives' (chat: logprobs + top_logprobs; completions: logprobs = k).
  int64_t logprobs = -1;
  /// Also the prompt tokens' (completions with echo and logprobs): each prompt token after
  /// the first, as the model predicted it from the ones before.
  bool promptLogprobs = false;
  /// response_format json_object (the schema "any object") or json_schema: the output is
  /// one JSON value the schema accepts. Null: free text.
  std::shared_ptr<const JsonSchema> jsonSchema;
  /// Decode special tokens into the text too (the server sets it for a model whose reply
  /// format splits its text by special-token markers: Gemma 4's reasoning and tool calls).
  bool keepSpecialTokens = false;
};

/// Most alternatives per token a request may ask for (as vLLM's default).
constexpr int64_t kMaxLogprobs = 20;

struct ChatRequest {
  std::string model;
  Conversation conversation;
  GenerationParams params;
};

struct CompletionRequest {
  std::string model;
  std::optional<std::string> text;   // prompt as a string
  std::vector<int32_t> ids;          // prompt as token ids (when text is empty)
  bool echo = false;
  GenerationParams params;
};

/// A parse result: the request, or the error to send.
template <typename T> struct Parsed {
  std::optional<T> request;
  ApiError error;
  bool ok() const { return request.has_value(); }
};

Parsed<ChatRequest> parseChatRequest(absl::string_view body);
Parsed<CompletionRequest> parseCompletionRequest(absl::string_view body);

} // namespace mvc::serving

#endif // MVC_RUNTIME_SERVING_OPENAIREQUEST_H
