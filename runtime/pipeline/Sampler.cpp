//===- Sampler.cpp - greedy and warped sampling ---------------------------===//
#include "runtime/pipeline/Sampler.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

#include "absl/strings/str_cat.h"
#include "runtime/util/StatusMacros.h"

namespace mvc {

absl::Status SamplingOptions::validate() const {
  if (!std::isfinite(temperature) || temperature < 0)
    return absl::InvalidArgumentError(
        absl::StrCat("temperature must be >= 0 (0 = greedy), got ", temperature));
  if (topK < 0)
    return absl::InvalidArgumentError(absl::StrCat("top-k must be >= 0 (0 = off), got ", topK));
  if (!(topP > 0 && topP <= 1))
    return absl::InvalidArgumentError(
        absl::StrCat("top-p must be in (0, 1] (1 = off), got ", topP));
  if (!(minP >= 0 && minP <= 1))
    return absl::InvalidArgumentError(
        absl::StrCat("min-p must be in [0, 1] (0 = off), got ", minP));
  if (greedy() && (topK != 0 || topP != 1 || minP != 0))
    return absl::InvalidArgumentError(
        "top-k, top-p and min-p only apply when sampling: set a temperature > 0 (e.g. 1; "
        "transformers' do_sample=True defaults are temperature 1 and top-k 50)");
  return absl::OkStatus();
}

SequenceRng::SequenceRng(uint64_t seed, uint64_t sequenceIndex) {
  std::seed_seq words{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                      static_cast<uint32_t>(sequenceIndex),
                      static_cast<uint32_t>(sequenceIndex >> 32)};
  engine.seed(words);
}

double SequenceRng::uniform() { return static_cast<double>(engine() >> 11) * 0x1.0p-53; }

LogitScan scanLogits(absl::Span<const float> logits) {
  // 16 lanes as four 4-wide vectors (GCC/Clang vector extensions: SSE on any x86-64): lane
  // j sees elements j, j + 16, ...: its largest value, the first index holding it, and
  // whether any of its elements is NaN or +inf (not below +inf).
  using F4 = float __attribute__((vector_size(16)));
  using I4 = int32_t __attribute__((vector_size(16)));
  constexpr size_t kLanes = 16;
  const float *x = logits.data();
  size_t n = logits.size();
  LogitScan scan;
  auto invalid = [](float v) { return !(v < INFINITY); };
  size_t whole = n / kLanes * kLanes;
  if (whole > 0) {
    F4 top[4], inf = {INFINITY, INFINITY, INFINITY, INFINITY};
    I4 at[4], index[4], bad[4];
    for (int k = 0; k < 4; ++k) {
      std::memcpy(&top[k], x + 4 * k, sizeof(F4));
      for (int l = 0; l < 4; ++l) index[k][l] = 4 * k + l;
      at[k] = index[k];
      bad[k] = I4{0, 0, 0, 0};
    }
    for (size_t i = 0; i < whole; i += kLanes)
      for (int k = 0; k < 4; ++k) {
        F4 v;
        std::memcpy(&v, x + i + 4 * k, sizeof(F4));
        I4 above = v > top[k];
        top[k] = above ? v : top[k];
        at[k] = above ? index[k] : at[k];
        bad[k] |= ~(v < inf);
        index[k] += int32_t(kLanes);
      }
    scan.best = at[0][0];
    bool anyBad = false;
    for (int k = 0; k < 4; ++k)
      for (int l = 0; l < 4; ++l) {
        anyBad |= bad[k][l] != 0;
        float t = top[k][l];
        if (t > x[scan.best] || (t == x[scan.best] && at[k][l] < scan.best)) scan.best = at[k][l];
      }
    if (anyBad)
      for (size_t i = 0; i < whole && scan.invalid < 0; ++i)
        if (invalid(x[i])) scan.invalid = int64_t(i);
  }
  for (size_t i = whole; i < n; ++i) {
    if (invalid(x[i]) && scan.invalid < 0) scan.invalid = int64_t(i);
    if (x[i] > x[scan.best]) scan.best = int32_t(i);
  }
  return scan;
}

absl::StatusOr<Sampler> Sampler::create(const SamplingOptions &options) {
  MVC_RETURN_IF_ERROR(options.validate());
  return Sampler(options);
}

namespace {

/// Scales the probabilities of what a filter kept to sum to 1: the softmax of the kept
/// logits, which is what transformers computes next.
template <typename C> void renormalize(std::vector<C> &candidates) {
  double total = 0;
  for (const C &c : candidates)
    total += c.probability;
  for (C &c : candidates)
    c.probability /= total;
}

/// Replaces each candidate's logit by its softmax probability over the candidates.
template <typename C> void softmax(std::vector<C> &candidates) {
  double largest = -INFINITY;
  for (const C &c : candidates)
    largest = std::max(largest, c.probability);
  for (C &c : candidates)
    c.probability = std::exp(c.probability - largest);
  renormalize(candidates);
}

} // namespace

absl::StatusOr<std::vector<Sampler::Candidate>>
Sampler::candidates(absl::Span<const float> logits) const {
  LogitScan scan = scanLogits(logits);
  if (int64_t i = scan.invalid; i >= 0)
    return absl::InvalidArgumentError(
        absl::StrCat("the logit of token ", i, " is ", logits[i] == INFINITY ? "+inf" : "NaN"));
  if (config.greedy())
    return std::vector<Candidate>{{scan.best, 1.0}};

  // Temperature, in float as torch divides a float32 tensor by a scalar. `probability`
  // holds the scaled logit until softmax().
  float temperature = static_cast<float>(config.temperature);
  std::vector<Candidate> kept;
  kept.reserve(logits.size());
  for (size_t i = 0; i < logits.size(); ++i)
    if (logits[i] != -INFINITY) // probability 0: every filter below would remove it
      kept.push_back({static_cast<int32_t>(i), logits[i] / temperature});
  if (kept.empty())
    return absl::InvalidArgumentError("no token has a finite logit");

  if (config.topK > 0 && static_cast<size_t>(config.topK) < kept.size()) {
    std::vector<double> values;
    values.reserve(kept.size());
    for (const Candidate &c : kept)
      values.push_back(c.probability);
    std::nth_element(values.begin(), values.begin() + (config.topK - 1), values.end(),
                     std::greater<>());
    double kth = values[config.topK - 1];
    kept.erase(std::remove_if(kept.begin(), kept.end(),
                              [&](const Candidate &c) { return c.probability < kth; }),
               kept.end());
  }
  softmax(kept);

  if (config.topP < 1) {
    // Most likely first; among equal ones the lower index first (kept longest).
    std::sort(kept.begin(), kept.end(), [](const Candidate &a, const Candidate &b) {
      return a.probability != b.probability ? a.probability > b.probability : a.token < b.token;
    });
    // Walk up from the least likely: drop while the ascending cumulative <= 1 - p.
    double cumulative = 0;
    size_t keep = kept.size();
    while (keep > 1) {
      cumulative += kept[keep - 1].probability;
      if (cumulative > 1 - config.topP)
        break;
      --keep;
    }
    kept.resize(keep);
    renormalize(kept);
  }

  if (config.minP > 0) {
    double largest = 0;
    for (const Candidate &c : kept)
      largest = std::max(largest, c.probability);
    double threshold = config.minP * largest;
    kept.erase(std::remove_if(kept.begin(), kept.end(),
                              [&](const Candidate &c) { return c.probability < threshold; }),
               kept.end());
    renormalize(kept);
  }
  // Back to increasing id order; only top-p reorders (the other filters erase in place),
  // so without it the candidates already are (a sort of the whole vocabulary per token
  // was most of a sampled step's cost: Gemma 3 has 262k tokens).
  if (config.topP < 1)
    std::sort(kept.begin(), kept.end(),
              [](const Candidate &a, const Candidate &b) { return a.token < b.token; });
  return kept;
}

absl::StatusOr<std::vector<double>> Sampler::distribution(absl::Span<const float> logits) const {
  MVC_ASSIGN_OR_RETURN(std::vector<Candidate> kept, candidates(logits));
  std::vector<double> probabilities(logits.size(), 0.0);
  for (const Candidate &c : kept)
    probabilities[c.token] = c.probability;
  return probabilities;
}

absl::StatusOr<SampledLogprobs> logprobsOf(absl::Span<const float> logits, int32_t token,
                                           int64_t top) {
  const int64_t vocab = static_cast<int64_t>(logits.size());
  if (token < 0 || token >= vocab)
    return absl::InvalidArgumentError(
        absl::StrCat("logprobs: token ", token, " outside the vocabulary of ", vocab));
  if (top < 0)
    return absl::InvalidArgumentError(absl::StrCat("logprobs: top ", top, " < 0"));
  float highest = -std::numeric_limits<float>::infinity();
  for (float x : logits) {
    if (std::isnan(x))
      return absl::InvalidArgumentError("logprobs: the logits hold NaN");
    highest = std::max(highest, x);
  }
  if (!std::isfinite(highest))
    return absl::InvalidArgumentError("logprobs: no token has a finite logit");
  double sum = 0;
  for (float x : logits)
    sum += std::exp(static_cast<double>(x) - highest);
  const double logZ = highest + std::log(sum);
  auto logprob = [&](int32_t id) { return static_cast<float>(logits[id] - logZ); };
  SampledLogprobs out;
  out.logprob = logprob(token);
  // The `top` largest logits: a min-heap of that size over one pass (the vocabulary is
  // large, `top` at most a few dozen).
  auto better = [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  };
  std::vector<int32_t> heap;
  const size_t want = static_cast<size_t>(std::min<int64_t>(top, vocab));
  for (int32_t id = 0; id < vocab && want; ++id) {
    if (heap.size() < want) {
      heap.push_back(id);
      std::push_heap(heap.begin(), heap.end(), better);
    } else if (better(id, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), better);
      heap.back() = id;
      std::push_heap(heap.begin(), heap.end(), better);
    }
  }
  std::sort(heap.begin(), heap.end(), better);
  for (int32_t id : heap)
    out.top.push_back({id, logprob(id)});
  return out;
}

absl::StatusOr<int32_t> Sampler::sample(absl::Span<const float> logits, SequenceRng &rng) const {
  MVC_ASSIGN_OR_RETURN(std::vector<Candidate> kept, candidates(logits));
  if (config.greedy())
    return kept.front().token;
  // Inverse CDF over the kept tokens in increasing id order.
  double target = rng.uniform();
  double cumulative = 0;
  for (const Candidate &c : kept) {
    cumulative += c.probability;
    if (target < cumulative)
      return c.token;
  }
  return kept.back().token; // rounding left the total a hair below `target`
}

} // namespace mvc
