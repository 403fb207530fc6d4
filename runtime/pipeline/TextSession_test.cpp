// TextSession: prompts encoded as transformers does, plain (tokenizer(text)) and chat
// (apply_chat_template(tokenize=True)), checked against the fixture tokenizers' goldens.
#include "runtime/pipeline/TextSession.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/text/TestFixtures.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mvc {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::ordered_json;

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

/// The session of fixture tokenizer `name` (tests/fixtures/tokenizers; loaded once), or
/// nullptr if missing.
const TextSession *fixtureSession(const std::string &name) {
  static std::map<std::string, std::optional<TextSession>> loaded;
  if (auto it = loaded.find(name); it != loaded.end())
    return it->second ? &*it->second : nullptr;
  std::optional<TextSession> &slot = loaded[name];
  std::optional<std::string> tokenizer = text::testing::readFixture(name + "/tokenizer.json");
  std::optional<std::string> config = text::testing::readFixture(name + "/tokenizer_config.json");
  if (!tokenizer || !config)
    return nullptr;
  absl::StatusOr<TextSession> session = TextSession::fromJson(*tokenizer, *config);
  EXPECT_TRUE(session.ok()) << session.status();
  if (session.ok())
    slot = std::move(*session);
  return slot ? &*slot : nullptr;
}

TextSession tinySession(bool withConfig = true) {
  std::string tokenizer = readFile(MVC_TINY_TOKENIZER_DIR "/tokenizer.json");
  std::string config = withConfig ? readFile(MVC_TINY_TOKENIZER_DIR "/tokenizer_config.json") : "";
  absl::StatusOr<TextSession> session = TextSession::fromJson(tokenizer, config);
  EXPECT_TRUE(session.ok()) << session.status();
  return std::move(*session);
}

class TextSessionGoldens : public ::testing::TestWithParam<std::string> {};

// golden-chat.jsonl's first case is one user message with the generation prompt: what
// --chat renders. The ids are what transformers' apply_chat_template(tokenize=True) gives
// (the tokenizers library encoding the rendered text with add_special_tokens=False): one BOS.
TEST_P(TextSessionGoldens, ChatPromptsRenderAndEncodeLikeTransformers) {
  const TextSession *session = fixtureSession(GetParam());
  std::optional<std::vector<std::string>> chats =
      text::testing::readFixtureLines(GetParam() + "/golden-chat.jsonl");
  if (!session || !chats)
    GTEST_SKIP() << "*** FIXTURES MISSING: " << GetParam() << " not in "
                 << text::testing::fixtureSearchPath() << "; this test did NOT run ***";
  Json golden = Json::parse(chats->front());
  ASSERT_EQ(golden["input"]["messages"].size(), 1u);
  ASSERT_EQ(golden["input"]["add_generation_prompt"], true);
  std::string user = golden["input"]["messages"][0]["content"];
  absl::StatusOr<std::string> rendered = session->renderChat(user, "");
  ASSERT_TRUE(rendered.ok()) << rendered.status();
  EXPECT_EQ(*rendered, golden["rendered"].get<std::string>());

  absl::StatusOr<std::vector<int32_t>> ids = session->encodePrompt(user, {.chat = true});
  ASSERT_TRUE(ids.ok()) << ids.status();
  std::vector<int32_t> expected =
      GetParam() == "gemma3"
          ? std::vector<int32_t>{2, 105, 2364, 107, 9259, 236888, 106, 107, 105, 4368, 107}
          : std::vector<int32_t>{151644, 872, 198, 9707, 0, 151645, 198, 151644, 77091, 198};
  EXPECT_EQ(*ids, expected);
}

