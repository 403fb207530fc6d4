// The Generator over the fake language model (FakeLanguageModel.h), whose greedy output is
// known in advance and changes with any error in positions, cache lengths, row offsets or
// block tables: batches against single prompts, EOS, streaming, prompt logits, KV pages and
// the errors for bad prompts.
#include "runtime/pipeline/Generator.h"

#include <filesystem>
#include <unistd.h>

#include "runtime/pipeline/FakeLanguageModel.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mvc {
namespace {

using ::testing::HasSubstr;
using Prompts = std::vector<std::vector<int32_t>>;

class GeneratorTest : public ::testing::Test {
protected:
  void TearDown() override {
    if (!path.empty())
      std::filesystem::remove(path);
  }

  /// Loads `fake` (with `numPages` pages if > 0) and returns a Generator over it.
  Generator &load(const testing::FakeLanguageModel &fake, int64_t numPages = 0) {
    path = (std::filesystem::path(::testing::TempDir()) /
            ("generator." + std::to_string(getpid()) + ".mvc"))
               .string();
    EXPECT_TRUE(
        testing::writeFakeLanguageModel(path, fake.manifest(), MVC_FAKE_LM_KERNELS_PATH).ok());
    session = *Session::create({.device = "cpu", .numThreads = 1});
    LoadOptions options;
    if (numPages > 0)
      options.loadSymbols.emplace_back("num_pages", numPages);
    absl::StatusOr<std::unique_ptr<Model>> loaded = session->load(path, options);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    model = std::move(*loaded);
    absl::StatusOr<Generator> created = Generator::create(*model);
    EXPECT_TRUE(created.ok()) << created.status();
    generator.emplace(std::move(*created));
    return *generator;
  }

  GenerationResult generate(const Prompts &prompts, GenerationOptions options) {
    absl::StatusOr<GenerationResult> result = generator->generate(prompts, options);
    EXPECT_TRUE(result.ok()) << result.status();
    if (result.ok())
      return std::move(*result);
    GenerationResult failed; // sized like a real one, so the caller's checks fail cleanly
    failed.tokens.resize(prompts.size());
    failed.finishReasons.resize(prompts.size());
    return failed;
  }
  absl::Status generateError(const Prompts &prompts, int64_t maxNewTokens) {
    GenerationOptions options;
    options.maxNewTokens = maxNewTokens;
    return generator->generate(prompts, options).status();
  }

