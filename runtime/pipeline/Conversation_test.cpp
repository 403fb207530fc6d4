// OpenAI-style conversations: what the chat template sees, the media in order, and an
// error naming the message and part for every kind of bad file.
#include "runtime/pipeline/Conversation.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mvc {
namespace {

using ::testing::HasSubstr;

TEST(Conversation, PartsBecomeWhatTheTemplateSeesAndMediaComeInOrder) {
  absl::StatusOr<Conversation> parsed = parseConversation(R"([
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": [
      {"type": "image", "image": "a.jpg"},
      {"type": "text", "text": "and"},
      {"type": "image_url", "image_url": {"url": "data:image/png;base64,aGVsbG8="}},
      {"type": "image_url", "image_url": "file:///tmp/c.png"},
      {"type": "video", "video": "clip.mp4"}]},
    {"role": "assistant", "content": null, "tool_calls": [{"id": "1"}]}
  ])",
                                                          "m.json");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->messages[1]["content"].dump(),
            R"([{"type":"image"},{"type":"text","text":"and"},{"type":"image"},{"type":"image"},)"
            R"({"type":"video"}])");
  EXPECT_EQ(parsed->messages[2]["tool_calls"][0]["id"], "1");
  ASSERT_EQ(parsed->media.size(), 4u);
  EXPECT_EQ(parsed->media[0].path, "a.jpg");
  EXPECT_EQ(parsed->media[1].bytes, "hello");
  EXPECT_EQ(parsed->media[1].where, "messages[1].content[2].image_url.url");
  EXPECT_EQ(parsed->media[2].path, "/tmp/c.png");
  EXPECT_EQ(parsed->media[3].kind, ConversationMedia::Kind::Video);
  EXPECT_TRUE(parsed->tools.is_null());
}

TEST(Conversation, AnObjectCarriesMessagesAndTools) {
  absl::StatusOr<Conversation> parsed = parseConversation(
      R"({"messages": [{"role": "user", "content": "hi"}],
          "tools": [{"type": "function", "function": {"name": "get_weather", "description": "d",
                     "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                    "required": ["city"]}}}],
          "chat_template_kwargs": {"enable_thinking": true}})",
      "m.json");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->tools.size(), 1u);
  EXPECT_EQ(parsed->messages[0]["content"], "hi");
  EXPECT_EQ(parsed->templateKwargs["enable_thinking"], true);
}

TEST(Conversation, ToolsMustBeFunctionDefinitions) {
  auto error = [](const std::string &tools) {
    return std::string(validateTools(nlohmann::ordered_json::parse(tools), "t.json").message());
  };
  EXPECT_EQ(error("{}"), "t.json: expected an array of tool definitions");
  EXPECT_EQ(error(R"([{"type": "function"}])"),
            "t.json[0].function: expected an object with name, description, parameters");
  EXPECT_EQ(error(R"([{"type": "code_interpreter"}])"),
            "t.json[0].type: expected \"function\" (the only tool type)");
  EXPECT_EQ(error(R"([{"type": "function", "function": {"name": "get weather"}}])"),
            "t.json[0].function.name: expected 1 to 64 letters, digits, '_' or '-'");
  EXPECT_EQ(error(R"([{"type": "function", "function": {"name": "f", "parameters": {"type": "string"}}}])"),
            "t.json[0].function.parameters.type: expected \"object\" (arguments are an object)");
  EXPECT_EQ(error(R"([{"type": "function", "function": {"name": "f", "parameters":
                      {"type": "object", "properties": {"a": 3}}}}])"),
            "t.json[0].function.parameters.properties.a: expected a schema object");
  EXPECT_EQ(error(R"([{"type": "function", "function": {"name": "f", "parameters":
                      {"type": "object", "required": "a"}}}])"),
            "t.json[0].function.parameters.required: expected an array of property names");
  EXPECT_TRUE(validateTools(nlohmann::ordered_json::parse(R"([{"type": "function", "function": {"name": "f"}}])"),
                            "t.json").ok());
  EXPECT_EQ(std::string(parseConversation(R"({"messages": [{"role": "user", "content": "x"}],
                                              "chat_template_kwargs": {"tools": 1}})", "m.json")
                            .status()
                            .message()),
            "m.json: chat_template_kwargs.tools: is set by the conversation itself");
}

