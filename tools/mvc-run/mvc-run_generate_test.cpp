// mvc-run's generation mode on the fake language model (runtime/pipeline/FakeLanguageModel.h),
// whose greedy continuations are known: the stdout format, batches, EOS, the sampling flags,
// --logits-out, text prompts through a tokenizer in the artifact (--prompt, --chat), and
// one-line errors that leave no file behind.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

#include "absl/strings/str_join.h"
#include "runtime/executor/TestArtifact.h"
#include "runtime/pipeline/FakeLanguageModel.h"
#include "runtime/pipeline/TextSession.h"
#include "runtime/util/Npy.h"
#include "gtest/gtest.h"
#include "tools/mvc-run/RunMvcRun.h"

namespace mvc {
namespace {

namespace fs = std::filesystem;

class MvcRunGenerateTest : public ::testing::Test {
protected:
  using Result = testing::ToolResult;

  void SetUp() override {
    dir = fs::path(::testing::TempDir()) /
          ("mvc_run_generate." + std::to_string(getpid()) + "." +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir);
    fake.eosTokenIds = {};
    writeArtifact();
  }
  void TearDown() override { fs::remove_all(dir); }

  void writeArtifact() {
    artifact = (dir / "lm.mvc").string();
    ASSERT_TRUE(
        testing::writeFakeLanguageModel(artifact, fake.manifest(), MVC_FAKE_LM_KERNELS_PATH).ok());
  }

  Result run(const std::string &args) const {
    return testing::runMvcRun(artifact + " " + args, dir);
  }

  /// Exit 1, one "mvc-run: error:" line containing `needle`, no logits file.
  void expectFailure(const std::string &args, const std::string &needle) const {
    std::string logits = (dir / "failed.npy").string();
    Result result = run(args + " --logits-out " + logits);
    EXPECT_EQ(result.exitCode, 1) << args;
    EXPECT_EQ(result.err.rfind("mvc-run: error: ", 0), 0u) << result.err;
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
    EXPECT_NE(result.err.find(needle), std::string::npos)
        << "expected '" << needle << "' in " << result.err;
    EXPECT_FALSE(fs::exists(logits)) << args << " left " << logits;
  }

  std::string ids(const std::vector<int32_t> &prompt, int64_t maxNewTokens) const {
    return absl::StrJoin(fake.continuation(prompt, maxNewTokens), " ");
  }

