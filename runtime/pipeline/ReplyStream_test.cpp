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

// What mvc-serve returns for a reply with reasoning, content and two calls: whole, and as
// the deltas of a stream cut inside the second call (the calls keep their ids and indices).
TEST(ReplyStream, OpenAiMessageAndDeltas) {
  const std::string reply =
      "<|channel>thought\nThe user wants weather.<channel|>Checking."
      "<|tool_call>call:get_weather{city:<|\"|>Paris<|\"|>}<tool_call|>"
      "<|tool_call>call:get_time{zone:<|\"|>CET<|\"|>}<tool_call|>";
  ResponseParser whole(ResponseFormat::gemma4());
  whole.feed(reply);
  whole.finish();
  EXPECT_EQ(assistantMessage(whole, "call_7_0_").dump(),
            R"({"role":"assistant","content":"Checking.","reasoning_content":"The user wants weather.",)"
            R"("tool_calls":[{"id":"call_7_0_0","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}},)"
            R"({"id":"call_7_0_1","type":"function","function":{"name":"get_time","arguments":"{\"zone\": \"CET\"}"}}]})");
  ResponseParser streamed(ResponseFormat::gemma4());
  const size_t cut = reply.find("get_time") + 3;
  int64_t calls = 0;
  nlohmann::ordered_json first = nlohmann::ordered_json::object(), second = nlohmann::ordered_json::object();
  addToDelta(streamed.feed(reply.substr(0, cut)), "call_7_0_", true, calls, first);
  std::vector<ResponseEvent> rest = streamed.feed(reply.substr(cut));
  for (ResponseEvent &e : streamed.finish()) rest.push_back(std::move(e));
  addToDelta(rest, "call_7_0_", false, calls, second);
  EXPECT_EQ(first["content"], "Checking.");
  EXPECT_EQ(first["reasoning_content"], "The user wants weather.");
  ASSERT_EQ(first["tool_calls"].size(), 1u);
  EXPECT_EQ(first["tool_calls"][0]["index"], 0);
  EXPECT_FALSE(second.contains("content"));
  ASSERT_EQ(second["tool_calls"].size(), 1u);
  EXPECT_EQ(second["tool_calls"][0]["index"], 1);
  EXPECT_EQ(second["tool_calls"][0]["id"], "call_7_0_1");
  EXPECT_EQ(calls, 2);
}

} // namespace
} // namespace mvc
