// IncrementalDecoder: streamed pieces concatenate to the full decode, characters split over
// byte tokens (byte-level BPE, byte fallback) are released whole, special tokens are left
// out, and a decoder's leading-space strip applies once, as in the full decode.
#include "runtime/pipeline/IncrementalDecoder.h"

#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "runtime/text/TestFixtures.h"
#include "gtest/gtest.h"

namespace mvc {
namespace {

constexpr char kReplacement[] = "\xEF\xBF\xBD";

/// Fixture tokenizer `name` (loaded once: Gemma's takes a second), or nullptr if missing.
const text::Tokenizer *fixtureTokenizer(const std::string &name) {
  static std::map<std::string, std::unique_ptr<text::Tokenizer>> loaded;
  if (auto it = loaded.find(name); it != loaded.end())
    return it->second.get();
  std::optional<std::string> json = text::testing::readFixture(name + "/tokenizer.json");
  absl::StatusOr<std::unique_ptr<text::Tokenizer>> tokenizer =
      json ? text::Tokenizer::fromJson(*json) : nullptr;
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status();
  return (loaded[name] = tokenizer.ok() ? std::move(*tokenizer) : nullptr).get();
}

std::unique_ptr<text::Tokenizer> tinyTokenizer() {
  absl::StatusOr<std::unique_ptr<text::Tokenizer>> tokenizer =
      text::Tokenizer::fromFile(MVC_TINY_TOKENIZER_DIR "/tokenizer.json");
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status();
  return tokenizer.ok() ? std::move(*tokenizer) : nullptr;
}

/// The pieces push() returns for each id, then finish()'s.
std::vector<std::string> stream(const text::Tokenizer &tokenizer, const std::vector<int32_t> &ids) {
  IncrementalDecoder decoder(tokenizer);
  std::vector<std::string> pieces;
  for (int32_t id : ids)
    pieces.push_back(decoder.push(id));
  pieces.push_back(decoder.finish());
  return pieces;
}

/// Streams the ids of `text` and checks the contract; returns how many pushes were held back
/// mid-character (a piece was empty although the decode so far ended in U+FFFD).
int expectStreamsLikeFullDecode(const text::Tokenizer &tokenizer, const std::string &text) {
  std::vector<int32_t> ids = tokenizer.encode(text, /*add_special_tokens=*/false);
  std::vector<std::string> pieces = stream(tokenizer, ids);
  EXPECT_EQ(absl::StrJoin(pieces, ""), tokenizer.decode(ids, true)) << text;
  int held = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(pieces[i].find(kReplacement), std::string::npos)
        << "piece " << i << " of '" << text << "' has U+FFFD";
    std::string sofar = tokenizer.decode(absl::MakeConstSpan(ids).first(i + 1), true);
    if (sofar.size() >= 3 && sofar.compare(sofar.size() - 3, 3, kReplacement) == 0) {
      EXPECT_EQ(pieces[i], "") << "piece " << i << " of '" << text << "'";
      ++held;
    }
  }
  return held;
}

TEST(IncrementalDecoderTest, ByteLevelTokensReleaseWholeCharacters) {
  std::unique_ptr<text::Tokenizer> tokenizer = tinyTokenizer();
  ASSERT_NE(tokenizer, nullptr);
  // The tiny tokenizer has no merges for these: é is 2 tokens, → and 日 3, 🎉 4.
  EXPECT_EQ(expectStreamsLikeFullDecode(*tokenizer, "héllo → 日本 🎉!"), 1 + 2 + 2 + 2 + 3);
  std::vector<int32_t> ids = tokenizer->encode("é", false);
  ASSERT_EQ(ids.size(), 2u);
  IncrementalDecoder decoder(*tokenizer);
  EXPECT_EQ(decoder.push(ids[0]), "");
  EXPECT_EQ(decoder.push(ids[1]), "é");
  EXPECT_EQ(decoder.finish(), "");
}

TEST(IncrementalDecoderTest, ByteFallbackTokensReleaseWholeCharacters) {
  const text::Tokenizer *tokenizer = fixtureTokenizer("gemma3");
  if (!tokenizer)
    GTEST_SKIP() << "*** FIXTURES MISSING: gemma3 tokenizer not in "
                 << text::testing::fixtureSearchPath() << "; this test did NOT run ***";
  // 𝔘, 𝔫 and ꙮ are not in Gemma's vocabulary: <0xF0> <0x9D> <0x94> <0x98> and so on.
  EXPECT_EQ(expectStreamsLikeFullDecode(*tokenizer, "Zebra 𝔘𝔫𝔦 ꙮ 🫠 ok"), 3 + 3 + 2);
}

TEST(IncrementalDecoderTest, ALeadingSpaceStripIsAppliedOnceAsInTheFullDecode) {
  // The tiny tokenizer with Llama's final decoder step, Strip(" ", start 1): it strips the
  // text's first space; decoding each token alone would strip every word's.
  std::ifstream in(MVC_TINY_TOKENIZER_DIR "/tokenizer.json");
  nlohmann::json json = nlohmann::json::parse(in);
  json["decoder"] = {
      {"type", "Sequence"},
      {"decoders",
       {json["decoder"], {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}};
  absl::StatusOr<std::unique_ptr<text::Tokenizer>> tokenizer =
      text::Tokenizer::fromJson(json.dump());
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  std::vector<int32_t> ids = (*tokenizer)->encode(" Hello world, again", false);
  EXPECT_EQ(absl::StrJoin(stream(**tokenizer, ids), ""), "Hello world, again");
}

TEST(IncrementalDecoderTest, SpecialTokensAreLeftOut) {
  const text::Tokenizer *tokenizer = fixtureTokenizer("gemma3");
  if (!tokenizer)
    GTEST_SKIP() << "*** FIXTURES MISSING: gemma3 tokenizer not in "
                 << text::testing::fixtureSearchPath() << "; this test did NOT run ***";
  // "4", <end_of_turn>, "\n", <eos>: what a chat model ends with.
  std::vector<int32_t> ids = tokenizer->encode("The answer is 4<end_of_turn>\n<eos>", false);
  ASSERT_TRUE(tokenizer->isSpecial(ids.back()));
  std::vector<std::string> pieces = stream(*tokenizer, ids);
  EXPECT_EQ(absl::StrJoin(pieces, ""), "The answer is 4\n");
  EXPECT_EQ(pieces[ids.size() - 1], "");
}

TEST(IncrementalDecoderTest, FinishReleasesAnIncompleteCharacterAsTheFullDecodeDoes) {
  std::unique_ptr<text::Tokenizer> tokenizer = tinyTokenizer();
  ASSERT_NE(tokenizer, nullptr);
  std::vector<int32_t> ids = tokenizer->encode("ok 日", false);
  ids.pop_back(); // the last byte of 日
  IncrementalDecoder decoder(*tokenizer);
  std::string text;
  for (int32_t id : ids)
    text += decoder.push(id);
  EXPECT_EQ(text, "ok ");
  std::string rest = decoder.finish();
  EXPECT_EQ(text + rest, tokenizer->decode(ids, true));
  EXPECT_NE(rest.find(kReplacement), std::string::npos);
  // An invalid byte in the middle is released once text follows it.
  std::vector<int32_t> broken = ids;
  for (int32_t id : tokenizer->encode(" fine", false))
    broken.push_back(id);
  std::vector<std::string> pieces = stream(*tokenizer, broken);
  EXPECT_EQ(absl::StrJoin(pieces, ""), tokenizer->decode(broken, true));
  EXPECT_EQ(pieces.back(), "");
}

/// Every golden text of the fixture tokenizers streams to its full decode.
class IncrementalDecoderGoldens : public ::testing::TestWithParam<std::string> {};

TEST_P(IncrementalDecoderGoldens, StreamToTheFullDecode) {
  const text::Tokenizer *tokenizer = fixtureTokenizer(GetParam());
  std::optional<std::vector<std::string>> lines =
      text::testing::readFixtureLines(GetParam() + "/golden-tokens.jsonl");
  if (!tokenizer || !lines)
    GTEST_SKIP() << "*** FIXTURES MISSING: " << GetParam() << " tokenizer goldens not in "
                 << text::testing::fixtureSearchPath() << "; this test did NOT run ***";
  for (const std::string &line : *lines) {
    std::vector<int32_t> ids = nlohmann::json::parse(line)["ids"];
    std::vector<std::string> pieces = stream(*tokenizer, ids);
    ASSERT_EQ(absl::StrJoin(pieces, ""), tokenizer->decode(ids, true)) << line;
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, IncrementalDecoderGoldens, ::testing::Values("gemma3", "qwen3"));

} // namespace
} // namespace mvc
