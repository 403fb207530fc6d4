// JSON-object constrained decoding: the byte automaton against valid and invalid texts, and
// the constraint over a real (tiny byte-level) vocabulary driven by random logits: every
// text it lets through is a JSON object prefix, and every ended one parses.
#include "runtime/pipeline/JsonConstraint.h"

#include <cmath>
#include <random>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "runtime/text/Tokenizer.h"

namespace mvc {
namespace {

bool accepts(const std::string &text, bool *complete = nullptr) {
  JsonState state;
  bool ok = state.feed(text);
  if (complete)
    *complete = ok && state.complete();
  return ok;
}

TEST(JsonState, CompleteObjects) {
  for (const char *text : {
           "{}", " {\n}", R"({"a":1})", R"({"a": [1, -2.5e+3, 0, 0.5, 1E9, true, false, null]})",
           R"({"s": "x\u00e9\n\"\\\/ caf\u00E9 é", "o": {"p": {}}, "l": [[], [{}]]})",
           R"({"k":-0.0e-0})"}) {
    SCOPED_TRACE(text);
    bool complete = false;
    EXPECT_TRUE(accepts(text, &complete));
    EXPECT_TRUE(complete);
    EXPECT_TRUE(nlohmann::json::accept(text));
  }
}

TEST(JsonState, PrefixesAndRefusals) {
  bool complete = true;
  EXPECT_TRUE(accepts(R"({"a": [1, {"b": "x)", &complete));
  EXPECT_FALSE(complete);
  EXPECT_TRUE(accepts(R"({"a": tr)", &complete));
  EXPECT_TRUE(accepts(R"({"a": -)"));
  EXPECT_TRUE(accepts(R"({"a": 1.)"));
  for (const char *text : {
           "[1]", "\"x\"", "1", "{1: 2}", R"({"a" 1})", R"({"a": 01})", R"({"a": 1.})",
           R"({"a": 1.e5})", R"({"a": +1})", R"({"a": tru })", R"({"a": nul1})", R"({"a": 1,})",
           R"({"a": [1,]})", R"({"a": 1}})", R"({"a": 1} x)", "{\"a\": \"\x01\"}",
           R"({"a": "\x"})", R"({"a": "\u12G4"})", R"({,})", R"({"a": 1 "b": 2})", "{} ",
           R"({"a": [1 2]})"}) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(accepts(text));
  }
  // At most 32 whitespace bytes in a row.
  EXPECT_TRUE(accepts("{" + std::string(32, ' ') + "}"));
  EXPECT_FALSE(accepts("{" + std::string(33, ' ') + "}"));
}

TEST(JsonConstraint, RandomLogitsOverARealVocabularyStayValid) {
  absl::StatusOr<std::unique_ptr<text::Tokenizer>> tokenizer =
      text::Tokenizer::fromFile(MVC_TINY_TOKENIZER_DIR "/tokenizer.json");
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  const int64_t vocab = static_cast<int64_t>((*tokenizer)->vocabSize());
  const int32_t eos = *(*tokenizer)->tokenToId("<eos>");
  std::shared_ptr<const JsonVocabulary> words =
      JsonVocabulary::build(**tokenizer, vocab, std::vector<int32_t>{eos});
  std::mt19937 random(7);
  int ended = 0;
  for (int run = 0; run < 200; ++run) {
    JsonConstraint constraint(words);
    std::vector<int32_t> ids;
    // Logits favouring the structural bytes now and then, so objects close.
    std::normal_distribution<float> noise(0.0f, 2.0f);
    bool finished = false;
    for (int step = 0; step < 120 && !finished; ++step) {
      std::vector<float> logits(static_cast<size_t>(vocab));
      for (float &x : logits)
        x = noise(random);
      for (const char *favoured : {"}", "]", "\"", ":", ",", "1", "{"})
        if (std::optional<int32_t> id = (*tokenizer)->tokenToId(favoured))
          logits[*id] += step > 40 ? 6.0f : 2.0f;
      logits[eos] += 10.0f;
      constraint.mask(absl::MakeSpan(logits));
      int32_t best = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
      ASSERT_TRUE(std::isfinite(logits[best])) << "nothing allowed after " << ids.size() << " tokens";
      ASSERT_TRUE(constraint.accept(best).ok());
      if (best == eos) {
        finished = true;
        break;
      }
      ids.push_back(best);
    }
    const std::string text = (*tokenizer)->decode(ids, true);
    SCOPED_TRACE(text);
    EXPECT_TRUE(accepts(text)); // the decoded text is what the automaton read
    if (finished) {
      ++ended;
      EXPECT_TRUE(constraint.state().complete());
      nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
      EXPECT_TRUE(parsed.is_object());
    }
  }
  EXPECT_GT(ended, 20); // many runs close their object and end
}

} // namespace
} // namespace mvc
