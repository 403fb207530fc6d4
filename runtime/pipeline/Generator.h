//===- Generator.h - token generation over a language model's forward ------===//
//
// Generator drives the `forward` program of a language-model artifact (FORMAT.md
// "Language-model artifacts") over the model's paged KV cache:
//   prefill  calls of at most prefill_chunk tokens over the batch's prompts, ragged
//            and in order (a prompt longer than a chunk continues in the next call on
//            the cache the previous one wrote), with logit_rows = each sequence's last
//            row (or every row, for prompt logits); prompts with images in one call;
//   decode   one call per step with one token per unfinished sequence; a sequence
//            leaves the batch when it samples an EOS id (kept in its output, as
//            transformers' generate does) or has max_new_tokens tokens.
// It owns the KvPageTable over the model's `num_pages` pages, reserves pages before each
// call (having checked up front that the whole batch fits) and frees them at the end.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_PIPELINE_GENERATOR_H
#define MVC_RUNTIME_PIPELINE_GENERATOR_H

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "mvc/Runtime.h"
#include "runtime/kv_cache/KvPageTable.h"
#include "runtime/pipeline/Sampler.h"

namespace mvc {

/// Which prompt logits generate() returns besides the tokens.
enum class PromptLogits {
  None,
  Last, // [num_prompts, vocab]: each prompt's last position
  All,  // [total prompt tokens, vocab]: every position, prompts in order
};

struct GenerationOptions {
  int64_t maxNewTokens = 32;
  SamplingOptions sampling;
  PromptLogits promptLogits = PromptLogits::None;
  /// Called for every new token as soon as it is chosen: (prompt index, token id).
  std::function<void(size_t, int32_t)> onToken;
  /// Activation memory the prefill may take (the forward program's arena and outputs at the
  /// batch's size, the vision program's, the image features), planned before anything runs;
  /// a larger batch is refused. 0: three quarters of the machine's physical memory.
  uint64_t activationMemoryLimit = 0;
  /// Most prompt tokens one prefill call takes (the activations grow with it; the work
  /// does not). A batch with images runs in one call: an image's span attends to itself
  /// both ways and must not be split. 0: one call.
  int64_t prefillChunk = 512;
};

enum class FinishReason { Eos, MaxNewTokens };

struct GenerationStats {
  int64_t promptTokens = 0;
  double prefillSeconds = 0; // the prefill calls, from inputs to logits
  int64_t prefillCalls = 0;
  int64_t decodeTokens = 0;  // tokens chosen from decode calls (the first comes from prefill)
  int64_t decodeSteps = 0;
  double decodeSeconds = 0;    // every decode step, sampling included
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
  /// Fails unless `model` (which must outlive the Generator) is a language model.
  static absl::StatusOr<Generator> create(Model &model);

  /// Generates a continuation of every prompt. Errors (nothing generated): no prompts, an
  /// empty prompt, a token outside [0, vocab), prompt + max_new_tokens beyond the model's
  /// positions, or more KV pages needed than the model has.
  ///
  /// For a multimodal model, `images[b]` holds prompt b's images in order (pixel values f32
  /// [C, S, S] or [1, C, S, S]); prompt b must hold tokens_per_image image tokens per image.
  /// Each image runs through the vision program once; its features replace the embeddings
  /// of its image tokens, and each contiguous run of image tokens attends to itself both
  /// ways during prefill (the processor's token_type_ids).
  absl::StatusOr<GenerationResult> generate(const std::vector<std::vector<int32_t>> &prompts,
                                            const GenerationOptions &options,
                                            const std::vector<std::vector<HostTensor>> &images = {});
  /// The logits of every prompt position, [total prompt tokens, vocab]: the prefill with
  /// logit_rows = all rows.
  absl::StatusOr<HostTensor> promptLogits(const std::vector<std::vector<int32_t>> &prompts,
                                          const std::vector<std::vector<HostTensor>> &images = {});

private:
  Generator(Model &model, const LanguageModelInfo &info, KvPageTable pages,
            std::vector<size_t> inputOrder, size_t logitsOutput);

  /// One forward call; see the .cpp.
  struct Batch;
  absl::StatusOr<HostTensor> forward(const Batch &batch);
  absl::Status checkPrompts(const std::vector<std::vector<int32_t>> &prompts,
                            int64_t maxNewTokens) const;
  /// Refuses a prefill whose largest call plans more activation memory than the limit.
  absl::Status checkActivationMemory(const std::vector<Batch> &calls,
                                     const std::vector<std::vector<HostTensor>> &images,
                                     uint64_t limit) const;
  /// The prefill calls' batches: prompts in order, each call at most `chunk` tokens (0: all
  /// in one), logit rows as generate() needs them.
  std::vector<Batch> prefillBatches(const std::vector<std::vector<int32_t>> &prompts, bool allRows,
                                    int64_t chunk) const;
  /// Runs the vision program on every image and fills the prefill batch's image inputs.
  absl::Status addImages(Batch &prefill, const std::vector<std::vector<int32_t>> &prompts,
                         const std::vector<std::vector<HostTensor>> &images);

  Model *model;
  const LanguageModelInfo *languageModel;
  KvPageTable pages;
  /// For each program input, in program order, its FORMAT.md slot (tokens = 0, positions,
  /// block_table, row_offsets, cache_lens, logit_rows = 5, then image_features,
  /// embed_source, group_spans = 8 for a multimodal model).
  std::vector<size_t> inputOrder;
  size_t logitsOutput; // the position of output "logits"
  int64_t imageHidden = 0; // the width of image_features rows (multimodal models)
};

} // namespace mvc

#endif // MVC_RUNTIME_PIPELINE_GENERATOR_H
