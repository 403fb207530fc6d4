//===- ResponseParser.h - a model's reply into reasoning, content, tool calls -*- C++ -*-===//
//
// A streaming parser for chat replies that interleave reasoning, content and tool calls
// in a model's own markup, as transformers 5.23's ResponseParser reads them with the
// model's response template (transformers/cli/serving/utils.py). Gemma 4's format:
//   <|channel>thought\n ... <channel|>        reasoning
//   <|tool_call>call:NAME{...}<tool_call|>    a tool call; its arguments in Gemma's JSON
//                                            dialect: keys unquoted after { or , and
//                                            strings between <|"|> delimiters
//   <turn|>, <|tool_response>, <eos>         the end of the reply
//   anything else                            content
//
// Text arrives in pieces split anywhere (the decoded text of each token, special tokens
// kept); a marker split across pieces is held back until it resolves, so the events are
// the same however the text is cut. Each region is stripped as transformers strips it
// (leading whitespace dropped, trailing whitespace held until more text follows it).
// A tool call whose name or arguments do not parse, or that the reply cuts short, is
// content: its text goes out unchanged, never an error. Arguments become a JSON string
// the way transformers' server writes them (Python's json.dumps: ", " and ": ", non-ASCII
// as \u escapes).
//
// Where transformers differs, on purpose: it keeps only the last content region of a
// reply that has content before and after a tool call (a later region overwrites the
// earlier one); here the content regions are joined. It raises on a malformed call; here
// the call is content.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_PIPELINE_RESPONSEPARSER_H
#define MVC_RUNTIME_PIPELINE_RESPONSEPARSER_H

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mvc {

/// A family's reply markup.
struct ResponseFormat {
  std::string reasoningOpen, reasoningClose;
  std::string toolCallOpen, toolCallClose;  // the name (\w+) and {arguments} between
  std::string stringDelimiter;              // arguments' strings: DELIM text DELIM
  bool unquotedKeys = false;                // arguments' keys may be bare words
  std::vector<std::string> ends;            // the reply ends at any of these
  static ResponseFormat gemma4();
};

struct ToolCall {
  std::string name;
  std::string arguments;  // a JSON object, as text
};

struct ResponseEvent {
  enum class Kind { kContent, kReasoning, kToolCall };
  Kind kind;
  std::string text;  // content or reasoning: the delta
  ToolCall call;     // kToolCall
};

class ResponseParser {
public:
  explicit ResponseParser(ResponseFormat format);
  ResponseParser(const ResponseParser &) = delete;  // it points into its own format
  ResponseParser &operator=(const ResponseParser &) = delete;
  /// The next piece of the reply; returns what it completes.
  std::vector<ResponseEvent> feed(absl::string_view text);
  /// The reply is over (end of generation): flushes what was held.
  std::vector<ResponseEvent> finish();

  /// Everything so far: the content regions joined, the reasoning, the calls.
  const std::string &content() const { return contentText; }
  const std::string &reasoning() const { return reasoningText; }
  const std::vector<ToolCall> &toolCalls() const { return calls; }

private:
  enum class Mode { kContent, kReasoning, kToolCall, kEnded };
  void process(bool atEnd, std::vector<ResponseEvent> &events);
  void emitText(absl::string_view text, bool regionEnds, std::vector<ResponseEvent> &events);
  void closeToolCall(bool complete, std::vector<ResponseEvent> &events);

  ResponseFormat format;
  // What each mode watches for (pointers into `format`), set once.
  std::vector<const std::string *> contentMarkers, reasoningMarkers, toolCallMarkers;
  Mode mode = Mode::kContent;
  std::string buffer;     // unconsumed input
  std::string region;     // the tool call's text so far
  std::string pendingWs;  // the region's trailing whitespace, held
  bool regionStarted = false;  // a non-whitespace byte of the region went out
  std::string contentText, reasoningText;
  std::vector<ToolCall> calls;
};

/// Gemma's argument dialect to JSON text (json.dumps of what transformers parses):
/// `body` is "{...}" as the model wrote it. Errors: not an object after the transforms.
absl::StatusOr<std::string> toolArgumentsJson(absl::string_view body, const ResponseFormat &format);

} // namespace mvc

#endif // MVC_RUNTIME_PIPELINE_RESPONSEPARSER_H
