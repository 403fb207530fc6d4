#include "runtime/text/Tokenizer.h"

#include <gtest/gtest.h>

#include <map>

#include "nlohmann/json.hpp"
#include "runtime/text/TestFixtures.h"

namespace mvc::text {
namespace {

using testing::fixtureSearchPath;
using testing::readFixture;
using testing::readFixtureLines;

// Loading the 262k-token Gemma vocabulary takes a moment: load each tokenizer once.
const Tokenizer* fixtureTokenizer(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return it->second.get();
  auto json = readFixture(name + "/tokenizer.json");
  if (!json) return nullptr;
  auto tokenizer = Tokenizer::fromJson(*json);
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status();
  if (!tokenizer.ok()) return nullptr;
  return (cache[name] = std::move(*tokenizer)).get();
}

class GoldenTokens : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTokens, EveryLineMatchesTheReferenceLibrary) {
  const std::string name = GetParam();
  auto lines = readFixtureLines(name + "/golden-tokens.jsonl");
  const Tokenizer* tokenizer = fixtureTokenizer(name);
  if (!lines || !tokenizer) {
    GTEST_SKIP() << "\n*** FIXTURES MISSING: tokenizers/" << name << " not found in "
                 << fixtureSearchPath() << "; the " << name << " golden test did NOT run ***";
  }
  size_t passed = 0;
  for (size_t i = 0; i < lines->size(); ++i) {
    auto golden = nlohmann::json::parse((*lines)[i]);
    const std::string text = golden["text"];
    auto ids = golden["ids"].get<std::vector<TokenId>>();
    auto with_special = golden["ids_with_special"].get<std::vector<TokenId>>();
    bool ok = true;
    auto check = [&](bool good, const char* what) {
      EXPECT_TRUE(good) << name << " line " << i + 1 << ": " << what << " differs; text "
                        << nlohmann::json(text).dump();
      ok = ok && good;
    };
    check(tokenizer->encode(text, false) == ids, "ids");
    check(tokenizer->encode(text, true) == with_special, "ids_with_special");
    check(tokenizer->decode(ids, false) == golden["decoded"].get<std::string>(), "decoded");
    check(tokenizer->decode(ids, true) == golden["decoded_skip_special"].get<std::string>(),
          "decoded_skip_special");
    passed += ok;
  }
  std::cout << name << " golden-tokens " << passed << "/" << lines->size() << "\n";
  EXPECT_EQ(passed, lines->size());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, GoldenTokens, ::testing::Values("gemma3", "qwen3"));

// A tiny byte-level BPE: vocab of the characters a, b, c, ab, abc plus one special token.
std::unique_ptr<Tokenizer> tinyTokenizer(const std::string& added_flags,
                                         const std::string& pre_tokenizer = "null") {
  std::string json = R"({
    "added_tokens": [{"id": 5, "content": "<s>", "special": true)" + added_flags + R"(},
                     {"id": 6, "content": "abcc", "special": false, "normalized": true}],
    "normalizer": null, "pre_tokenizer": )" + pre_tokenizer + R"(,
    "post_processor": {"type": "TemplateProcessing",
      "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
      "special_tokens": {"<s>": {"id": "<s>", "ids": [5], "tokens": ["<s>"]}}},
    "decoder": null,
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 2, "bc": 3, "abc": 4, " ": 7},
              "merges": [["b", "c"], ["a", "bc"]]}})";
  auto tokenizer = Tokenizer::fromJson(json);
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status();
  return tokenizer.ok() ? std::move(*tokenizer) : nullptr;
}

TEST(Tokenizer, MergesByRankThenPosition) {
  auto tokenizer = tinyTokenizer("");
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_EQ(tokenizer->encode("abc", false), (std::vector<TokenId>{4}));
  EXPECT_EQ(tokenizer->encode("cabc", false), (std::vector<TokenId>{2, 4}));
  EXPECT_EQ(tokenizer->encode("abc", true), (std::vector<TokenId>{5, 4}));
}

