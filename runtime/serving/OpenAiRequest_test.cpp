// OpenAI-compatible request bodies: what a client sends becomes GenerationParams; every bad
// field is a 400 naming it; unknown fields are ignored; unimplemented ones are refused.
#include "runtime/serving/OpenAiRequest.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mvc::serving {
namespace {

using ::testing::HasSubstr;

TEST(OpenAiRequest, ChatFieldsBecomeParams) {
  Parsed<ChatRequest> parsed = parseChatRequest(R"({
    "model": "tiny", "messages": [{"role": "user", "content": "Hi"}],
    "max_completion_tokens": 7, "max_tokens": 9, "temperature": 0.5, "top_p": 0.9, "top_k": 40,
    "min_p": 0.05, "seed": 3, "n": 2, "stop": "END", "stream": true,
    "stream_options": {"include_usage": true}, "user": "ignored", "logprobs": false,
    "response_format": {"type": "text"}, "frequency_penalty": 0})");
  ASSERT_TRUE(parsed.ok()) << parsed.error.message;
  const GenerationParams &p = parsed.request->params;
  EXPECT_EQ(parsed.request->model, "tiny");
  EXPECT_EQ(p.maxTokens, 7); // max_completion_tokens wins
  EXPECT_EQ(p.sampling.temperature, 0.5);
  EXPECT_EQ(p.sampling.topP, 0.9);
  EXPECT_EQ(p.sampling.topK, 40);
  EXPECT_EQ(p.sampling.minP, 0.05);
  EXPECT_TRUE(p.seeded);
  EXPECT_EQ(p.sampling.seed, 3u);
  EXPECT_EQ(p.n, 2);
  EXPECT_EQ(p.stop, std::vector<std::string>{"END"});
  EXPECT_TRUE(p.stream);
  EXPECT_TRUE(p.includeUsage);
  EXPECT_EQ(parsed.request->conversation.messages.size(), 1u);
  EXPECT_EQ(p.logprobs, -1); // "logprobs": false
  EXPECT_FALSE(p.jsonSchema);
  EXPECT_EQ(parseChatRequest(R"({"messages": [{"role": "user", "content": "x"}],
                                 "response_format": {"type": "json_object"}})")
                .request->params.jsonSchema,
            JsonSchema::anyObject());
  EXPECT_TRUE(parseChatRequest(R"({"messages": [{"role": "user", "content": "x"}],
      "response_format": {"type": "json_schema", "json_schema": {"name": "p", "strict": true,
        "schema": {"type": "object", "properties": {"a": {"type": "integer"}}}}}})")
                  .request->params.jsonSchema);
}

TEST(OpenAiRequest, Logprobs) {
  auto chat = [](const char *fields) {
    return parseChatRequest(std::string(R"({"messages": [{"role": "user", "content": "x"}])") +
                            fields + "}");
  };
  EXPECT_EQ(chat("").request->params.logprobs, -1);
  EXPECT_EQ(chat(R"(, "logprobs": true)").request->params.logprobs, 0);
  EXPECT_EQ(chat(R"(, "logprobs": true, "top_logprobs": 5)").request->params.logprobs, 5);
  EXPECT_EQ(chat(R"(, "logprobs": false, "top_logprobs": null)").request->params.logprobs, -1);
  // Completions: logprobs is the number of alternatives.
  EXPECT_EQ(parseCompletionRequest(R"({"prompt": "x", "logprobs": 3})").request->params.logprobs, 3);
  EXPECT_EQ(parseCompletionRequest(R"({"prompt": "x", "logprobs": 0})").request->params.logprobs, 0);
  EXPECT_EQ(parseCompletionRequest(R"({"prompt": "x"})").request->params.logprobs, -1);
  EXPECT_TRUE(parseCompletionRequest(R"({"prompt": "x", "logprobs": 2, "echo": true})")
                  .request->params.promptLogprobs);
  EXPECT_FALSE(parseCompletionRequest(R"({"prompt": "x", "echo": true})").request->params.promptLogprobs);
  for (const char *bad : {R"({"prompt": "x", "logprobs": true})", R"({"prompt": "x", "logprobs": 21})",
                          R"({"prompt": "x", "logprobs": -1})"}) {
    SCOPED_TRACE(bad);
    Parsed<CompletionRequest> parsed = parseCompletionRequest(bad);
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.error.param, "logprobs");
  }
}

TEST(OpenAiRequest, TemperatureZeroIsGreedy) {
  Parsed<ChatRequest> parsed = parseChatRequest(
      R"({"messages": [{"role": "user", "content": "Hi"}], "temperature": 0, "top_p": 0.5, "top_k": 3})");
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed.request->params.sampling.greedy());
  EXPECT_TRUE(parsed.request->params.sampling.validate().ok());
  EXPECT_FALSE(parsed.request->params.maxTokens);
}