  fs::path dir;
  std::string artifact;
  testing::FakeLanguageModel fake;
};

TEST_F(MvcRunGenerateTest, OnePromptPrintsItsIdsAsTheOnlyLineAndStatsOnStderr) {
  for (const char *extra : {"", " --print-ids"}) {
    Result result = run(std::string("--prompt-ids 2,5,7 --max-new-tokens 10") + extra);
    ASSERT_EQ(result.exitCode, 0) << result.err;
    EXPECT_EQ(result.out, ids({2, 5, 7}, 10) + "\n");
    for (const char *line :
         {"prompt 0: 10 new tokens, stopped at --max-new-tokens\n", "prefill: 3 tokens in ",
          "decode: 9 tokens in 9 steps, ", "time to first token: "})
      EXPECT_NE(result.err.find(line), std::string::npos) << line << " in " << result.err;
  }
  // The default is 32 new tokens.
  Result defaults = run("--prompt-ids 2");
  EXPECT_EQ(defaults.out, ids({2}, 32) + "\n");
}

TEST_F(MvcRunGenerateTest, ABatchPrintsOneLinePerPromptLikeEachAlone) {
  Result batch = run("--prompt-ids 2,9,4,4,1,3 --prompt-ids 2 --prompt-ids=2,13,7 "
                     "--max-new-tokens 12 --print-ids");
  ASSERT_EQ(batch.exitCode, 0) << batch.err;
  EXPECT_EQ(batch.out,
            ids({2, 9, 4, 4, 1, 3}, 12) + "\n" + ids({2}, 12) + "\n" + ids({2, 13, 7}, 12) + "\n");
  EXPECT_EQ(run("--prompt-ids 2 --max-new-tokens 12").out, ids({2}, 12) + "\n");
  EXPECT_NE(batch.err.find("prefill: 10 tokens in "), std::string::npos) << batch.err;
}

TEST_F(MvcRunGenerateTest, StopsAtEosIncludingIt) {
  std::vector<int32_t> unstopped = fake.continuation({2, 3}, 10);
  fake.eosTokenIds = {unstopped[4]};
  writeArtifact();
  std::vector<int32_t> stopped = fake.continuation({2, 3}, 10);
  ASSERT_EQ(stopped.back(), unstopped[4]);
  Result result = run("--prompt-ids 2,3 --max-new-tokens 10");
  ASSERT_EQ(result.exitCode, 0) << result.err;
  EXPECT_EQ(result.out, absl::StrJoin(stopped, " ") + "\n");
  EXPECT_NE(result.err.find("stopped at EOS id " + std::to_string(stopped.back())),
            std::string::npos)
      << result.err;
}

TEST_F(MvcRunGenerateTest, SamplingFlagsReachTheSampler) {
  std::string prompt = "--prompt-ids 2,3 --max-new-tokens 16 ";
  Result sampled = run(prompt + "--temperature 1 --seed 3");
  ASSERT_EQ(sampled.exitCode, 0) << sampled.err;
  EXPECT_EQ(run(prompt + "--temperature 1 --seed 3").out, sampled.out);
  EXPECT_NE(run(prompt + "--temperature 1 --seed 4").out, sampled.out);
  EXPECT_NE(sampled.out, ids({2, 3}, 16) + "\n");
  // Each filter alone, at its tightest, leaves only the argmax: greedy again.
  for (const char *filter : {"--top-k 1", "--top-p 0.01", "--min-p 1"})
    EXPECT_EQ(run(prompt + "--temperature 1 --seed 3 " + filter).out, ids({2, 3}, 16) + "\n")
        << filter;
}

TEST_F(MvcRunGenerateTest, LogitsOutHoldsTheLastOrEveryPromptPosition) {
  std::string file = (dir / "logits.npy").string();
  auto expectLogits = [&](const std::string &args, const std::vector<std::vector<int32_t>> &rows) {
    Result result = run(args + " --logits-out " + file);
    ASSERT_EQ(result.exitCode, 0) << result.err;
    absl::StatusOr<NpyArray> logits = readNpy(file);
    ASSERT_TRUE(logits.ok()) << logits.status();
    ASSERT_EQ(logits->dtype, DType::F32);
    ASSERT_EQ(logits->shape, (std::vector<int64_t>{static_cast<int64_t>(rows.size()), 16}));
    const float *values = reinterpret_cast<const float *>(logits->data.data());
    for (size_t r = 0; r < rows.size(); ++r)
      for (int v = 0; v < 16; ++v)
        EXPECT_EQ(values[r * 16 + v], v == fake.next(rows[r]) ? 1.0f : 0.0f)
            << args << " row " << r;
    fs::remove(file);
  };
  expectLogits("--prompt-ids 2,5,7 --max-new-tokens 4", {{2, 5, 7}});
  expectLogits("--prompt-ids 2,5,7 --all-logits", {{2}, {2, 5}, {2, 5, 7}});
  expectLogits("--prompt-ids 2,5,7 --prompt-ids 2,8 --max-new-tokens 4", {{2, 5, 7}, {2, 8}});
  expectLogits("--prompt-ids 2,5,7 --prompt-ids 2,8 --all-logits --max-new-tokens 0",
               {{2}, {2, 5}, {2, 5, 7}, {2}, {2, 8}});
  // Generation is unchanged by --logits-out; --max-new-tokens 0 prints an empty line.
  EXPECT_EQ(run("--prompt-ids 2,5,7 --max-new-tokens 4 --all-logits --logits-out " + file).out,
            ids({2, 5, 7}, 4) + "\n");
  EXPECT_EQ(run("--prompt-ids 2,5,7 --max-new-tokens 0 --logits-out " + file).out, "\n");
}

TEST_F(MvcRunGenerateTest, ErrorsAreOneLineAndLeaveNoLogitsFile) {
  expectFailure("--prompt hello", "lm.mvc: this artifact has no tokenizer (compile a checkpoint "
                                  "directory with tokenizer.json); use --prompt-ids");
  expectFailure("--prompt-ids 2,x", "--prompt-ids expects comma-separated token ids");
  expectFailure("--prompt-ids ''", "--prompt-ids expects comma-separated token ids");
  expectFailure("--prompt-ids 2,16", "prompt 0, position 1: token id 16 is outside the "
                                     "vocabulary [0, 16)");
  expectFailure("--prompt-ids 2 --prompt-ids 2,3,-4", "prompt 1, position 2: token id -4");
  expectFailure("--prompt-ids 2 --max-new-tokens -1", "--max-new-tokens expects an integer >= 0");
  expectFailure("--prompt-ids 2 --max-new-tokens 64", "1 prompt tokens + 64 new tokens exceed "
                                                      "the model's maximum of 64 positions");
  expectFailure("--prompt-ids 2 --top-k 5", "only apply when sampling");
  expectFailure("--prompt-ids 2 --temperature 1 --top-p 0", "top-p must be in (0, 1]");
  expectFailure("--temperature 1", "--temperature needs -p/--prompt or --prompt-ids");
  expectFailure("--prompt-ids 2 --function forward", "--function runs programs on .npy files");
  expectFailure("--prompt-ids 2 --max-new-tokens 20 --load-symbol num_pages=3",
                "the batch needs 5 KV pages of 4 tokens for its prompts and max_new_tokens, but "
                "only 3 of the model's 3 pages are free; load the model with more, e.g. "
                "--load-symbol num_pages=5");
  Result allLogits = run("--prompt-ids 2 --all-logits");
  EXPECT_EQ(allLogits.exitCode, 1);
  EXPECT_NE(allLogits.err.find("--all-logits needs --logits-out"), std::string::npos);

  // An artifact that is not a language model.
  artifact = (dir / "graph.mvc").string();
  ASSERT_TRUE(
      testing::writeTestArtifact(artifact, testing::testManifest(), MVC_TEST_KERNELS_PATH).ok());
  expectFailure("--prompt-ids 2", "graph.mvc: the artifact is not a language model (its manifest "
                                  "has no language_model entry); run its programs with --function");
}

/// The fake model with the tiny byte-level tokenizer (tests/fixtures/tiny_tokenizer) in its
/// sections, as mvc-compile embeds a checkpoint's tokenizer files.
class MvcRunTextTest : public MvcRunGenerateTest {
protected:
  void SetUp() override {
    MvcRunGenerateTest::SetUp();
    fake.vocabSize = 300; // the tokenizer has 274 tokens
    tokenizerJson = slurp(MVC_TINY_TOKENIZER_DIR "/tokenizer.json");
    configJson = slurp(MVC_TINY_TOKENIZER_DIR "/tokenizer_config.json");
    writeTextArtifact(configJson);
  }
  static std::string slurp(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
  }
  /// An artifact with tokenizer.json and, unless `config` is empty, tokenizer_config.json.
  void writeTextArtifact(const std::string &config) {
    nlohmann::ordered_json manifest = fake.manifest();
    manifest["language_model"]["text"] = {{"tokenizer", "tokenizer.json"}};
    std::vector<std::pair<std::string, std::string>> sections = {{"tokenizer.json", tokenizerJson}};
    if (!config.empty()) {
      manifest["language_model"]["text"]["tokenizer_config"] = "tokenizer_config.json";
      sections.emplace_back("tokenizer_config.json", config);
    }
    ASSERT_TRUE(
        testing::writeFakeLanguageModel(artifact, manifest, MVC_FAKE_LM_KERNELS_PATH, sections)
            .ok());
    absl::StatusOr<TextSession> loaded = TextSession::fromJson(tokenizerJson, config);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    text.emplace(std::move(*loaded));
  }
  std::vector<int32_t> encode(const std::string &prompt, const PromptOptions &options = {}) {
    absl::StatusOr<std::vector<int32_t>> ids = text->encodePrompt(prompt, options);
    EXPECT_TRUE(ids.ok()) << ids.status();
    return ids.value_or(std::vector<int32_t>{});
  }