// Without --chat a prompt is encoded as tokenizer(text): golden-tokens' ids_with_special.
TEST_P(TextSessionGoldens, PlainPromptsEncodeWithTheTokenizersSpecialTokens) {
  const TextSession *session = fixtureSession(GetParam());
  std::optional<std::vector<std::string>> lines =
      text::testing::readFixtureLines(GetParam() + "/golden-tokens.jsonl");
  if (!session || !lines)
    GTEST_SKIP() << "*** FIXTURES MISSING: " << GetParam() << " not in "
                 << text::testing::fixtureSearchPath() << "; this test did NOT run ***";
  for (size_t i = 0; i < 8 && i < lines->size(); ++i) {
    Json golden = Json::parse((*lines)[i]);
    absl::StatusOr<std::vector<int32_t>> ids = session->encodePrompt(golden["text"]);
    ASSERT_TRUE(ids.ok()) << ids.status();
    EXPECT_EQ(*ids, golden["ids_with_special"].get<std::vector<int32_t>>()) << (*lines)[i];
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TextSessionGoldens, ::testing::Values("gemma3", "qwen3"));

TEST(TextSessionTest, GemmaFoldsTheSystemMessageIntoTheFirstUserTurn) {
  const TextSession *session = fixtureSession("gemma3");
  if (!session)
    GTEST_SKIP() << "*** FIXTURES MISSING: gemma3 not in " << text::testing::fixtureSearchPath()
                 << "; this test did NOT run ***";
  absl::StatusOr<std::string> rendered = session->renderChat("What is 2+2?", "You are terse.");
  ASSERT_TRUE(rendered.ok()) << rendered.status();
  EXPECT_EQ(*rendered, "<bos><start_of_turn>user\nYou are terse.\n\nWhat is 2+2?<end_of_turn>\n"
                       "<start_of_turn>model\n");
}

TEST(TextSessionTest, ChatWithASystemMessageRendersBothTurns) {
  TextSession session = tinySession();
  absl::StatusOr<std::vector<int32_t>> ids =
      session.encodePrompt("Hi", {.chat = true, .system = "Be brief."});
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_EQ(session.tokenizer().decode(*ids),
            "<bos><start_of_turn>system\nBe brief.<end_of_turn>\n<start_of_turn>user\nHi"
            "<end_of_turn>\n<start_of_turn>model\n");
  EXPECT_EQ(std::count(ids->begin(), ids->end(), 2), 1) << "one BOS";
  EXPECT_EQ(session.decode(*ids), "system\nBe brief.\nuser\nHi\nmodel\n");
}

// The tiny template prints content as a string: a conversation's text parts are joined for
// it (as OpenAI-compatible servers do), and an image part is refused, naming it.
TEST(TextSessionTest, StringTemplatesGetTextPartsJoined) {
  TextSession session = tinySession();
  absl::StatusOr<Conversation> parts = parseConversation(
      R"([{"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "there"}]}])",
      "m.json");
  ASSERT_TRUE(parts.ok()) << parts.status();
  absl::StatusOr<std::string> rendered = session.renderConversation(*parts);
  ASSERT_TRUE(rendered.ok()) << rendered.status();
  EXPECT_EQ(*rendered, "<bos><start_of_turn>user\nHi\nthere<end_of_turn>\n<start_of_turn>model\n");
  absl::StatusOr<Conversation> image = parseConversation(
      R"([{"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "image", "image": "a.png"}]}])",
      "m.json");
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(session.renderConversation(*image).status().message(),
            "messages[0].content[1]: the chat template prints string content only, so an image "
            "part has no place in it");
}

TEST(TextSessionTest, ChatNeedsATemplate) {
  absl::StatusOr<std::vector<int32_t>> noConfig =
      tinySession(/*withConfig=*/false).encodePrompt("Hi", {.chat = true});
  EXPECT_EQ(noConfig.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(noConfig.status().message(), HasSubstr("has no tokenizer_config.json"));

  std::string tokenizer = readFile(MVC_TINY_TOKENIZER_DIR "/tokenizer.json");
  absl::StatusOr<TextSession> noTemplate =
      TextSession::fromJson(tokenizer, R"({"bos_token": "<bos>"})");
  ASSERT_TRUE(noTemplate.ok()) << noTemplate.status();
  absl::StatusOr<std::vector<int32_t>> ids = noTemplate->encodePrompt("Hi", {.chat = true});
  EXPECT_EQ(ids.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(ids.status().message(), HasSubstr("tokenizer_config.json has no chat_template"));
  // Plain prompts need no template.
  EXPECT_EQ(noTemplate->encodePrompt("Hi").value_or(std::vector<int32_t>{}),
            noTemplate->tokenizer().encode("Hi"));
}

TEST(TextSessionTest, BrokenFilesAreNamed) {
  std::string tokenizer = readFile(MVC_TINY_TOKENIZER_DIR "/tokenizer.json");
  absl::StatusOr<TextSession> badTokenizer = TextSession::fromJson("{", "");
  EXPECT_THAT(badTokenizer.status().message(), HasSubstr("tokenizer.json: "));
  absl::StatusOr<TextSession> badConfig = TextSession::fromJson(tokenizer, "[]");
  EXPECT_THAT(badConfig.status().message(), HasSubstr("tokenizer_config.json: "));
  absl::StatusOr<TextSession> badTemplate =
      TextSession::fromJson(tokenizer, R"({"chat_template": "{% for %}"})");
  EXPECT_THAT(std::string(badTemplate.status().message()),
              HasSubstr("tokenizer_config.json: chat_template: chat template syntax error: "
                        "line 1, column 8"));
}

TEST(TextSessionTest, AnArtifactWithoutATokenizerSaysSo) {
  LanguageModelInfo info;
  absl::StatusOr<TextSession> session = TextSession::create(info);
  EXPECT_EQ(session.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(session.status().message(),
            "this artifact has no tokenizer (compile a checkpoint directory with tokenizer.json)");
}

} // namespace
} // namespace mvc
