// ReplyStream: Gemma 4 replies (tests/fixtures/gemma4_responses) encoded with a real
// tokenizer and streamed back token by token, special tokens kept, split the same way as
// the whole text: whatever token boundaries the reply has, the same reasoning, content
// and tool calls come out. And the tool-call JSON mvc-run and mvc-serve print.
#include "runtime/pipeline/ReplyStream.h"

#include <fstream>
#include <sstream>

#include "nlohmann/json.hpp"
#include "runtime/text/TestFixtures.h"
#include "gtest/gtest.h"

namespace mvc {
namespace {

TEST(ReplyStream, TokenByTokenAsTheWholeReply) {
  std::optional<std::string> json = text::testing::readFixture("gemma3/tokenizer.json");
  if (!json)
    GTEST_SKIP() << "*** FIXTURES MISSING: gemma3 tokenizer not in " << text::testing::fixtureSearchPath()
                 << "; this test did NOT run ***";
  auto tokenizer = text::Tokenizer::fromJson(*json);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  std::ifstream in(std::string(MVC_GEMMA4_RESPONSES) + "/responses.json");
  std::stringstream file;
  file << in.rdbuf();
  const nlohmann::json transcripts = nlohmann::json::parse(file.str())["transcripts"];
  int streamed = 0;
  for (const nlohmann::json &t : transcripts) {
    const std::string text = t["text"];
    SCOPED_TRACE(t["name"].get<std::string>());
    absl::StatusOr<std::vector<int32_t>> ids = (*tokenizer)->encode(text, /*add_special_tokens=*/false);
    ASSERT_TRUE(ids.ok()) << ids.status();
    // Gemma 3's vocabulary spells Gemma 4's markers with several tokens: boundaries inside
    // them, as a real Gemma 4 stream has inside content and arguments.
    ASSERT_EQ((*tokenizer)->decode(*ids, /*skip_special_tokens=*/false), text);
    ResponseParser whole(ResponseFormat::gemma4());
    whole.feed(text);
    whole.finish();
    ReplyStream stream(**tokenizer, ResponseFormat::gemma4());
    std::string content, reasoning;
    std::vector<ToolCall> calls;
    auto take = [&](const std::vector<ResponseEvent> &events) {
      for (const ResponseEvent &e : events) {
        if (e.kind == ResponseEvent::Kind::kContent) content += e.text;
        if (e.kind == ResponseEvent::Kind::kReasoning) reasoning += e.text;
        if (e.kind == ResponseEvent::Kind::kToolCall) calls.push_back(e.call);
      }
    };
    for (int32_t id : *ids) take(stream.push(id));
    take(stream.finish());
    EXPECT_EQ(content, whole.content());
    EXPECT_EQ(reasoning, whole.reasoning());
    ASSERT_EQ(calls.size(), whole.toolCalls().size());
    for (size_t i = 0; i < calls.size(); ++i) {
      EXPECT_EQ(calls[i].name, whole.toolCalls()[i].name);
      EXPECT_EQ(calls[i].arguments, whole.toolCalls()[i].arguments);
    }
    ++streamed;
  }
  EXPECT_EQ(streamed, 16);
}

TEST(ReplyStream, ToolCallJson) {
  ToolCall call{"get_weather", R"({"city": "Z\u00fcrich", "days": 3})"};
  EXPECT_EQ(toolCallJson(call),
            R"({"type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Z\\u00fcrich\", \"days\": 3}"}})");
  EXPECT_EQ(toolCallJson(call, "call_0").substr(0, 15), R"({"id":"call_0",)");
  EXPECT_FALSE(responseFormatByName("qwen3").ok());
  EXPECT_TRUE(responseFormatByName("gemma4").ok());
}

} // namespace
} // namespace mvc
