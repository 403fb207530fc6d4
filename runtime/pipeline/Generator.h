//===- Generator.h - a batch of prompts to their continuations -------------===//
//
// Generator is mvc-run's loop over the step Engine (Engine.h): it queues every prompt of
// a batch, checks up front that the whole batch fits the model's KV pages and activation
// memory (so a batch is refused before anything runs, never half done), steps until
// every sequence has finished, and gathers tokens, prompt logits and statistics:
//   prefill  prompts in calls of at most prefill_chunk tokens, ragged and in order (a
//            prompt longer than a chunk continues in the next call on the cache the
//            previous one wrote; an image's span is never cut); decodes of sequences that
//            have finished their prompt share the calls of later prompts' chunks;
//   decode   one token per unfinished sequence per call; a sequence leaves the batch when
//            it samples an EOS id (kept in its output, as transformers' generate does) or
//            has max_new_tokens tokens.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_PIPELINE_GENERATOR_H
#define MVC_RUNTIME_PIPELINE_GENERATOR_H

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "mvc/Runtime.h"
#include "runtime/pipeline/Engine.h"
#include "runtime/pipeline/Sampler.h"

namespace mvc {

struct GenerationOptions {
  int64_t maxNewTokens = 32;
  SamplingOptions sampling;
  /// Last: [num_prompts, vocab], each prompt's last position; All: [total prompt tokens,
  /// vocab], every position, prompts in order.
  PromptLogits promptLogits = PromptLogits::None;
  /// Called for every new token as soon as it is chosen: (prompt index, token id).
  std::function<void(size_t, int32_t)> onToken;
  /// Activation memory the prefill may take (the forward program's arena and outputs at the
  /// batch's size, the vision program's, the image features), planned before anything runs;
  /// a larger batch is refused. 0: three quarters of the machine's physical memory.
  uint64_t activationMemoryLimit = 0;
  /// Most tokens one call takes (the activations grow with it; the work does not). An
  /// image's span attends to itself both ways and is never split: a call may exceed the
  /// chunk to hold one whole. 0: every prompt in one call.
  int64_t prefillChunk = 512;
  /// Each forward call's outputs beyond the logits (EngineOptions::onExtraOutputs).
  EngineOptions::OutputObserver onExtraOutputs;
};

struct GenerationStats {
  int64_t promptTokens = 0;
  double prefillSeconds = 0; // the calls that held prompt tokens (with any decodes in them)
  int64_t prefillCalls = 0;
  int64_t decodeTokens = 0;    // tokens chosen from decode rows (the first comes from prefill)
  int64_t decodeSteps = 0;     // calls of decodes only
  double decodeSeconds = 0;    // those calls, sampling included
  double timeToFirstToken = 0; // from generate() to the first token of the batch; 0 if none

  double prefillTokensPerSecond() const;
  double decodeTokensPerSecond() const;
};

struct GenerationResult {
  std::vector<std::vector<int32_t>> tokens; // per prompt: the new tokens only
  std::vector<FinishReason> finishReasons;  // per prompt
  HostTensor promptLogits;                  // f32, see PromptLogits; empty for None
  GenerationStats stats;
};

class Generator {
public:
  /// Fails unless `model` (which must outlive the Generator) is a language model whose
  /// run half this runtime has.
  static absl::StatusOr<Generator> create(Model &model);

  /// Generates a continuation of every prompt. Errors (nothing generated): no prompts, an
  /// empty prompt, a token outside [0, vocab), prompt + max_new_tokens beyond the model's
  /// positions, more KV pages needed than the model has free, or more activation memory.
  ///
  /// For a multimodal model, `images[b]` holds prompt b's images in order, as the vision
  /// program takes them (frames of pixel values f32 [C, S, S] or [1, C, S, S]); the run half checks
  /// them against the prompt's image tokens and fills the forward call's image inputs.
  absl::StatusOr<GenerationResult>
  generate(const std::vector<std::vector<int32_t>> &prompts, const GenerationOptions &options,
           const std::vector<std::vector<ImageFrame>> &images = {});
  /// The logits of every prompt position, [total prompt tokens, vocab]: the prefill with
  /// logit_rows = all rows.
  absl::StatusOr<HostTensor> promptLogits(const std::vector<std::vector<int32_t>> &prompts,
                                          const std::vector<std::vector<ImageFrame>> &images = {});
  const RunHalf &runHalf() const { return engine->runHalf(); }

private:
  explicit Generator(std::unique_ptr<Engine> engine) : engine(std::move(engine)) {}
  /// Refuses a batch that needs more KV pages than are free.
  absl::Status checkPages(const std::vector<std::vector<int32_t>> &prompts,
                          int64_t maxNewTokens) const;
  /// Refuses a batch whose largest call plans more activation memory than the limit.
  absl::Status checkActivationMemory(const std::vector<std::vector<int32_t>> &prompts,
                                     const std::vector<std::vector<ImageFrame>> &images,
                                     const GenerationOptions &options) const;

  std::unique_ptr<Engine> engine;
};

} // namespace mvc

#endif // MVC_RUNTIME_PIPELINE_GENERATOR_H