TEST(Conversation, BadFilesNameTheMessageAndPart) {
  auto error = [](const std::string &json) {
    return std::string(parseConversation(json, "m.json").status().message());
  };
  EXPECT_EQ(error("{"), "m.json: not valid JSON");
  EXPECT_EQ(error("[]"), "m.json: messages: expected a non-empty array of messages");
  EXPECT_EQ(error(R"({"msgs": []})"), "m.json: messages: missing (expected an array of messages)");
  EXPECT_EQ(error(R"([{"role": "wizard", "content": "x"}])"),
            "m.json: messages[0].role: unknown role 'wizard' (expected system, developer, user, "
            "assistant or tool)");
  EXPECT_EQ(error(R"([{"content": "x"}])"), "m.json: messages[0]: expected a \"role\" string");
  EXPECT_EQ(error(R"([{"role": "user"}])"), "m.json: messages[0]: expected \"content\"");
  EXPECT_EQ(error(R"([{"role": "user", "content": 5}])"),
            "m.json: messages[0].content: expected a string, null or a list of parts");
  EXPECT_EQ(error(R"([{"role": "user", "content": [{"type": "audio"}]}])"),
            "m.json: messages[0].content[0]: unknown part type 'audio' (expected text, image, "
            "image_url or video)");
  EXPECT_EQ(error(R"([{"role": "user", "content": [{"type": "text"}]}])"),
            "m.json: messages[0].content[0]: a text part needs a \"text\" string");
  EXPECT_EQ(error(R"([{"role": "user", "content": [{"type": "image"}]}])"),
            "m.json: messages[0].content[0]: an image part needs \"image\" (a file path or a "
            "data: URL)");
  EXPECT_EQ(
      error(
          R"([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}])"),
      "m.json: messages[0].content[0].image_url.url: remote URLs are not fetched; give a "
      "file path or a data: URL");
  EXPECT_EQ(
      error(
          R"([{"role": "user", "content": [{"type": "image", "image": "data:image/png;base64,@@@"}]}])"),
      "m.json: messages[0].content[0]: the data: URL is not valid base64");
  EXPECT_EQ(
      error(R"([{"role": "user", "content": [{"type": "image", "image": "data:image/png,abc"}]}])"),
      "m.json: messages[0].content[0]: a data: URL must be base64 (data:<type>;base64,<data>)");
}

TEST(Conversation, DeepNestingIsRefusedBeforeParsing) {
  std::string deep = R"([{"role": "user", "content": "x", "extra": )" + std::string(100000, '[') +
                     std::string(100000, ']') + "}]";
  EXPECT_EQ(parseConversation(deep, "m.json").status().message(),
            "m.json: nested deeper than 64 levels");
  // Brackets inside strings do not count.
  EXPECT_TRUE(parseConversation(
                  R"([{"role": "user", "content": ")" + std::string(500, '[') + R"("}])", "m.json")
                  .ok());
}

TEST(Conversation, OneTurnPutsImagesBeforeTheText) {
  Conversation turn = oneTurnConversation("What is it?", "Be brief.", 2);
  EXPECT_EQ(
      turn.messages.dump(),
      R"([{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"image"},)"
      R"({"type":"image"},{"type":"text","text":"What is it?"}]}])");
  EXPECT_EQ(oneTurnConversation("hi", "", 0).messages.dump(),
            R"([{"role":"user","content":"hi"}])");
}

TEST(Conversation, OneTurnAsContentPartsForProcessorTemplates) {
  EXPECT_EQ(oneTurnConversation("hi", "Be brief.", 0, /*contentParts=*/true).messages.dump(),
            R"([{"role":"system","content":[{"type":"text","text":"Be brief."}]},)"
            R"({"role":"user","content":[{"type":"text","text":"hi"}]}])");
  EXPECT_EQ(oneTurnConversation("hi", "", 1, /*contentParts=*/true).messages.dump(),
            R"([{"role":"user","content":[{"type":"image"},{"type":"text","text":"hi"}]}])");
}

} // namespace
} // namespace mvc