TEST(Tokenizer, AddedTokensMatchBeforeTheModel) {
  auto tokenizer = tinyTokenizer("");
  ASSERT_NE(tokenizer, nullptr);
  // "abcc" is an added token, so it wins over the model's abc + c.
  EXPECT_EQ(tokenizer->encode("c<s>abcc abc", false), (std::vector<TokenId>{2, 5, 6, 7, 4}));
  // Without a decoder, tokens are joined with spaces.
  EXPECT_EQ(tokenizer->decode({5, 6, 2}, false), "<s> abcc c");
  EXPECT_EQ(tokenizer->decode({5, 6, 2}, true), "abcc c");
}

TEST(Tokenizer, LstripAndRstripSwallowWhitespace) {
  auto tokenizer = tinyTokenizer(R"(, "lstrip": true, "rstrip": true)");
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_EQ(tokenizer->encode("c  <s>  c", false), (std::vector<TokenId>{2, 5, 2}));
}

TEST(Tokenizer, SingleWordTokensDoNotMatchInsideWords) {
  auto tokenizer = tinyTokenizer(R"(, "single_word": true)");
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_EQ(tokenizer->encode("c<s>", false), (std::vector<TokenId>{2}));  // '<', 's', '>' unknown
  EXPECT_EQ(tokenizer->encode(" <s> ", false), (std::vector<TokenId>{7, 5, 7}));
}

TEST(Tokenizer, InvalidUtf8IsReplacedNotRejected) {
  const Tokenizer* qwen = fixtureTokenizer("qwen3");
  if (qwen == nullptr) GTEST_SKIP() << "*** FIXTURES MISSING: " << fixtureSearchPath() << " ***";
  // A lone continuation byte, a truncated 3-byte sequence and an overlong encoding each become
  // U+FFFD, exactly like Python's bytes.decode("utf-8", errors="replace").
  std::string bad = "a\x80" "b\xE2\x82" "c\xC0\xAF";
  std::string replaced = "a\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c\xEF\xBF\xBD\xEF\xBF\xBD";
  EXPECT_EQ(qwen->encode(bad, false), qwen->encode(replaced, false));
  EXPECT_EQ(qwen->decode(qwen->encode(bad, false)), replaced);
}

TEST(Tokenizer, DecodingAPartialCharacterYieldsReplacement) {
  const Tokenizer* qwen = fixtureTokenizer("qwen3");
  if (qwen == nullptr) GTEST_SKIP() << "*** FIXTURES MISSING: " << fixtureSearchPath() << " ***";
  auto ids = qwen->encode("\xF0\x93\x80\x80", false);  // A hieroglyph: several byte tokens.
  ASSERT_GT(ids.size(), 1u);
  EXPECT_EQ(qwen->decode({ids[0]}), "\xEF\xBF\xBD");
  EXPECT_EQ(qwen->decode(ids), "\xF0\x93\x80\x80");
}

TEST(Tokenizer, UnknownComponentTypesNameTheField) {
  auto status = Tokenizer::fromJson(
      R"({"normalizer": {"type": "Precompiled"}, "model": {"type": "BPE", "vocab": {}, "merges": []}})")
                    .status();
  EXPECT_EQ(status.message(), "unsupported: normalizer type \"Precompiled\"");
  status = Tokenizer::fromJson(R"({"model": {"type": "Unigram", "vocab": []}})").status();
  EXPECT_EQ(status.message(), "unsupported: model type \"Unigram\"");
  status = Tokenizer::fromJson(
      R"({"decoder": {"type": "CTC"}, "model": {"type": "BPE", "vocab": {}, "merges": []}})")
               .status();
  EXPECT_EQ(status.message(), "unsupported: decoder type \"CTC\"");
}

TEST(Tokenizer, MalformedJsonIsAnErrorNotACrash) {
  EXPECT_FALSE(Tokenizer::fromJson("{").ok());
  EXPECT_FALSE(Tokenizer::fromJson("[]").ok());
  EXPECT_FALSE(Tokenizer::fromJson(R"({"model": {"type": "BPE", "vocab": {"a": "x"}, "merges": []}})").ok());
  EXPECT_FALSE(Tokenizer::fromJson(
                   R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [["a", "q"]]}})")
                   .ok());
  EXPECT_FALSE(Tokenizer::fromJson(R"({"added_tokens": [{"id": "x"}], "model": {}})").ok());
}

}  // namespace
}  // namespace mvc::text
