//===- ResponseParser_test.cpp - Gemma 4 replies vs transformers' parser --===//
//
// tests/fixtures/gemma4_responses/responses.json (gen_gemma4_responses.py): replies in Gemma
// 4's markup and what transformers 5.23's ResponseParser makes of them. Each reply is fed
// whole, in two pieces cut at every byte, and byte by byte; the result must not depend on
// the cut, and must be transformers' except where mvc differs on purpose (ResponseParser.h).
//
//===----------------------------------------------------------------------===//
#include "runtime/pipeline/ResponseParser.h"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "nlohmann/json.hpp"

namespace mvc {
namespace {

struct Parsed {
  std::string content, reasoning;
  std::vector<std::pair<std::string, std::string>> calls;
  bool operator==(const Parsed &o) const {
    return content == o.content && reasoning == o.reasoning && calls == o.calls;
  }
};

std::ostream &operator<<(std::ostream &os, const Parsed &p) {
  os << "{content: \"" << p.content << "\", reasoning: \"" << p.reasoning << "\", calls:";
  for (const auto &[name, args] : p.calls) os << " " << name << args;
  return os << "}";
}

/// Feeds `pieces`; the deltas and calls the events carry must add up to the totals.
Parsed parse(const std::vector<std::string> &pieces) {
  ResponseParser parser(ResponseFormat::gemma4());
  Parsed fromEvents;
  auto take = [&](const std::vector<ResponseEvent> &events) {
    for (const ResponseEvent &e : events) {
      if (e.kind == ResponseEvent::Kind::kContent) fromEvents.content += e.text;
      if (e.kind == ResponseEvent::Kind::kReasoning) fromEvents.reasoning += e.text;
      if (e.kind == ResponseEvent::Kind::kToolCall)
        fromEvents.calls.push_back({e.call.name, e.call.arguments});
    }
  };
  for (const std::string &piece : pieces) take(parser.feed(piece));
  take(parser.finish());
  Parsed totals{parser.content(), parser.reasoning(), {}};
  for (const ToolCall &c : parser.toolCalls()) totals.calls.push_back({c.name, c.arguments});
  EXPECT_EQ(fromEvents, totals);
  return totals;
}

nlohmann::json transcripts() {
  std::ifstream in(std::string(MVC_GEMMA4_RESPONSES) + "/responses.json");
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str())["transcripts"];
}

TEST(ResponseParser, Gemma4RepliesAsTransformersParsesThem) {
  const nlohmann::json all = transcripts();
  ASSERT_EQ(all.size(), 16u);
  int same = 0;
  for (const nlohmann::json &t : all) {
    const std::string name = t["name"], text = t["text"];
    SCOPED_TRACE(name);
    Parsed want;
    if (t.contains("transformers") && name != "stops_at_turn_end") {
      const nlohmann::json &m = t["transformers"];
      want.content = m["content"].get<std::string>();
      if (m["reasoning_content"].is_string()) want.reasoning = m["reasoning_content"];
      for (const auto &c : m["tool_calls"]) want.calls.push_back({c["name"], c["arguments"]});
      ++same;
    } else if (name == "stops_at_turn_end") {
      // transformers lets the text after <turn|> overwrite the content; the reply ends there.
      want.content = "Done.";
    } else if (name == "truncated_reasoning") {
      want.reasoning = "Still thinking about";
    } else {
      // transformers raises on these; here the model's text is content, unchanged.
      ASSERT_TRUE(t.contains("transformers_error"));
      want.content = text;
    }
    const Parsed whole = parse({text});
    EXPECT_EQ(whole, want);
    for (size_t cut = 1; cut < text.size(); ++cut)
      ASSERT_EQ(parse({text.substr(0, cut), text.substr(cut)}), want) << "cut at " << cut;
    std::vector<std::string> bytes;
    for (char c : text) bytes.emplace_back(1, c);
    EXPECT_EQ(parse(bytes), want) << "byte by byte";
  }
  EXPECT_EQ(same, 12);
}

TEST(ResponseParser, StreamsContentAsItComes) {
  ResponseParser parser(ResponseFormat::gemma4());
  // Plain text goes out at once; a possible marker start waits; trailing spaces wait.
  std::vector<ResponseEvent> e = parser.feed("Hello <|cha");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].text, "Hello");
  e = parser.feed("t|> world");  // not a marker after all
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].text, " <|chat|> world");
  e = parser.feed("<|tool_call>call:f{a:1}");
  EXPECT_TRUE(e.empty());
  e = parser.feed("<tool_call|>");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].kind, ResponseEvent::Kind::kToolCall);
  EXPECT_EQ(e[0].call.arguments, "{\"a\": 1}");
}

TEST(ResponseParser, ArgumentsDialect) {
  const ResponseFormat f = ResponseFormat::gemma4();
  EXPECT_EQ(*toolArgumentsJson("{a:<|\"|>x<|\"|>,b:[1,2.5e-07],c:{d:false}}", f),
            "{\"a\": \"x\", \"b\": [1, 2.5e-07], \"c\": {\"d\": false}}");
  EXPECT_FALSE(toolArgumentsJson("{a:1", f).ok());
  EXPECT_FALSE(toolArgumentsJson("[1]", f).ok());  // arguments are an object
  EXPECT_FALSE(toolArgumentsJson("{a:\x01}", f).ok());
  EXPECT_FALSE(toolArgumentsJson("{ a:1}", f).ok());  // transformers quotes keys only right after { or ,
}

} // namespace
} // namespace mvc
