// The serving loop over the fake language model (runtime/pipeline/FakeLanguageModel.h),
// whose greedy continuation is known in advance, with the tiny tokenizer: choices as
// text, concurrent requests joining between steps, stop strings across token boundaries,
// cancellation freeing pages, preemption when the KV pool runs out, and the length checks.
#include "runtime/serving/Scheduler.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <unistd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/pipeline/FakeLanguageModel.h"

namespace mvc::serving {
namespace {

using ::testing::HasSubstr;

std::string readFile(const std::string &path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct Output {
  std::vector<std::string> texts;
  std::vector<std::string> finishes;
};

class SchedulerTest : public ::testing::Test {
protected:
  void SetUp() override {
    absl::StatusOr<TextSession> made =
        TextSession::fromJson(readFile(MVC_TINY_TOKENIZER_DIR "/tokenizer.json"), "");
    ASSERT_TRUE(made.ok()) << made.status();
    text.emplace(std::move(*made));
  }
  void TearDown() override {
    scheduler.reset();
    model.reset();
    if (!path.empty())
      std::filesystem::remove(path);
  }

  void start(int64_t numPages = 0, int64_t reservedNewTokens = 256, bool prefixCache = false) {
    path = (std::filesystem::path(::testing::TempDir()) /
            ("scheduler." + std::to_string(getpid()) + ".mvc"))
               .string();
    ASSERT_TRUE(
        mvc::testing::writeFakeLanguageModel(path, fake.manifest(), MVC_FAKE_LM_KERNELS_PATH).ok());
    session = *Session::create({.device = "cpu", .numThreads = 1});
    LoadOptions options;
    if (numPages > 0)
      options.loadSymbols.emplace_back("num_pages", numPages);
    absl::StatusOr<std::unique_ptr<Model>> loaded = session->load(path, options);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    model = std::move(*loaded);
    SchedulerOptions schedulerOptions;
    schedulerOptions.reservedNewTokens = reservedNewTokens;
    schedulerOptions.engine.prefixCache = prefixCache;
    absl::StatusOr<std::unique_ptr<Scheduler>> made =
        Scheduler::create(*model, *text, textMutex, schedulerOptions);
    ASSERT_TRUE(made.ok()) << made.status();
    scheduler = std::move(*made);
  }

  static Job greedy(std::vector<int32_t> prompt, int64_t maxTokens, int64_t n = 1) {
    Job job;
    job.prompt = std::move(prompt);
    job.params.maxTokens = maxTokens;
    job.params.sampling.temperature = 0;
    job.params.n = n;
    return job;
  }

  /// Reads a stream to its end.
  static Output collect(RequestStream &stream, int64_t n) {
    Output out{std::vector<std::string>(n), std::vector<std::string>(n)};
    std::vector<ChoiceDelta> deltas;
    while (stream.next(deltas, std::chrono::milliseconds(50))) {
      for (ChoiceDelta &delta : deltas) {
        out.texts[delta.index] += delta.text;
        if (delta.finish)
          out.finishes[delta.index] = *delta.finish;
      }
      deltas.clear();
    }
    return out;
  }

  std::shared_ptr<RequestStream> submit(Job job) {
    auto result = scheduler->submit(std::move(job));
    if (std::holds_alternative<ApiError>(result)) {
      ADD_FAILURE() << std::get<ApiError>(result).message;
      return nullptr;
    }
    return std::get<std::shared_ptr<RequestStream>>(result);
  }

  std::string expected(const std::vector<int32_t> &prompt, int64_t tokens) {
    return text->decode(fake.continuation(prompt, tokens));
  }

  /// Each prompt's greedy continuation of `tokens[i]` tokens, requested by a client thread
  /// of its own, all at once; checked against the fake's.
  /// With `together`, the loop is held (by the text lock it needs after each step) until
  /// every request has been submitted, so that all of them run at once.
  void runConcurrently(const std::vector<std::vector<int32_t>> &prompts,
                       const std::vector<int64_t> &tokens, bool together = false) {
    std::unique_lock<std::mutex> hold(textMutex, std::defer_lock);
    if (together)
      hold.lock();
    std::vector<std::thread> clients;
    std::vector<std::string> got(prompts.size()), want(prompts.size());
    for (size_t i = 0; i < prompts.size(); ++i) {
      want[i] = expected(prompts[i], tokens[i]);
      clients.emplace_back([&, i] {
        std::shared_ptr<RequestStream> stream = submit(greedy(prompts[i], tokens[i]));
        if (stream)
          got[i] = collect(*stream, 1).texts[0];
      });
    }
    if (together) {
      // The first request's step is done and its tokens wait for the lock; the others are
      // queued by now (they need nothing but the loop's next iteration).
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      hold.unlock();
    }
    for (std::thread &client : clients)
      client.join();
    EXPECT_EQ(got, want);
    EXPECT_EQ(settledPagesInUse(), 0);
  }

  int64_t pagesInUse() {
    std::string metrics = scheduler->metricsText();
    size_t at = metrics.find("\nmvc_kv_pages_used ");
    return std::stoll(metrics.substr(at + 19));
  }
  /// Pages in use once the loop has published its gauges again (it does every 50 ms at
  /// most): 0 when everything was freed.
  int64_t settledPagesInUse() {
    for (int i = 0; i < 100 && pagesInUse() != 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return pagesInUse();
  }

  mvc::testing::FakeLanguageModel fake;
  std::optional<TextSession> text;
  std::mutex textMutex;
  std::string path;
  std::unique_ptr<Session> session;
  std::unique_ptr<Model> model;
  std::unique_ptr<Scheduler> scheduler;
};

TEST_F(SchedulerTest, GreedyChoicesAreTheModelsContinuationAsText) {
  start();
  std::shared_ptr<RequestStream> stream = submit(greedy({5, 6, 7}, 6, /*n=*/2));
  ASSERT_TRUE(stream);
  Output out = collect(*stream, 2);
  EXPECT_FALSE(stream->error);
  EXPECT_FALSE(expected({5, 6, 7}, 6).empty());
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(out.texts[i], expected({5, 6, 7}, 6));
    EXPECT_EQ(out.finishes[i], "length");
  }
  EXPECT_EQ(stream->promptTokens, 3);
  EXPECT_EQ(stream->completionTokens, 12);
  EXPECT_EQ(settledPagesInUse(), 0);
}

// The fake's logits are one-hot (1 at the next token, 0 elsewhere), so every log
// probability is known exactly: 1 - log(e + V - 1) for the chosen token, -log(e + V - 1)
// for any other (ties by lowest id).
TEST_F(SchedulerTest, LogprobsOfEachTokenAndItsAlternatives) {
  start();
  Job job = greedy({5, 6, 7}, 5);
  job.params.logprobs = 2;
  std::shared_ptr<RequestStream> stream = submit(std::move(job));
  ASSERT_TRUE(stream);
  std::vector<LogprobEntry> entries;
  std::vector<ChoiceDelta> deltas;
  while (stream->next(deltas, std::chrono::milliseconds(50))) {
    for (ChoiceDelta &delta : deltas)
      for (LogprobEntry &entry : delta.logprobs)
        entries.push_back(std::move(entry));
    deltas.clear();
  }
  const std::vector<int32_t> tokens = fake.continuation({5, 6, 7}, 5);
  ASSERT_EQ(entries.size(), tokens.size());
  const double logZ = std::log(std::exp(1.0) + double(fake.vocabSize - 1));
  for (size_t i = 0; i < tokens.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(entries[i].text, text->tokenText(tokens[i]));
    EXPECT_FLOAT_EQ(entries[i].logprob, float(1.0 - logZ));
    ASSERT_EQ(entries[i].top.size(), 2u);
    EXPECT_EQ(entries[i].top[0].first, text->tokenText(tokens[i]));
    EXPECT_FLOAT_EQ(entries[i].top[0].second, float(1.0 - logZ));
    EXPECT_EQ(entries[i].top[1].first, text->tokenText(tokens[i] == 0 ? 1 : 0));
    EXPECT_FLOAT_EQ(entries[i].top[1].second, float(-logZ));
  }
  // Without logprobs asked for, none.
  std::shared_ptr<RequestStream> plain = submit(greedy({5, 6, 7}, 3));
  ASSERT_TRUE(plain);
  while (plain->next(deltas, std::chrono::milliseconds(50))) {
    for (const ChoiceDelta &delta : deltas)
      EXPECT_TRUE(delta.logprobs.empty());
    deltas.clear();
  }
}

// Completions with echo and logprobs: each prompt token after the first, as the model
// predicted it from the ones before (the fake: 1 - log(e + V - 1) where the prompt goes
// its way, -log(e + V - 1) elsewhere), then the new tokens'.
TEST_F(SchedulerTest, PromptLogprobsFollowThePromptsLogits) {
  start(/*numPages=*/0, /*reservedNewTokens=*/256, /*prefixCache=*/true);
  const std::vector<int32_t> prompt = {5, 6, 7, 0, 9, 12, 3, 1, 4, 4};
  const double logZ = std::log(std::exp(1.0) + double(fake.vocabSize - 1));
  for (int round = 0; round < 2; ++round) { // the second with the prompt in the prefix cache
    Job job = greedy(prompt, 2);
    job.params.logprobs = 1;
    job.params.promptLogprobs = true;
    std::shared_ptr<RequestStream> stream = submit(std::move(job));
    ASSERT_TRUE(stream);
    std::vector<LogprobEntry> promptEntries, entries;
    std::vector<ChoiceDelta> deltas;
    while (stream->next(deltas, std::chrono::milliseconds(50))) {
      for (ChoiceDelta &delta : deltas) {
        promptEntries.insert(promptEntries.end(), delta.promptLogprobs.begin(), delta.promptLogprobs.end());
        entries.insert(entries.end(), delta.logprobs.begin(), delta.logprobs.end());
      }
      deltas.clear();
    }
    ASSERT_EQ(promptEntries.size(), prompt.size());
    EXPECT_TRUE(std::isnan(promptEntries[0].logprob));
    for (size_t i = 1; i < prompt.size(); ++i) {
      SCOPED_TRACE(i);
      const int32_t predicted =
          fake.next(std::vector<int32_t>(prompt.begin(), prompt.begin() + i));
      EXPECT_EQ(promptEntries[i].text, text->tokenText(prompt[i]));
      EXPECT_FLOAT_EQ(promptEntries[i].logprob, float((prompt[i] == predicted ? 1.0 : 0.0) - logZ));
      ASSERT_EQ(promptEntries[i].top.size(), 1u);
      EXPECT_EQ(promptEntries[i].top[0].first, text->tokenText(predicted));
    }
    EXPECT_EQ(entries.size(), 2u);
  }
}

// With the prefix cache, a finished request's pages serve the next one with the same
// start: the text is the same, the hit counted, the pages not "in use" once idle.
TEST_F(SchedulerTest, ThePrefixCacheServesRepeatedPrompts) {
  start(/*numPages=*/0, /*reservedNewTokens=*/256, /*prefixCache=*/true);
  const std::vector<int32_t> prompt = {5, 6, 7, 8, 9, 10, 11, 12, 13};
  for (int i = 0; i < 3; ++i) {
    std::shared_ptr<RequestStream> stream = submit(greedy(prompt, 4));
    ASSERT_TRUE(stream);
    EXPECT_EQ(collect(*stream, 1).texts[0], expected(prompt, 4));
  }
  runConcurrently({prompt, {5, 6, 7, 8, 1}, prompt}, {3, 5, 2}, /*together=*/true);
  std::string metrics = scheduler->metricsText();
  EXPECT_THAT(metrics, HasSubstr("\nmvc_kv_pages_cached "));
  size_t at = metrics.find("\nmvc_prefix_cache_hit_tokens_total ");
  ASSERT_NE(at, std::string::npos);
  EXPECT_GE(std::stod(metrics.substr(at + 35)), 2 * 8); // two whole pages, at least twice
}

TEST_F(SchedulerTest, ConcurrentRequestsJoinBetweenSteps) {
  start();
  std::vector<std::vector<int32_t>> prompts;
  std::vector<int64_t> tokens;
  for (int i = 0; i < 12; ++i) {
    prompts.push_back({5 + i % 7, 6, 7 + i % 5});
    tokens.push_back(4 + i);
  }
  runConcurrently(prompts, tokens);
  EXPECT_THAT(scheduler->metricsText(), HasSubstr("mvc_requests_total 12\n"));
}

TEST_F(SchedulerTest, StopStringsCutAcrossTokensAndAreNotSent) {
  start();
  std::string full = expected({5, 6, 7}, 10);
  ASSERT_GE(full.size(), 6u);
  // Two bytes that span a token boundary (the tiny tokenizer's tokens here are one byte).
  std::string stop = full.substr(2, 2);
  Job job = greedy({5, 6, 7}, 10);
  job.params.stop = {"never there", stop};
  std::shared_ptr<RequestStream> stream = submit(std::move(job));
  ASSERT_TRUE(stream);
  Output out = collect(*stream, 1);
  EXPECT_EQ(out.texts[0], full.substr(0, full.find(stop)));
  EXPECT_EQ(out.finishes[0], "stop");
  EXPECT_EQ(settledPagesInUse(), 0);
}

TEST_F(SchedulerTest, CancelledRequestsFreeTheirPages) {
  start();
  // The loop needs the text lock to detokenize: holding it stops the loop right after the
  // request's first step, so the cancel lands mid-generation whatever the model's speed.
  std::unique_lock<std::mutex> hold(textMutex);
  std::shared_ptr<RequestStream> stream = submit(greedy({5, 6, 7}, 60));
  ASSERT_TRUE(stream);
  for (int i = 0; i < 200 && pagesInUse() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_GT(pagesInUse(), 0);
  stream->cancel();
  hold.unlock();
  std::vector<ChoiceDelta> deltas;
  do
    deltas.clear();
  while (stream->next(deltas, std::chrono::milliseconds(50)));
  EXPECT_EQ(settledPagesInUse(), 0);
  EXPECT_LT(stream->completionTokens, 60);
}

TEST_F(SchedulerTest, PreemptionRecomputesAndKeepsTheResults) {
  // 6 pages of 4 tokens; three requests of 4 + 14 tokens need 5 pages each, but reserve
  // only their prompt and 2 new tokens (2 pages): all three start, and run out.
  start(/*numPages=*/6, /*reservedNewTokens=*/2);
  runConcurrently({{5, 6, 7, 8}, {6, 6, 7, 8}, {7, 6, 7, 8}}, {14, 14, 14}, /*together=*/true);
  EXPECT_THAT(scheduler->metricsText(), ::testing::Not(HasSubstr("mvc_preemptions_total 0\n")));
}

TEST_F(SchedulerTest, RequestsWaitForTheirReservationInsteadOfPreempting) {
  // The same three requests with their whole length reserved: one at a time, in order.
  start(/*numPages=*/6);
  runConcurrently({{5, 6, 7, 8}, {6, 6, 7, 8}, {7, 6, 7, 8}}, {14, 14, 14}, /*together=*/true);
  EXPECT_THAT(scheduler->metricsText(), HasSubstr("mvc_preemptions_total 0\n"));
}

TEST_F(SchedulerTest, LengthsBeyondTheContextAreRefused) {
  start();
  auto result = scheduler->submit(greedy(std::vector<int32_t>(64, 5), 1));
  ASSERT_TRUE(std::holds_alternative<ApiError>(result));
  EXPECT_EQ(std::get<ApiError>(result).status, 413);
  result = scheduler->submit(greedy({5, 6}, 63));
  ASSERT_TRUE(std::holds_alternative<ApiError>(result));
  EXPECT_EQ(std::get<ApiError>(result).status, 400);
  EXPECT_THAT(std::get<ApiError>(result).message, HasSubstr("exceed this model's context of 64"));
  result = scheduler->submit(greedy({}, 1));
  ASSERT_TRUE(std::holds_alternative<ApiError>(result));
  EXPECT_EQ(std::get<ApiError>(result).status, 400);
  // A token outside the vocabulary: refused at admission, the request never runs.
  result = scheduler->submit(greedy({5, 99}, 1));
  ASSERT_TRUE(std::holds_alternative<ApiError>(result));
  EXPECT_EQ(std::get<ApiError>(result).status, 400);
}

} // namespace
} // namespace mvc::serving
