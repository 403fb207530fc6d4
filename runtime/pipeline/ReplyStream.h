//===- ReplyStream.h - generated tokens into reasoning, content, tool calls -*- C++ -*-===//
//
// The tokens of one reply as they are generated, decoded with their special tokens (the
// markers of runtime/pipeline/ResponseParser.h are special tokens) and split by the
// model's response format: what mvc-run prints and mvc-serve returns as content,
// reasoning_content and tool_calls. MLIR-free.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_PIPELINE_REPLYSTREAM_H
#define MVC_RUNTIME_PIPELINE_REPLYSTREAM_H

#include <optional>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "runtime/pipeline/IncrementalDecoder.h"
#include "runtime/pipeline/ResponseParser.h"

namespace mvc {

/// The format a manifest's "response_format" names ("gemma4"); NotFound otherwise.
absl::StatusOr<ResponseFormat> responseFormatByName(absl::string_view name);

class ReplyStream {
public:
  /// `tokenizer` must outlive the stream.
  ReplyStream(const text::Tokenizer &tokenizer, ResponseFormat format)
      : decoder(tokenizer, /*skipSpecial=*/false), parser(std::move(format)) {}
  /// The next generated token; returns the events its text completes.
  std::vector<ResponseEvent> push(int32_t id) { return parser.feed(decoder.push(id)); }
  /// The reply is over: what was held back.
  std::vector<ResponseEvent> finish() {
    std::vector<ResponseEvent> events = parser.feed(decoder.finish());
    std::vector<ResponseEvent> last = parser.finish();
    events.insert(events.end(), std::make_move_iterator(last.begin()), std::make_move_iterator(last.end()));
    return events;
  }
  const ResponseParser &reply() const { return parser; }

private:
  IncrementalDecoder decoder;
  ResponseParser parser;
};

/// A tool call as one line of OpenAI's tool_calls list:
/// {"type": "function", "function": {"name": ..., "arguments": "<JSON text>"}}, plus "id"
/// when `id` is not empty.
std::string toolCallJson(const ToolCall &call, absl::string_view id = "");

/// A whole reply as OpenAI's chat API returns the message: role, content, and
/// reasoning_content and tool_calls when there are any (call k has id `idPrefix`k).
nlohmann::ordered_json assistantMessage(const ResponseParser &reply, absl::string_view idPrefix);

/// The fields `events` add to a streamed chat delta: content (always on the `first` delta,
/// as the role is), reasoning_content, tool_calls (each with its "index", counted in
/// `calls`, which it advances).
void addToDelta(const std::vector<ResponseEvent> &events, absl::string_view idPrefix, bool first,
                int64_t &calls, nlohmann::ordered_json &delta);

} // namespace mvc

#endif // MVC_RUNTIME_PIPELINE_REPLYSTREAM_H