TEST(OpenAiRequest, BadFieldsAre400sNamingTheField) {
  struct Case {
    const char *body, *param, *what;
  };
  for (Case c : {
           Case{R"({"messages": [{"role": "user", "content": "x"}], "temperature": "hot"})",
                "temperature", "expected a number in [0, 2]"},
           Case{R"({"messages": [{"role": "user", "content": "x"}], "temperature": 3})",
                "temperature", "expected a number"},
           Case{R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": 0})",
                "max_tokens", "expected an integer in [1,"},
           Case{R"({"messages": [{"role": "user", "content": "x"}], "n": 17})", "n",
                "expected an integer in [1, 16]"},
           Case{R"({"messages": [{"role": "user", "content": "x"}], "top_p": 0})", "top_p",
                "greater than 0"},
           Case{R"({"messages": [{"role": "user", "content": "x"}], "stop": ["a","b","c","d","e"]})",
                "stop", "at most 4"},
           Case{R"({"messages": [{"role": "user", "content": "x"}], "stop": [""]})", "stop",
                "non-empty"},
           Case{R"({"messages": [{"role": "user", "content": "x"}], "stream": "yes"})", "stream",
                "true or false"},
           Case{R"({"messages": [{"role": "user", "content": "x"}], "logprobs": 1})",
                "logprobs", "true or false"},
           Case{R"({"messages": [{"role": "user", "content": "x"}], "top_logprobs": 2})",
                "top_logprobs", "needs \"logprobs\": true"},
           Case{R"({"messages": [{"role": "user", "content": "x"}], "logprobs": true, "top_logprobs": 21})",
                "top_logprobs", "expected an integer in [0, 20]"},
           Case{R"({"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_schema"}})",
                "response_format.json_schema", "expected an object"},
           Case{R"({"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_schema", "json_schema": {"name": "x"}}})",
                "response_format.json_schema.schema", "a schema is required"},
           Case{R"({"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "string", "pattern": "a+"}}}})",
                "response_format.json_schema.schema", "schema.pattern: this keyword is not supported"},
           Case{R"({"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "xml"}})",
                "response_format", "is not supported"},
           Case{R"({"messages": [{"role": "user", "content": "x"}], "presence_penalty": 1})",
                "presence_penalty", "not supported yet"},
           Case{R"({"messages": [{"role": "user", "content": "x"}], "seed": 1.5})", "seed",
                "expected an integer"},
           Case{R"({"messages": [{"role": "user", "content": "x"}], "model": 3})", "model",
                "expected a string"},
           Case{R"({"messages": []})", "messages", "non-empty array"},
           Case{R"({"messages": [{"role": "robot", "content": "x"}]})", "messages", "role"},
           Case{R"({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://x/y.png"}}]}]})",
                "messages", "messages[0].content[0]"},
           Case{R"({"model": "x"})", "messages", "messages"},
           Case{R"([1, 2])", "", "expected a JSON object"},
           Case{R"({"messages": [)", "", "not valid JSON"},
       }) {
    SCOPED_TRACE(c.body);
    Parsed<ChatRequest> parsed = parseChatRequest(c.body);
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.error.status, 400);
    EXPECT_EQ(parsed.error.param, c.param);
    EXPECT_THAT(parsed.error.message, HasSubstr(c.what));
  }
}

TEST(OpenAiRequest, DeepNestingIsRefusedNotRecursedInto) {
  std::string body = R"({"messages": [{"role": "user", "content": "x"}], "extra": )" +
                     std::string(100000, '[') + std::string(100000, ']') + "}";
  Parsed<ChatRequest> parsed = parseChatRequest(body);
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.error.message, HasSubstr("nested deeper than"));
}

TEST(OpenAiRequest, CompletionPrompts) {
  Parsed<CompletionRequest> text = parseCompletionRequest(R"({"prompt": "Hello", "echo": true})");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text.request->text, "Hello");
  EXPECT_TRUE(text.request->echo);
  Parsed<CompletionRequest> ids = parseCompletionRequest(R"({"prompt": [1, 2, 3]})");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids.request->ids, (std::vector<int32_t>{1, 2, 3}));
  Parsed<CompletionRequest> one = parseCompletionRequest(R"({"prompt": ["Hi"]})");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one.request->text, "Hi");
  for (const char *bad : {R"({})", R"({"prompt": ""})", R"({"prompt": [1, -2]})",
                          R"({"prompt": ["a", "b"]})", R"({"prompt": 5})", R"({"prompt": []})",
                          R"({"prompt": "x", "echo": 1})"}) {
    SCOPED_TRACE(bad);
    Parsed<CompletionRequest> parsed = parseCompletionRequest(bad);
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.error.status, 400);
  }
}

} // namespace
} // namespace mvc::serving
