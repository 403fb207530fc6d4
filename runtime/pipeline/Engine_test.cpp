// The step engine over the fake language model (FakeLanguageModel.h), whose greedy output
// is known in advance and changes with any error in positions, cache lengths, row offsets,
// block tables or the contents of shared pages: sequences arriving and leaving between
// steps, cancellation, a shared prefix on reference-counted pages, pool exhaustion, the
// per-step token budget, and the run-half registry refusing an unknown architecture.
#include "runtime/pipeline/Engine.h"

#include <filesystem>
#include <unistd.h>

#include "runtime/pipeline/FakeLanguageModel.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mvc {
namespace {

using ::testing::HasSubstr;

class EngineTest : public ::testing::Test {
protected:
  void TearDown() override {
    engine.reset();
    model.reset();
    if (!path.empty())
      std::filesystem::remove(path);
  }

  /// Loads `manifest` (with `numPages` pages if > 0).
  absl::StatusOr<std::unique_ptr<Model>> loadManifest(const nlohmann::ordered_json &manifest,
                                                      int64_t numPages = 0) {
    path = (std::filesystem::path(::testing::TempDir()) /
            ("engine." + std::to_string(getpid()) + ".mvc"))
               .string();
    EXPECT_TRUE(testing::writeFakeLanguageModel(path, manifest, MVC_FAKE_LM_KERNELS_PATH).ok());
    session = *Session::create({.device = "cpu", .numThreads = 1});
    LoadOptions options;
    if (numPages > 0)
      options.loadSymbols.emplace_back("num_pages", numPages);
    return session->load(path, options);
  }

  Engine &load(int64_t numPages = 0, EngineOptions options = {}) {
    absl::StatusOr<std::unique_ptr<Model>> loaded = loadManifest(fake.manifest(), numPages);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    model = std::move(*loaded);
    absl::StatusOr<std::unique_ptr<Engine>> created = Engine::create(*model, options);
    EXPECT_TRUE(created.ok()) << created.status();
    engine = std::move(*created);
    return *engine;
  }

  SequenceId add(std::vector<int32_t> prompt, int64_t maxNewTokens,
                 std::optional<SequenceId> shareWith = std::nullopt) {
    SequenceRequest request;
    request.prompt = std::move(prompt);
    request.maxNewTokens = maxNewTokens;
    request.sharePrefixWith = shareWith;
    absl::StatusOr<SequenceId> id = engine->add(std::move(request));
    EXPECT_TRUE(id.ok()) << id.status();
    return id.value_or(-1);
  }

  /// One step; its tokens appended to `outputs`, finished ids to `done`.
  StepResult step() {
    absl::StatusOr<StepResult> result = engine->step();
    EXPECT_TRUE(result.ok()) << result.status();
    if (!result.ok())
      return {};
    for (const SequenceEvent &event : result->events) {
      if (event.token)
        outputs[event.id].push_back(*event.token);
      if (event.finished)
        done.push_back(event.id);
    }
    return std::move(*result);
  }

  void runToIdle() {
    for (int guard = 0; !engine->idle() && guard < 1000; ++guard)
      step();
    EXPECT_TRUE(engine->idle());
  }

