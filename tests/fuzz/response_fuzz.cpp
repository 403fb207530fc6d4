// libFuzzer target: arbitrary text as a model's reply through the Gemma 4 response parser
// (runtime/pipeline/ResponseParser: reasoning, content, tool calls and their argument
// dialect). Besides not crashing, the result must not depend on where the text is cut:
// the reply is parsed whole and in pieces of a length the first byte picks, and both must
// agree.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "runtime/pipeline/ResponseParser.h"

namespace {

struct Result {
  std::string content, reasoning, calls;
};

Result parse(const std::string &text, size_t piece) {
  mvc::ResponseParser parser(mvc::ResponseFormat::gemma4());
  for (size_t at = 0; at < text.size(); at += piece) (void)parser.feed(text.substr(at, piece));
  (void)parser.finish();
  Result r{parser.content(), parser.reasoning(), ""};
  for (const mvc::ToolCall &c : parser.toolCalls()) r.calls += c.name + "\n" + c.arguments + "\n";
  return r;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  const size_t piece = 1 + data[0] % 16;
  const std::string text(reinterpret_cast<const char *>(data) + 1, size - 1);
  Result whole = parse(text, text.size() + 1), cut = parse(text, piece);
  if (whole.content != cut.content || whole.reasoning != cut.reasoning || whole.calls != cut.calls)
    std::abort();
  return 0;
}
