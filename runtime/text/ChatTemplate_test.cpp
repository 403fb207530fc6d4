#include "runtime/text/ChatTemplate.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>

#include "runtime/text/TestFixtures.h"

namespace mvc::text {
namespace {

using nlohmann::ordered_json;
using testing::fixtureSearchPath;
using testing::readFixture;
using testing::readFixtureLines;

// The goldens were rendered with strftime_now fixed at 2026-01-02 03:04:05.
std::tm goldenNow() {
  std::tm now{};
  now.tm_year = 2026 - 1900;
  now.tm_mon = 0;
  now.tm_mday = 2;
  now.tm_hour = 3;
  now.tm_min = 4;
  now.tm_sec = 5;
  std::mktime(&now);  // Fills in the weekday and day of the year.
  return now;
}

// Checks every golden line against `template_for(line)`; returns the number that matched.
template <typename TemplateFor>
size_t checkGoldens(const std::vector<std::string>& lines, TemplateFor template_for,
                    const std::string& label) {
  size_t passed = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    auto golden = ordered_json::parse(lines[i]);
    const ChatTemplate* chat = template_for(golden);
    if (chat == nullptr) {
      ADD_FAILURE() << label << " line " << i + 1 << ": template did not parse";
      continue;
    }
    auto rendered = chat->apply(golden["input"], golden["specials"], goldenNow());
    bool expects_error = golden.contains("error") && !golden["error"].is_null();
    if (expects_error) {
      EXPECT_FALSE(rendered.ok()) << label << " line " << i + 1 << ": expected the error "
                                  << golden["error"] << " but rendered " << *rendered;
      passed += !rendered.ok();
      continue;
    }
    if (!rendered.ok()) {
      ADD_FAILURE() << label << " line " << i + 1 << ": " << rendered.status();
      continue;
    }
    const std::string expected = golden["rendered"];
    EXPECT_EQ(*rendered, expected) << label << " line " << i + 1;
    passed += *rendered == expected;
  }
  std::cout << label << " " << passed << "/" << lines.size() << "\n";
  return passed;
}

class TokenizerChatGoldens : public ::testing::TestWithParam<std::string> {};

TEST_P(TokenizerChatGoldens, RenderLikeTransformers) {
  const std::string name = GetParam();
  auto config_text = readFixture(name + "/tokenizer_config.json");
  auto lines = readFixtureLines(name + "/golden-chat.jsonl");
  if (!config_text || !lines) {
    GTEST_SKIP() << "\n*** FIXTURES MISSING: " << name << " chat goldens not found in "
                 << fixtureSearchPath() << "; this test did NOT run ***";
  }
  auto config = parseTokenizerConfig(*config_text);
  ASSERT_TRUE(config.ok()) << config.status();
  auto chat = ChatTemplate::parse(config->chat_template);
  ASSERT_TRUE(chat.ok()) << chat.status();
  size_t passed = checkGoldens(*lines, [&](const ordered_json&) { return &*chat; },
                               name + " golden-chat");
  EXPECT_EQ(passed, lines->size());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TokenizerChatGoldens, ::testing::Values("gemma3", "qwen3"));

TEST(ChatTemplateGoldens, OtherModelFamiliesRenderLikeTransformers) {
  auto lines = readFixtureLines("chat_templates/golden.jsonl");
  if (!lines) {
    GTEST_SKIP() << "\n*** FIXTURES MISSING: chat_templates/golden.jsonl not found in "
                 << fixtureSearchPath() << "; this test did NOT run ***";
  }
  std::map<std::string, std::optional<ChatTemplate>> templates;
  size_t passed = checkGoldens(
      *lines,
      [&](const ordered_json& golden) -> const ChatTemplate* {
        const std::string file = golden["template"];
        auto it = templates.find(file);
        if (it == templates.end()) {
          std::optional<ChatTemplate> parsed;
          if (auto source = readFixture("chat_templates/" + file)) {
            auto chat = ChatTemplate::parse(*source);
            EXPECT_TRUE(chat.ok()) << file << ": " << chat.status();
            if (chat.ok()) parsed = std::move(*chat);
          }
          it = templates.emplace(file, std::move(parsed)).first;
        }
        return it->second ? &*it->second : nullptr;
      },
      "chat_templates golden");
  EXPECT_EQ(passed, lines->size());
}

TEST(TokenizerConfig, SpecialTokensAcceptStringsAndAddedTokenObjects) {
  auto config = parseTokenizerConfig(R"({"chat_template": "x", "bos_token": "<s>",
      "eos_token": {"content": "</s>", "lstrip": false}, "unk_token": null})");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->chat_template, "x");
  EXPECT_EQ(config->specials.dump(), R"({"bos_token":"<s>","eos_token":"</s>"})");
}

// `"chat_template": 12345` used to compile, and --chat then said the model had none.
TEST(TokenizerConfig, AChatTemplateOfTheWrongTypeIsRefused) {
  auto config = parseTokenizerConfig(R"({"chat_template": 12345})");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            "tokenizer_config.json: chat_template must be a string or a list of named "
            "templates, got 12345");
  EXPECT_TRUE(parseTokenizerConfig(R"({"chat_template": null})").ok());
}

}  // namespace
}  // namespace mvc::text
