// Greedy and sampled token choice: hand-computed distributions after each warper, the order
// transformers applies them in, draw frequencies and seeded reproducibility.
#include "runtime/pipeline/Sampler.h"

#include <cmath>
#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mvc {
namespace {

using ::testing::HasSubstr;

/// Logits whose softmax is `probabilities`.
std::vector<float> logitsOf(const std::vector<double> &probabilities) {
  std::vector<float> logits;
  for (double p : probabilities)
    logits.push_back(static_cast<float>(std::log(p)));
  return logits;
}

Sampler sampler(SamplingOptions options) {
  absl::StatusOr<Sampler> created = Sampler::create(options);
  EXPECT_TRUE(created.ok()) << created.status();
  return *created;
}

SamplingOptions sampling(double temperature, int32_t topK = 0, double topP = 1, double minP = 0) {
  SamplingOptions options;
  options.temperature = temperature;
  options.topK = topK;
  options.topP = topP;
  options.minP = minP;
  return options;
}

/// The distribution the sampler draws from equals `expected` (float logits: 1e-6).
void expectDistribution(const SamplingOptions &options, const std::vector<float> &logits,
                        const std::vector<double> &expected) {
  absl::StatusOr<std::vector<double>> actual = sampler(options).distribution(logits);
  ASSERT_TRUE(actual.ok()) << actual.status();
  ASSERT_EQ(actual->size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR((*actual)[i], expected[i], 1e-6) << "token " << i;
}

const std::vector<double> kProbabilities = {0.5, 0.3, 0.15, 0.05};

TEST(SamplerTest, GreedyIsArgmaxWithTheLowestIndexOnTies) {
  SequenceRng rng(0, 0);
  Sampler greedy = sampler({});
  EXPECT_EQ(*greedy.sample(std::vector<float>{1, 3, 3, 2}, rng), 1);
  EXPECT_EQ(*greedy.sample(std::vector<float>{-INFINITY, -INFINITY}, rng), 0);
  EXPECT_EQ(*greedy.sample(std::vector<float>{-5, -1, -2}, rng), 1);
  expectDistribution({}, {0, 7, 7}, {0, 1, 0});
}

// The one-pass scan equals the plain definitions (first index of the largest value, first
// NaN or +inf) for every length around its 16 lanes, ties across lanes and in the tail,
// all -inf, and values drawn from a few levels so ties are common.
TEST(SamplerTest, ScanLogitsEqualsTheFirstLargestAndFirstInvalid) {
  std::mt19937 gen(7);
  for (size_t n : {1, 2, 15, 16, 17, 31, 32, 33, 47, 100, 262144}) {
    for (int trial = 0; trial < 20; ++trial) {
      std::vector<float> x(n);
      for (float &v : x) v = float(int(gen() % 7)) - 3.0f;
      if (trial == 1) std::fill(x.begin(), x.end(), -INFINITY);
      if (trial >= 2 && trial < 8) x[gen() % n] = trial % 2 ? NAN : INFINITY;
      if (trial == 8) x[n - 1] = 10.0f;  // the largest in the tail
      size_t best = 0;
      int64_t invalid = -1;
      for (size_t i = 0; i < n; ++i) {
        if (x[i] > x[best]) best = i;
        if ((std::isnan(x[i]) || x[i] == INFINITY) && invalid < 0) invalid = int64_t(i);
      }
      LogitScan scan = scanLogits(x);
      EXPECT_EQ(scan.invalid, invalid) << n << " trial " << trial;
      if (invalid < 0) EXPECT_EQ(size_t(scan.best), best) << n << " trial " << trial;
    }
  }
}

TEST(SamplerTest, LogprobsAreTheRawLogSoftmaxWithTheTopTokens) {
  const std::vector<float> logits = {1.0f, 3.0f, -2.0f, 3.0f, 0.5f};
  double z = 0;
  for (float x : logits)
    z += std::exp(double(x));
  auto expect = [&](int id) { return float(double(logits[id]) - std::log(z)); };
  absl::StatusOr<SampledLogprobs> got = logprobsOf(logits, 2, 3);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_FLOAT_EQ(got->logprob, expect(2));
  ASSERT_EQ(got->top.size(), 3u);
  // Most likely first; the tie between 1 and 3 goes to the lower id.
  EXPECT_EQ(got->top[0].token, 1);
  EXPECT_EQ(got->top[1].token, 3);
  EXPECT_EQ(got->top[2].token, 0);
  EXPECT_FLOAT_EQ(got->top[2].logprob, expect(0));
  EXPECT_TRUE(logprobsOf(logits, 0, 0)->top.empty());
  EXPECT_EQ(logprobsOf(logits, 0, 99)->top.size(), logits.size()); // capped at the vocabulary
  // Large logits do not overflow (log-sum-exp around the max).
  absl::StatusOr<SampledLogprobs> big = logprobsOf(std::vector<float>{1000.0f, 1000.0f}, 0, 1);
  ASSERT_TRUE(big.ok());
  EXPECT_FLOAT_EQ(big->logprob, float(-std::log(2.0)));
  EXPECT_FALSE(logprobsOf(logits, 5, 1).ok());
  EXPECT_FALSE(logprobsOf(logits, 0, -1).ok());
  EXPECT_FALSE(logprobsOf(std::vector<float>{1.0f, NAN}, 0, 1).ok());
}

TEST(SamplerTest, RejectsInvalidOptions) {
  EXPECT_THAT(Sampler::create(sampling(-1)).status().message(), HasSubstr("temperature"));
  EXPECT_THAT(Sampler::create(sampling(NAN)).status().message(), HasSubstr("temperature"));
  EXPECT_THAT(Sampler::create(sampling(1, -1)).status().message(), HasSubstr("top-k"));
  EXPECT_THAT(Sampler::create(sampling(1, 0, 0)).status().message(), HasSubstr("top-p"));
  EXPECT_THAT(Sampler::create(sampling(1, 0, 1.5)).status().message(), HasSubstr("top-p"));
  EXPECT_THAT(Sampler::create(sampling(1, 0, 1, 1.1)).status().message(), HasSubstr("min-p"));
  EXPECT_THAT(Sampler::create(sampling(0, 50)).status().message(),
              HasSubstr("only apply when sampling"));
}

TEST(SamplerTest, RejectsNanAndInfiniteLogits) {
  SequenceRng rng(0, 0);
  EXPECT_THAT(sampler({}).sample(std::vector<float>{0, NAN}, rng).status().message(),
              HasSubstr("token 1 is NaN"));
  EXPECT_THAT(sampler(sampling(1)).sample(std::vector<float>{INFINITY, 0}, rng).status().message(),
              HasSubstr("token 0 is +inf"));
  EXPECT_THAT(
      sampler(sampling(1)).sample(std::vector<float>{-INFINITY, -INFINITY}, rng).status().message(),
      HasSubstr("no token has a finite logit"));
}

TEST(SamplerTest, TemperatureScalesTheLogits) {
  std::vector<float> logits = logitsOf({1.0 / 7, 2.0 / 7, 4.0 / 7});
  expectDistribution(sampling(1), logits, {1.0 / 7, 2.0 / 7, 4.0 / 7});
  // T = 2: probabilities proportional to sqrt(1), sqrt(2), sqrt(4).
  double total = 3 + std::sqrt(2.0);
  expectDistribution(sampling(2), logits, {1 / total, std::sqrt(2.0) / total, 2 / total});
  // -inf logits keep probability 0.
  expectDistribution(sampling(1), {0, -INFINITY, 0}, {0.5, 0, 0.5});
}

TEST(SamplerTest, TopKKeepsTheKLargestAndTiesAtTheKth) {
  double e4 = std::exp(4.0), e5 = std::exp(5.0);
  expectDistribution(sampling(1, 2), {1, 2, 3, 4, 5}, {0, 0, 0, e4 / (e4 + e5), e5 / (e4 + e5)});
  // Three tokens tie at the 2nd largest logit: transformers removes only the smaller ones.
  expectDistribution(sampling(1, 2), {3, 1, 3, 3}, {1.0 / 3, 0, 1.0 / 3, 1.0 / 3});
  // k >= vocab: nothing removed.
  expectDistribution(sampling(1, 9), logitsOf(kProbabilities), kProbabilities);
}

TEST(SamplerTest, TopPRemovesTheTailWhoseMassIsAtMostOneMinusP) {
  std::vector<float> logits = logitsOf(kProbabilities);
  // Ascending cumulative: 0.05, 0.2, 0.5, 1.
  expectDistribution(sampling(1, 0, 0.9), logits, {0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0});
  expectDistribution(sampling(1, 0, 0.75), logits, {0.625, 0.375, 0, 0});
  expectDistribution(sampling(1, 0, 0.3), logits, {1, 0, 0, 0});
  // The most likely token always stays, however small p is.
  expectDistribution(sampling(1, 0, 1e-9), logits, {1, 0, 0, 0});
}

TEST(SamplerTest, MinPRemovesTokensBelowAFractionOfTheLargest) {
  std::vector<float> logits = logitsOf(kProbabilities);
  expectDistribution(sampling(1, 0, 1, 0.5), logits, {0.625, 0.375, 0, 0});
  expectDistribution(sampling(1, 0, 1, 0.2), logits, {0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0});
  expectDistribution(sampling(1, 0, 1, 1), logits, {1, 0, 0, 0});
}

// Each case below gives a different result if the two warpers run in the other order.
TEST(SamplerTest, TemperatureRunsBeforeTopPAndMinP) {
  std::vector<float> logits = logitsOf(kProbabilities);
  // T = 0.5 squares the probabilities: .25, .09, .0225, .0025 (sum .365). Ascending
  // cumulative .0068, .068, .315: top-p 0.9 keeps two (on the raw ones it would keep three).
  expectDistribution(sampling(0.5, 0, 0.9), logits, {0.25 / 0.34, 0.09 / 0.34, 0, 0});
  // T = 2: proportional to sqrt(p); min-p 0.5 keeps those >= 0.5 * sqrt(0.5), three of them
  // (on the raw ones, two).
  double a = std::sqrt(0.5), b = std::sqrt(0.3), c = std::sqrt(0.15);
  expectDistribution(sampling(2, 0, 1, 0.5), logits,
                     {a / (a + b + c), b / (a + b + c), c / (a + b + c), 0});
}

TEST(SamplerTest, TopKRunsBeforeTopP) {
  // Top-k 2 leaves .4/.7 and .3/.7; top-p 0.5 then drops .3/.7 (<= 0.5). The other order
  // would keep two.
  expectDistribution(sampling(1, 2, 0.5), logitsOf({0.4, 0.3, 0.2, 0.1}), {1, 0, 0, 0});
}

TEST(SamplerTest, TopPRunsBeforeMinP) {
  // Top-p 0.75 drops .1 (ascending cumulative .1 <= .25) and keeps .4, .3, .2; min-p 0.3
  // keeps all three (.2 >= .3 * .4). Min-p first would drop .1 and top-p then .2/.9.
  expectDistribution(sampling(1, 0, 0.75, 0.3), logitsOf({0.4, 0.3, 0.2, 0.1}),
                     {4.0 / 9, 3.0 / 9, 2.0 / 9, 0});
}

TEST(SamplerTest, DrawFrequenciesMatchTheDistribution) {
  // Top-k 3 over kProbabilities: .5, .3, .15 renormalized; token 3 must never be drawn.
  Sampler topK = sampler(sampling(1, 3));
  std::vector<float> logits = logitsOf(kProbabilities);
  std::vector<double> expected = *topK.distribution(logits);
  constexpr int kDraws = 40000;
  std::vector<int> counts(logits.size(), 0);
  SequenceRng rng(1234, 0);
  for (int i = 0; i < kDraws; ++i)
    ++counts[*topK.sample(logits, rng)];
  EXPECT_EQ(counts[3], 0);
  for (size_t t = 0; t < expected.size(); ++t) {
    // A correct sampler's frequency has standard deviation sqrt(p(1 - p) / N) <= 0.0025;
    // 5 of those would be exceeded by chance with probability < 1e-6. The seed is fixed, so
    // the test is deterministic either way.
    double sigma = std::sqrt(expected[t] * (1 - expected[t]) / kDraws);
    EXPECT_NEAR(static_cast<double>(counts[t]) / kDraws, expected[t], 5 * sigma + 1e-12)
        << "token " << t;
  }
}

TEST(SamplerTest, DrawsAreReproducibleBySeedAndSequence) {
  Sampler warm = sampler(sampling(1));
  std::vector<float> logits(32, 0.0f); // uniform over 32 tokens
  auto draws = [&](uint64_t seed, uint64_t sequence) {
    SequenceRng rng(seed, sequence);
    std::vector<int32_t> tokens;
    for (int i = 0; i < 24; ++i)
      tokens.push_back(*warm.sample(logits, rng));
    return tokens;
  };
  EXPECT_EQ(draws(7, 3), draws(7, 3));
  EXPECT_NE(draws(7, 3), draws(7, 4));
  EXPECT_NE(draws(7, 3), draws(8, 3));
}

TEST(SamplerTest, SequenceRngStreamIsPinned) {
  // What --seed promises across runs, builds and standard libraries: mt19937_64 seeded by
  // seed_seq{seed lo, seed hi, index lo, index hi}, the top 53 bits of each output.
  SequenceRng rng(42, 1);
  for (double expected :
       {0x1.ad0ce6072f315p-1, 0x1.cbbba3acfed64p-1, 0x1.4d69ef49ad768p-2, 0x1.9a7bad07b24a2p-2})
    EXPECT_EQ(rng.uniform(), expected);
}

} // namespace
} // namespace mvc