  std::string tokenizerJson, configJson;
  std::optional<TextSession> text;
};

TEST_F(MvcRunTextTest, OnePromptStreamsItsTextThenTheIdsWithPrintIds) {
  std::vector<int32_t> generated = fake.continuation(encode("Hi there"), 12);
  std::string expected = text->decode(generated);
  ASSERT_FALSE(expected.empty());
  Result plain = run("-p 'Hi there' --max-new-tokens 12");
  ASSERT_EQ(plain.exitCode, 0) << plain.err;
  EXPECT_EQ(plain.out, expected + "\n");
  EXPECT_NE(plain.err.find("prompt 0: 12 new tokens"), std::string::npos) << plain.err;
  Result ids = run("--prompt='Hi there' --max-new-tokens 12 --print-ids");
  EXPECT_EQ(ids.out, expected + "\n" + absl::StrJoin(generated, " ") + "\n");
  // --prompt-ids prints text too when the artifact has a tokenizer.
  EXPECT_EQ(
      run("--prompt-ids " + absl::StrJoin(encode("Hi there"), ",") + " --max-new-tokens 12").out,
      expected + "\n");
}

TEST_F(MvcRunTextTest, ChatWrapsThePromptInTheTemplate) {
  std::vector<int32_t> chat = encode("What is the answer?", {.chat = true});
  ASSERT_EQ(text->tokenizer().decode(chat),
            "<bos><start_of_turn>user\nWhat is the answer?<end_of_turn>\n<start_of_turn>model\n");
  Result result = run("-p 'What is the answer?' --chat --max-new-tokens 8 --print-ids");
  ASSERT_EQ(result.exitCode, 0) << result.err;
  std::vector<int32_t> generated = fake.continuation(chat, 8);
  EXPECT_EQ(result.out, text->decode(generated) + "\n" + absl::StrJoin(generated, " ") + "\n");
  EXPECT_NE(result.err.find("prefill: " + std::to_string(chat.size()) + " tokens"),
            std::string::npos)
      << result.err;

  std::vector<int32_t> withSystem = encode("Hi", {.chat = true, .system = "Be brief."});
  EXPECT_EQ(run("-p Hi --chat --system 'Be brief.' --max-new-tokens 8 --print-ids").out,
            text->decode(fake.continuation(withSystem, 8)) + "\n" +
                absl::StrJoin(fake.continuation(withSystem, 8), " ") + "\n");
}

TEST_F(MvcRunTextTest, ABatchPrintsEachTextAndAnEmptyLineThenTheIds) {
  std::vector<std::vector<int32_t>> prompts = {encode("one"), encode("two, three"), {2, 5}};
  Result result = run("-p one -p 'two, three' --prompt-ids 2,5 --max-new-tokens 6 --print-ids");
  ASSERT_EQ(result.exitCode, 0) << result.err;
  std::string expected, ids;
  for (const std::vector<int32_t> &prompt : prompts) {
    expected += text->decode(fake.continuation(prompt, 6)) + "\n\n";
    ids += absl::StrJoin(fake.continuation(prompt, 6), " ") + "\n";
  }
  EXPECT_EQ(result.out, expected + ids);
  EXPECT_EQ(run("-p one -p 'two, three' --prompt-ids 2,5 --max-new-tokens 6").out, expected);
}

TEST_F(MvcRunTextTest, TextErrorsAreOneLine) {
  expectFailure("--prompt-ids 2 --chat", "--chat applies to text prompts (-p/--prompt)");
  expectFailure("-p hi --system terse", "--system needs --chat");
  expectFailure("--chat", "--chat needs -p/--prompt or --prompt-ids");
  writeTextArtifact(R"({"bos_token": "<bos>"})");
  expectFailure("-p hi --chat",
                "--chat: the artifact's tokenizer_config.json has no chat_template");
  writeTextArtifact("");
  expectFailure("-p hi --chat",
                "--chat: the artifact has no tokenizer_config.json, so no chat template");
  EXPECT_EQ(run("-p hi --max-new-tokens 3").exitCode, 0);
}

TEST_F(MvcRunGenerateTest, HelpListsTheGenerationFlagsWithDefaults) {
  Result result = run("--help");
  EXPECT_EQ(result.exitCode, 0);
  for (const char *text :
       {"--prompt-ids IDS", "--max-new-tokens N     new tokens per prompt at most (default: 32)",
        "--temperature T", "(default: 0)", "--top-k K", "(default: 0 = off)", "--top-p P",
        "(default: 1 = off)", "--min-p P", "--seed S", "--print-ids", "--logits-out FILE.npy",
        "--all-logits", "-p TEXT, --prompt TEXT", "--chat", "--system TEXT",
        "temperature, top-k, top-p, min-p"})
    EXPECT_NE(result.out.find(text), std::string::npos) << text;
}

} // namespace
} // namespace mvc
