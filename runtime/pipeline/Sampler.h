//===- Sampler.h - next-token choice from logits: greedy or sampled --------===//
//
// Greedy decoding is argmax (the lowest index on ties, as torch.argmax). Sampling applies
// the logits warpers transformers' `generate` builds for these options, in its order:
// temperature, top-k, top-p, min-p (GenerationMixin._get_logits_processor in
// transformers 5.23.0 generation/utils.py appends TemperatureLogitsWarper, TopKLogitsWarper,
// TopPLogitsWarper, MinPLogitsWarper in that order; top-h, typical-p, epsilon and eta are
// not offered), then draws from the softmax of what is left. The filters follow
// generation/logits_process.py:
//   top-k  removes the tokens whose logit is below the k-th largest (ties at it stay);
//   top-p  sorts ascending, removes the tokens whose ascending cumulative probability is
//          <= 1 - p, and always keeps the most likely one;
//   min-p  removes the tokens whose probability is below min_p times the largest one.
// Probabilities are computed in double, so a token exactly at a top-p or min-p boundary
// may fall on the other side than in torch's float32 arithmetic. Among equal logits, top-p
// treats the higher index as the less likely one (torch.sort does not specify it).
//
// Randomness: each sequence has its own stream, seeded from (seed, sequence index), and one
// draw is made per sampled token, so a sequence's tokens depend neither on the others in
// its batch nor on when they finish.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_PIPELINE_SAMPLER_H
#define MVC_RUNTIME_PIPELINE_SAMPLER_H

#include <cstdint>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace mvc {

struct SamplingOptions {
  /// 0 = greedy (argmax; top-k, top-p and min-p must then be off); > 0 samples.
  double temperature = 0;
  int32_t topK = 0; // 0 = off
  double topP = 1;  // in (0, 1]; 1 = off
  double minP = 0;  // in [0, 1]; 0 = off
  uint64_t seed = 0;

  bool greedy() const { return temperature == 0; }
  /// Errors name the option and its valid range.
  absl::Status validate() const;
};

/// The random stream of one sequence: std::mt19937_64 seeded through std::seed_seq from the
/// (seed, index) halves, both specified exactly by the C++ standard, and uniform doubles
/// made from the top 53 bits by hand (std::uniform_real_distribution is not portable).
class SequenceRng {
public:
  SequenceRng(uint64_t seed, uint64_t sequenceIndex);
  /// Uniform in [0, 1).
  double uniform();

private:
  std::mt19937_64 engine;
};

/// One pass over the logits: the index of the largest (the lowest one on ties), and the
/// first index holding NaN or +inf (-1 if none). A decode step's vocabulary (262144 for
/// Gemma) is read once, by 16 independent lanes the compiler vectorizes, not by a compare
/// chained through the best value so far (which cost Gemma 3 270M's decode 0.6 ms a step).
struct LogitScan {
  int32_t best = 0;
  int64_t invalid = -1;
};
LogitScan scanLogits(absl::Span<const float> logits);

/// A token and its log probability.
struct TokenLogprob {
  int32_t token = 0;
  float logprob = 0;
};
/// The log probability of a chosen token and the most likely tokens beside it.
struct SampledLogprobs {
  float logprob = 0;
  std::vector<TokenLogprob> top; // most likely first (ties: lower id first)
};

/// log softmax(logits) at `token`, and the `top` most likely tokens with theirs: the
/// model's own distribution (raw logits, before temperature and the warpers), which is
/// what OpenAI's `logprobs` report. Computed in double (log-sum-exp around the max).
/// Fails on NaN logits, a token outside the vocabulary or top < 0.
absl::StatusOr<SampledLogprobs> logprobsOf(absl::Span<const float> logits, int32_t token,
                                           int64_t top);

class Sampler {
public:
  /// Fails if the options are invalid.
  static absl::StatusOr<Sampler> create(const SamplingOptions &options);

  /// The distribution the next token is drawn from, over the whole vocabulary (0 for removed
  /// tokens; one-hot at the argmax when greedy). Fails on NaN logits or when no token has a
  /// finite logit.
  absl::StatusOr<std::vector<double>> distribution(absl::Span<const float> logits) const;
  /// The next token; sampling draws one number from `rng`, greedy draws none.
  absl::StatusOr<int32_t> sample(absl::Span<const float> logits, SequenceRng &rng) const;

  const SamplingOptions &options() const { return config; }

private:
  explicit Sampler(const SamplingOptions &options) : config(options) {}
  struct Candidate {
    int32_t token;
    double probability;
  };
  /// The tokens left after the warpers with their probabilities, most likely first.
  absl::StatusOr<std::vector<Candidate>> candidates(absl::Span<const float> logits) const;

  SamplingOptions config;
};

} // namespace mvc

#endif // MVC_RUNTIME_PIPELINE_SAMPLER_H