  std::string path;
  std::unique_ptr<Session> session;
  std::unique_ptr<Model> model;
  std::optional<Generator> generator;
};

GenerationOptions greedy(int64_t maxNewTokens) {
  GenerationOptions options;
  options.maxNewTokens = maxNewTokens;
  return options;
}

TEST_F(GeneratorTest, GreedyFollowsTheModelThroughPrefillAndDecode) {
  testing::FakeLanguageModel fake;
  load(fake);
  GenerationResult result = generate({{2, 5, 7}}, greedy(10));
  ASSERT_EQ(result.tokens.size(), 1u);
  EXPECT_EQ(result.tokens[0], fake.continuation({2, 5, 7}, 10));
  EXPECT_EQ(result.finishReasons[0], FinishReason::MaxNewTokens);
  EXPECT_EQ(result.stats.promptTokens, 3);
  EXPECT_EQ(result.stats.decodeSteps, 9); // the first token comes from prefill
  EXPECT_EQ(result.stats.decodeTokens, 9);
  EXPECT_TRUE(result.promptLogits.shape() == std::vector<int64_t>{0});
}

TEST_F(GeneratorTest, BatchGivesTheSameTokensAsEachPromptAlone) {
  testing::FakeLanguageModel fake;
  load(fake);
  Prompts prompts = {{2, 9, 4, 4, 1, 3, 8, 11, 6}, {2}, {2, 13, 7, 5, 1}};
  GenerationResult batch = generate(prompts, greedy(12));
  for (size_t b = 0; b < prompts.size(); ++b) {
    EXPECT_EQ(batch.tokens[b], fake.continuation(prompts[b], 12)) << "prompt " << b;
    EXPECT_EQ(generate({prompts[b]}, greedy(12)).tokens[0], batch.tokens[b]) << "prompt " << b;
  }
  EXPECT_EQ(batch.stats.promptTokens, 15);
  EXPECT_EQ(batch.stats.decodeTokens, 3 * 11);
}

TEST_F(GeneratorTest, StopsOnEosKeepsItAndDropsTheSequenceFromTheBatch) {
  testing::FakeLanguageModel fake;
  std::vector<int32_t> first = {2, 3}, second = {2, 6, 1, 1, 1};
  std::vector<int32_t> firstAlone = fake.continuation(first, 10);
  fake.eosTokenIds = {99 % 16, firstAlone[2]}; // the first prompt stops at its 3rd token
  std::vector<int32_t> firstStopped = fake.continuation(first, 10);
  std::vector<int32_t> secondStopped = fake.continuation(second, 10);
  ASSERT_EQ(firstStopped.back(), firstAlone[2]);
  ASSERT_LT(firstStopped.size(), secondStopped.size())
      << "pick prompts where the first stops first";
  load(fake);
  GenerationResult result = generate({first, second}, greedy(10));
  EXPECT_EQ(result.tokens[0], firstStopped);
  EXPECT_EQ(result.tokens[1], secondStopped);
  EXPECT_EQ(result.finishReasons[0], FinishReason::Eos);
  EXPECT_EQ(result.stats.decodeSteps, static_cast<int64_t>(secondStopped.size()) - 1);
  EXPECT_EQ(result.stats.decodeTokens,
            static_cast<int64_t>(firstStopped.size() + secondStopped.size()) - 2);
}

TEST_F(GeneratorTest, StreamsEveryTokenAsItIsChosen) {
  testing::FakeLanguageModel fake;
  load(fake);
  GenerationOptions options = greedy(6);
  std::vector<std::vector<int32_t>> streamed(2);
  std::vector<size_t> order;
  options.onToken = [&](size_t b, int32_t token) {
    streamed[b].push_back(token);
    order.push_back(b);
  };
  GenerationResult result = generate({{2, 4}, {2, 8, 8}}, options);
  EXPECT_EQ(streamed, result.tokens);
  // One token per prompt per step, prompts in order.
  EXPECT_EQ(order, (std::vector<size_t>{0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1}));
}

/// Checks that row r of `logits` is the fake's one-hot prediction after `prefixes[r]`.
void expectPredictions(const testing::FakeLanguageModel &fake, const HostTensor &logits,
                       const Prompts &prefixes) {
  ASSERT_EQ(logits.shape(), (std::vector<int64_t>{static_cast<int64_t>(prefixes.size()), 16}));
  for (size_t r = 0; r < prefixes.size(); ++r)
    for (int v = 0; v < 16; ++v)
      EXPECT_EQ(logits.dataAs<float>()[r * 16 + v], v == fake.next(prefixes[r]) ? 1.0f : 0.0f)
          << "row " << r << " token " << v;
}

TEST_F(GeneratorTest, PromptLogitsCoverEveryPositionOrEachLast) {
  testing::FakeLanguageModel fake;
  load(fake);
  Prompts prompts = {{2, 3, 5}, {2, 7}};
  Prompts allPrefixes = {{2}, {2, 3}, {2, 3, 5}, {2}, {2, 7}};
  absl::StatusOr<HostTensor> all = generator->promptLogits(prompts);
  ASSERT_TRUE(all.ok()) << all.status();
  expectPredictions(fake, *all, allPrefixes);

  // Together with generation: the tokens do not change.
  GenerationOptions options = greedy(4);
  options.promptLogits = PromptLogits::All;
  GenerationResult withAll = generate(prompts, options);
  expectPredictions(fake, withAll.promptLogits, allPrefixes);
  options.promptLogits = PromptLogits::Last;
  GenerationResult withLast = generate(prompts, options);
  expectPredictions(fake, withLast.promptLogits, prompts);
  for (size_t b = 0; b < prompts.size(); ++b) {
    EXPECT_EQ(withAll.tokens[b], fake.continuation(prompts[b], 4));
    EXPECT_EQ(withLast.tokens[b], fake.continuation(prompts[b], 4));
  }
  EXPECT_TRUE(generate(prompts, greedy(0)).tokens == Prompts(2));
}

TEST_F(GeneratorTest, SamplingIsSeededPerSequenceWhateverTheBatch) {
  testing::FakeLanguageModel fake;
  load(fake);
  // One-hot logits at temperature 1: the predicted token has probability e / (e + 15), so
  // sampled continuations differ from greedy ones and between seeds.
  GenerationOptions options = greedy(16);
  options.sampling.temperature = 1;
  options.sampling.seed = 5;
  std::vector<int32_t> a = {2, 3}, b = {2, 9, 9, 9}, c = {2};
  GenerationResult withB = generate({a, b}, options);
  GenerationResult withC = generate({a, c}, options);
  EXPECT_EQ(withB.tokens[0], withC.tokens[0]);
  EXPECT_EQ(generate({a, b}, options).tokens, withB.tokens);
  EXPECT_NE(withB.tokens[0], fake.continuation(a, 16));
  options.sampling.seed = 6;
  EXPECT_NE(generate({a, b}, options).tokens[0], withB.tokens[0]);
}

TEST_F(GeneratorTest, RejectsBadPromptsNamingThePromptAndPosition) {
  testing::FakeLanguageModel fake;
  load(fake);
  EXPECT_THAT(generateError({}, 4).message(), HasSubstr("no prompts"));
  EXPECT_THAT(generateError({{2}, {}}, 4).message(), HasSubstr("prompt 1 is empty"));
  EXPECT_THAT(generateError({{2, 16}}, 4).message(),
              HasSubstr("prompt 0, position 1: token id 16 is outside the vocabulary [0, 16)"));
  EXPECT_THAT(generateError({{2}, {-1}}, 4).message(), HasSubstr("prompt 1, position 0"));
  EXPECT_THAT(generateError({{2}}, -1).message(), HasSubstr("max_new_tokens must be >= 0"));
  EXPECT_THAT(generateError({{2}, std::vector<int32_t>(60, 1)}, 5).message(),
              HasSubstr("prompt 1: 60 prompt tokens + 5 new tokens exceed the model's maximum "
                        "of 64 positions"));
  GenerationOptions badSampling = greedy(4);
  badSampling.sampling.topP = 0.5;
  EXPECT_THAT(generator->generate({{2}}, badSampling).status().message(),
              HasSubstr("only apply when sampling"));
  // 60 + 4 fits exactly.
  EXPECT_EQ(generate({std::vector<int32_t>(60, 1)}, greedy(4)).tokens[0].size(), 4u);
}

TEST_F(GeneratorTest, KvPagesAreCheckedUpFrontAndFreedAfterEveryCall) {
  testing::FakeLanguageModel fake;
  load(fake, /*numPages=*/4);
  // 3 prompt tokens + 6 new: 8 tokens enter the cache (the last one never does): 2 pages.
  Prompts two = {{2, 3, 4}, {2, 5, 6}};
  for (int repeat = 0; repeat < 3; ++repeat) {
    GenerationResult result = generate(two, greedy(6));
    EXPECT_EQ(result.tokens[1], fake.continuation(two[1], 6));
  }
  absl::Status tooMany = generateError(two, 7);
  EXPECT_EQ(tooMany.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(tooMany.message(),
              HasSubstr("the batch needs 6 KV pages of 4 tokens (per prompt: 3, 3)"));
  EXPECT_THAT(tooMany.message(), HasSubstr("only 4 of the model's 4 pages are free"));
  EXPECT_THAT(tooMany.message(), HasSubstr("--load-symbol num_pages=6"));
  // Nothing was taken by the refused call.
  EXPECT_EQ(generate(two, greedy(6)).tokens[0], fake.continuation(two[0], 6));
}

TEST_F(GeneratorTest, RefusesAModelWithoutALanguageModelEntry) {
  testing::FakeLanguageModel fake;
  nlohmann::ordered_json manifest = fake.manifest();
  manifest.erase("language_model");
  path = (std::filesystem::path(::testing::TempDir()) /
          ("generator.plain." + std::to_string(getpid()) + ".mvc"))
             .string();
  ASSERT_TRUE(testing::writeFakeLanguageModel(path, manifest, MVC_FAKE_LM_KERNELS_PATH).ok());
  std::unique_ptr<Session> plainSession = *Session::create({.device = "cpu", .numThreads = 1});
  std::unique_ptr<Model> plain = *plainSession->load(path);
  EXPECT_EQ(plain->languageModel(), nullptr);
  EXPECT_THAT(Generator::create(*plain).status().message(),
              HasSubstr("has no language_model entry"));
}

} // namespace
} // namespace mvc