  testing::FakeLanguageModel fake;
  std::string path;
  std::unique_ptr<Session> session;
  std::unique_ptr<Model> model;
  std::unique_ptr<Engine> engine;
  std::map<SequenceId, std::vector<int32_t>> outputs;
  std::vector<SequenceId> done;
};

TEST_F(EngineTest, SequencesJoinAndLeaveBetweenSteps) {
  load();
  SequenceId a = add({2, 9, 4, 4, 1}, 6);
  step(); // a's prefill: its first token
  step(); // a decodes
  SequenceId b = add({2, 13, 7}, 4);
  StepResult mixed = step(); // a decodes, b prefills, in one call
  EXPECT_EQ(mixed.decodeTokens, 1);
  EXPECT_EQ(mixed.prefillTokens, 3);
  step();
  SequenceId c = add({3}, 8);
  runToIdle();
  EXPECT_EQ(outputs[a], fake.continuation({2, 9, 4, 4, 1}, 6));
  EXPECT_EQ(outputs[b], fake.continuation({2, 13, 7}, 4));
  EXPECT_EQ(outputs[c], fake.continuation({3}, 8));
  EXPECT_EQ(done, (std::vector<SequenceId>{a, b, c})); // a and b finish in one step, a first
  EXPECT_EQ(engine->pages().numFreePages(), engine->pages().numPages());
}

// A benchmark's sequences generate exactly maxNewTokens: EOS does not end them.
TEST_F(EngineTest, IgnoreEosGeneratesExactlyMaxNewTokens) {
  std::vector<int32_t> prompt = {2, 3};
  std::vector<int32_t> free = fake.continuation(prompt, 10);
  fake.eosTokenIds = {free[2]}; // stops at the 3rd token unless told otherwise
  load();
  SequenceRequest stops, runs;
  stops.prompt = runs.prompt = prompt;
  stops.maxNewTokens = runs.maxNewTokens = 10;
  runs.ignoreEos = true;
  SequenceId a = *engine->add(stops), b = *engine->add(runs);
  runToIdle();
  EXPECT_EQ(outputs[a], std::vector<int32_t>(free.begin(), free.begin() + 3));
  EXPECT_EQ(outputs[b], free);
}

TEST_F(EngineTest, ACancelledSequenceLeavesAtOnceAndFreesItsPages) {
  load();
  SequenceId a = add({2, 5, 7, 1, 1, 1}, 20);
  SequenceId b = add({2, 6}, 10);
  step();
  step();
  int32_t before = engine->pages().numFreePages();
  ASSERT_TRUE(engine->cancel(a).ok());
  EXPECT_EQ(engine->pages().numFreePages(), before + 2); // a held 7 tokens: 2 pages
  EXPECT_EQ(engine->cancel(a).message(), "no sequence 0");
  runToIdle();
  EXPECT_EQ(outputs[b], fake.continuation({2, 6}, 10));
  EXPECT_EQ(outputs[a].size(), 2u);
  EXPECT_EQ(engine->pages().numFreePages(), engine->pages().numPages());
}

TEST_F(EngineTest, ASharedPrefixReadsTheSamePagesAndEachHoldsThem) {
  load();
  std::vector<int32_t> system = {2, 9, 4, 4, 1, 3, 8, 11, 6, 5}; // two full pages and 2
  std::vector<int32_t> first = system, second = system;
  first.insert(first.end(), {7, 7});
  second.insert(second.end(), {1, 12, 3});
  SequenceId a = add(first, 5);
  step(); // a's prompt is cached
  SequenceId b = add(second, 5, a);
  const KvPageTable &pages = engine->pages();
  absl::Span<const int32_t> view = *pages.pages(b);
  std::vector<int32_t> shared(view.begin(), view.end());
  ASSERT_EQ(shared.size(), 2u); // whole pages of the 10 common tokens: 8
  EXPECT_EQ(*pages.length(b), 8);
  EXPECT_EQ(pages.holders(shared[0]), 2);
  StepResult next = step();
  EXPECT_EQ(next.prefillTokens, 5); // b runs only what it does not share
  ASSERT_TRUE(engine->cancel(a).ok());
  EXPECT_EQ(pages.holders(shared[0]), 1); // b still holds them
  runToIdle();
  EXPECT_EQ(outputs[b], fake.continuation(second, 5));
  EXPECT_EQ(pages.numFreePages(), pages.numPages());
}

// The prefix cache: a finished sequence's whole pages serve a later prompt that starts
// alike (the fake reads every token back through the pages, so sharing wrong pages would
// change its tokens), and give way, least recently used first, when pages run short.
TEST_F(EngineTest, ThePrefixCacheReusesFinishedPagesAndEvictsThemWhenNeeded) {
  EngineOptions options;
  options.prefixCache = true;
  load(/*numPages=*/8, options); // 8 pages of 4 tokens
  const KvPageTable &pages = engine->pages();
  std::vector<int32_t> system = {2, 9, 4, 4, 1, 3, 8, 11, 6, 5}; // two full pages and 2
  std::vector<int32_t> first = system, second = system;
  first.insert(first.end(), {7, 7});
  second.insert(second.end(), {1, 12, 3});
  SequenceId a = add(first, 3);
  runToIdle();
  // a computed 12 + 2 tokens: 3 whole pages stay cached.
  EXPECT_EQ(pages.numFreePages(), 5);
  EXPECT_EQ(engine->availablePages(), 8);
  ASSERT_NE(engine->prefixCache(), nullptr);
  EXPECT_EQ(engine->prefixCache()->numEntries(), 1u);
  SequenceId b = add(second, 4);
  EXPECT_EQ(*pages.length(b), 8); // the two pages of the common 10 tokens
  EXPECT_EQ(engine->prefixCache()->hitTokens(), 8);
  StepResult next = step();
  EXPECT_EQ(next.prefillTokens, 5);
  runToIdle();
  EXPECT_EQ(outputs[a], fake.continuation(first, 3));
  EXPECT_EQ(outputs[b], fake.continuation(second, 4));
  // The same prompt again starts on everything but its last token's page.
  SequenceId c = add(first, 3);
  EXPECT_EQ(*pages.length(c), 8);
  runToIdle();
  EXPECT_EQ(outputs[c], fake.continuation(first, 3));
  // A prompt that needs every page: the cache's entries are evicted to make room.
  std::vector<int32_t> big(30, 1);
  big[0] = 3;
  SequenceId d = add(big, 2);
  EXPECT_FALSE(pages.contains(d)); // nothing in common: no pages before its first step
  EXPECT_LT(pages.numFreePages(), 8); // the cache still holds some
  runToIdle();
  EXPECT_EQ(outputs[d], fake.continuation(big, 2));
  engine.reset();
  EXPECT_EQ(pages.numFreePages(), pages.numPages()); // the engine gave every page back
}

// A prompt that starts on cached pages still waits for a running slot (maxRunning): the
// pages it shares do not make it a running sequence.
TEST_F(EngineTest, PrefixCacheHitsStillWaitForARunningSlot) {
  EngineOptions options;
  options.prefixCache = true;
  options.maxRunning = 1;
  load(/*numPages=*/0, options);
  const std::vector<int32_t> prompt = {2, 9, 4, 4, 1, 3, 8, 11, 6};
  add(prompt, 2);
  runToIdle();
  SequenceId b = add(prompt, 3), c = add(prompt, 3);
  ASSERT_TRUE(engine->pages().contains(c)); // both start on the cached pages
  StepResult first = step();
  ASSERT_EQ(first.events.size(), 1u); // but only b runs
  EXPECT_EQ(first.events[0].id, b);
  runToIdle();
  EXPECT_EQ(outputs[b], fake.continuation(prompt, 3));
  EXPECT_EQ(outputs[c], fake.continuation(prompt, 3));
}

// The cache on a bare page table: positions compare by content key (an image's
// placeholders by its pixels: the same image shares its pages, another one behind the
// same ids does not), entries share pages with each other, eviction goes least recently
// used first and frees only what no one else holds.
TEST(PrefixCache, ContentKeysDecideHitsAndEvictionIsLeastRecentlyUsed) {
  KvPageTable table = *KvPageTable::create(/*numPages=*/8, /*pageSize=*/2);
  const uint64_t kImageA = uint64_t{1} << 63 | 1000, kImageB = uint64_t{1} << 63 | 2000;
  using Keys = std::vector<uint64_t>;
  {
    PrefixCache cache(table);
    Keys text = {1, 2, 3, 4, 5, 6}, image = {7, 8, kImageA, kImageA + 1, 5, 6};
    ASSERT_TRUE(table.reserve(/*sequence=*/0, 6).ok());
    ASSERT_TRUE(cache.retain(0, text, 6, /*entryId=*/10).ok());
    ASSERT_TRUE(table.release(0).ok());
    ASSERT_TRUE(table.reserve(1, 5).ok());
    ASSERT_TRUE(cache.retain(1, image, 5, 11).ok()); // two whole pages: 7, 8, A, A+1
    ASSERT_TRUE(table.release(1).ok());
    // A prefix the cache has already (1, 2, 3, 4 of entry 10) is not kept twice.
    ASSERT_TRUE(table.reserve(2, 5).ok());
    ASSERT_TRUE(cache.retain(2, Keys{1, 2, 3, 4, 9}, 5, 12).ok());
    ASSERT_TRUE(table.release(2).ok());
    EXPECT_EQ(cache.numEntries(), 2u);
    EXPECT_EQ(table.numFreePages(), 3); // 3 + 2 pages kept
    EXPECT_EQ(cache.evictablePages(), 5);
    // The same image finds its pages; another image behind the same text only the text.
    std::optional<PrefixCache::Match> hit =
        cache.find(Keys{7, 8, kImageA, kImageA + 1, 5, 6, 7}, 6);
    ASSERT_TRUE(hit);
    EXPECT_EQ(hit->entry, 11);
    EXPECT_EQ(hit->tokens, 4);
    hit = cache.find(Keys{7, 8, kImageB, kImageB + 1, 5, 6, 7}, 6);
    ASSERT_TRUE(hit);
    EXPECT_EQ(hit->tokens, 2);
    hit = cache.find(Keys{1, 2, 3, 4, 5, 6, 7}, 6);
    ASSERT_TRUE(hit);
    EXPECT_EQ(hit->entry, 10);
    EXPECT_EQ(hit->tokens, 6);
    EXPECT_FALSE(cache.find(Keys{2, 1, 3, 4}, 3));
    EXPECT_EQ(cache.hitTokens(), 12);
    EXPECT_EQ(cache.queriedTokens(), 25);
    // Entry 11 is the least recently used (10 was just found): evicted first.
    ASSERT_TRUE(cache.evictUntilFree(5).ok());
    EXPECT_EQ(cache.numEntries(), 1u);
    EXPECT_TRUE(table.contains(10));
    EXPECT_FALSE(table.contains(11));
    ASSERT_TRUE(cache.evictUntilFree(8).ok());
    EXPECT_EQ(cache.numEntries(), 0u);
  }
  EXPECT_EQ(table.numFreePages(), 8);
}

TEST_F(EngineTest, PoolExhaustionFailsTheStepCleanly) {
  // 4 pages of 4 tokens. Two sequences decoding past 8 tokens each need a third page.
  load(/*numPages=*/4);
  SequenceId a = add({2, 3, 4, 5, 6, 7, 8}, 6);
  SequenceId b = add({2, 9, 9, 9, 9, 9, 9}, 6);
  step(); // both prompts: 2 pages each, the pool is full
  step(); // both decode at position 7: still within their pages
  EXPECT_EQ(engine->pages().numFreePages(), 0);
  absl::StatusOr<StepResult> stuck = engine->step();
  ASSERT_FALSE(stuck.ok());
  EXPECT_EQ(stuck.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(stuck.status().message(), HasSubstr("KV cache: out of pages"));
  // Nothing moved: after freeing b, a goes on as if nothing happened.
  ASSERT_TRUE(engine->cancel(b).ok());
  runToIdle();
  EXPECT_EQ(outputs[a], fake.continuation({2, 3, 4, 5, 6, 7, 8}, 6));
  // A prompt that can never fit is refused when it is added.
  SequenceRequest huge;
  huge.prompt.assign(20, 1);
  huge.maxNewTokens = 1;
  EXPECT_THAT(engine->add(huge).status().message(), HasSubstr("needs 5 KV pages of 4 tokens"));
}

TEST_F(EngineTest, APromptWaitsForPagesAndThenRuns) {
  load(/*numPages=*/3);
  SequenceId a = add({2, 3, 4, 5, 6}, 3); // 7 tokens cached at most: 2 pages
  SequenceId b = add({2, 8, 8, 8, 8}, 3); // waits: 1 page left is not enough for 5 tokens
  StepResult first = step();
  EXPECT_EQ(first.prefillTokens, 5 + 4); // b starts with the 4 tokens its page holds
  runToIdle();
  EXPECT_EQ(outputs[a], fake.continuation({2, 3, 4, 5, 6}, 3));
  EXPECT_EQ(outputs[b], fake.continuation({2, 8, 8, 8, 8}, 3));
}

TEST_F(EngineTest, TheTokenBudgetCutsPromptsIntoChunks) {
  load(0, {.maxStepTokens = 3});
  std::vector<int32_t> longPrompt = {2, 9, 4, 4, 1, 3, 8, 11, 6};
  SequenceId a = add(longPrompt, 4);
  SequenceId b = add({2, 5}, 4);
  std::vector<int64_t> prefilled;
  while (!engine->idle()) {
    StepResult result = step();
    EXPECT_LE(result.prefillTokens + result.decodeTokens, 3);
    prefilled.push_back(result.prefillTokens);
  }
  EXPECT_EQ(prefilled[0], 3);
  EXPECT_EQ(outputs[a], fake.continuation(longPrompt, 4));
  EXPECT_EQ(outputs[b], fake.continuation({2, 5}, 4));
}

TEST_F(EngineTest, PromptLogitsComeWithTheirChunks) {
  load(0, {.maxStepTokens = 2});
  SequenceRequest request;
  request.prompt = {2, 5, 7, 1, 3};
  request.maxNewTokens = 1;
  request.promptLogits = PromptLogits::All;
  ASSERT_TRUE(engine->add(request).ok());
  int64_t rows = 0;
  while (!engine->idle()) {
    absl::StatusOr<StepResult> result = engine->step();
    ASSERT_TRUE(result.ok()) << result.status();
    for (const SequenceEvent &event : result->events)
      if (event.promptLogits.numElements() > 0) {
        // Row i is one-hot at the fake's prediction after prompt[0..i].
        for (int64_t r = 0; r < event.promptLogits.shape()[0]; ++r, ++rows) {
          std::vector<int32_t> prefix(request.prompt.begin(), request.prompt.begin() + rows + 1);
          EXPECT_EQ(event.promptLogits.dataAs<float>()[r * fake.vocabSize + fake.next(prefix)],
                    1.0f);
        }
      }
  }
  EXPECT_EQ(rows, 5);
}

TEST_F(EngineTest, RefusesAnArchitectureItHasNoRunHalfFor) {
  nlohmann::ordered_json manifest = fake.manifest();
  manifest["language_model"]["architecture"] = "llama9";
  absl::StatusOr<std::unique_ptr<Model>> loaded = loadManifest(manifest);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  absl::Status refused = Engine::create(**loaded).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(refused.message(),
              HasSubstr("needs the run half of architecture 'llama9', which this runtime does "
                        "not have (it has: gemma3, gemma3_multimodal, gemma4, idefics3, llama, qwen3vl)"));
}

TEST_F(EngineTest, RefusesBadRequestsNamingThem) {
  load();
  SequenceRequest request;
  request.label = "request 7";
  EXPECT_EQ(engine->add(request).status().message(), "request 7 is empty");
  request.prompt = {2, 99};
  EXPECT_THAT(engine->add(request).status().message(),
              HasSubstr("request 7, position 1: token id 99 is outside the vocabulary [0, 16)"));
  request.prompt = {2};
  request.images.push_back({HostTensor::allocate(DType::F32, {3, 4, 4}), HostTensor()});
  EXPECT_THAT(engine->add(request).status().message(), HasSubstr("the model takes no images"));
  EXPECT_TRUE(engine->idle());
}

TEST(ShapeBucket, PowersOfTwoThenEighthSteps) {
  std::vector<std::pair<int64_t, int64_t>> cases = {
      {0, 0},    {1, 1},    {3, 4},    {5, 8},     {16, 16},   {17, 18},  {18, 18},
      {33, 36},  {64, 64},  {65, 72},  {300, 320}, {513, 576}, {4096, 4096}};
  for (auto [count, bucket] : cases)
    EXPECT_EQ(shapeBucket(count), bucket) << count;
  for (int64_t count = 17; count < 5000; ++count) {
    int64_t bucket = shapeBucket(count);
    EXPECT_GE(bucket, count);
    EXPECT_LE(bucket * 8, count * 9) << count; // at most 12.5% more
    EXPECT_EQ(shapeBucket(bucket), bucket) << count;
  }
}

// A server's batch changes every step (sequences of different lengths come and go, the
// block table widens as they grow): bucketed shapes make a few plans where exact shapes
// make one per distinct shape, and change no token (the padding rows' keys and values go
// to a free page; a page in use would change the fake model's continuations).
TEST_F(EngineTest, BucketedShapesReuseFewPlansAndChangeNoToken) {
  std::vector<std::vector<int32_t>> prompts = {
      {2, 9, 4, 4, 1}, {2, 13, 7},   {3},          {2, 5, 7, 1, 1, 1, 9, 9, 4}, {6, 6},
      {2, 4, 8, 12, 3}, {1, 1, 2, 3}, {9, 8, 7, 6}, {2, 11},                     {5, 3, 1, 4}};
  std::vector<int64_t> lengths = {14, 9, 21, 5, 17, 11, 30, 3, 25, 8};
  std::map<bool, uint64_t> plans;
  for (bool bucketed : {false, true}) {
    engine.reset();
    model.reset();
    outputs.clear();
    EngineOptions options;
    options.shapes = bucketed ? EngineOptions::Shapes::Bucketed : EngineOptions::Shapes::Exact;
    options.maxStepTokens = 6; // prompts go in chunks beside other sequences' decodes
    load(64, options);
    std::vector<SequenceId> ids;
    for (size_t i = 0; i < prompts.size(); ++i) {
      ids.push_back(add(prompts[i], lengths[i]));
      step();
      step();
    }
    runToIdle();
    for (size_t i = 0; i < prompts.size(); ++i)
      EXPECT_EQ(outputs[ids[i]], fake.continuation(prompts[i], lengths[i]))
          << "prompt " << i << (bucketed ? ", bucketed" : ", exact");
    EXPECT_EQ(engine->pages().numFreePages(), engine->pages().numPages());
    plans[bucketed] = model->planStats().plans;
  }
  EXPECT_LT(plans[true] * 2, plans[false]) << plans[true] << " plans bucketed, " << plans[false] << " exact";
}

} // namespace
} // namespace mvc
