//===- Engine.h - the step engine: sequences in, one forward call per step -===//
//
// The Engine drives a language model's `forward` program over the model's paged KV cache
// (Model::kvPages()) for any number of sequences that come and go between steps:
//
//   auto engine = Engine::create(model, {.maxStepTokens = 512});
//   SequenceId a = *engine->add({.prompt = ids, .maxNewTokens = 64});
//   while (!engine->idle()) {
//     StepResult step = *engine->step();    // one forward call
//     for (const SequenceEvent &e : step.events) ...  // tokens chosen, sequences finished
//   }
//
// A step is one ragged batch: first one token for every sequence that is decoding, then
// prefill chunks of waiting sequences in arrival order, until the step holds maxStepTokens
// tokens (a sequence may be cut anywhere the architecture's run half allows; an image's
// span stays whole). Pages are taken per step, all or nothing, and a finished or
// cancelled sequence's pages are released at once. Everything model-specific (extra
// inputs, images) is the run half's (RunHalf.h). mvc-run's Generator and mvc-serve are
// loops over this.
//
// Shapes: on cuda every distinct call shape is a plan with its own buffers and CUDA graph,
// so the engine pads each call to size buckets (EngineOptions::shapes): a server's
// changing batch then reuses a few graphs. The padding rows are one more sequence, at
// positions 0.. over a page no sequence holds; the cache of real sequences never sees them.
//
// Pool exhaustion: a prefill chunk is shortened (or waits) to fit the free pages; a step
// that cannot go on at all (decodes needing pages no one will free) fails with
// ResourceExhausted and changes nothing: the caller cancels a sequence (or preempts it)
// and steps again.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_PIPELINE_ENGINE_H
#define MVC_RUNTIME_PIPELINE_ENGINE_H

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "mvc/Runtime.h"
#include "runtime/kv_cache/KvPageTable.h"
#include "runtime/pipeline/RunHalf.h"
#include "runtime/pipeline/JsonConstraint.h"
#include "runtime/pipeline/PrefixCache.h"
#include "runtime/pipeline/Sampler.h"

namespace mvc {

/// Which prompt logits a sequence reports besides its tokens.
enum class PromptLogits {
  None,
  Last, // the prompt's last position
  All,  // every prompt position
};

enum class FinishReason { Eos, MaxNewTokens, Cancelled };

struct EngineOptions {
  /// Most tokens one step takes (decodes first, then prefill chunks); 0: no limit. A step
  /// holds at least one token of work if there is any.
  int64_t maxStepTokens = 512;
  /// Most sequences holding KV pages at once; later ones wait. 0: no limit.
  int64_t maxRunning = 0;
  /// Whether each forward call is padded to size buckets (shapeBucket(): tokens,
  /// sequences and logit rows; the block table's width to a power of two) so that a
  /// changing batch reuses a few plans and CUDA graphs instead of making one per shape.
  /// The padding rows are a sequence of their own whose keys and values go to a free
  /// page; their logits are dropped. Auto: where the model's device reuses plans
  /// (Model::reusesPlans(): cuda, cuda-emu). On the cpu a new plan costs ~0.3 ms, less
  /// than the padding rows do (`mvc-bench --shapes bucketed|exact` measures both).
  enum class Shapes { Auto, Bucketed, Exact };
  Shapes shapes = Shapes::Auto;
  /// Keep the whole KV pages of sequences that leave and start later prompts with the
  /// same first tokens (and the same images at their placeholders) on them
  /// (runtime/pipeline/PrefixCache.h); kept pages are evicted, least recently used first,
  /// when running sequences need them. Set at creation.
  bool prefixCache = false;
  /// Bytes of vision-program features kept by frame content (FeatureCache.h), so a
  /// repeated image is encoded once; 0: none. Set at creation.
  uint64_t visionCacheBytes = 0;
  /// Called after each forward call with the program's outputs other than the logits (an
  /// artifact compiled with --expose-routing has each MoE layer's routing there), in the
  /// program's order, and the call's batch: for checks and debugging.
  using OutputObserver = std::function<void(
      const ForwardBatch &batch, absl::Span<const std::pair<std::string, HostTensor>> outputs)>;
  OutputObserver onExtraOutputs;
};

/// The size bucket of a count: powers of two up to 16, then multiples of an eighth of the
/// power of two below (17 -> 18, 300 -> 320): at most 12.5% more above 16, 8 buckets
/// per doubling.
int64_t shapeBucket(int64_t count);

struct SequenceRequest {
  std::vector<int32_t> prompt;    // token ids, image placeholders included
  std::vector<ImageFrame> images; // the vision program's frames, in prompt order
  int64_t maxNewTokens = 32;      // 0: prefill only (e.g. for prompt logits)
  SamplingOptions sampling;
  uint64_t rngStream = 0; // the sequence's random stream: SequenceRng(seed, this)
  PromptLogits promptLogits = PromptLogits::None;
  /// Log probabilities of each new token (SequenceEvent::logprobs): -1 none, k >= 0 the
  /// chosen token's and the k most likely tokens' (the model's raw distribution).
  int64_t logprobs = -1;
  /// Holds the new tokens to one JSON object (response_format json_object): the sampler
  /// draws from the allowed tokens only. The sequence's own (it follows its tokens).
  std::shared_ptr<JsonConstraint> constraint;
  /// Generate exactly maxNewTokens, EOS or not (benchmarks: mvc-bench's decode steps).
  bool ignoreEos = false;
  /// Start on the cached pages of this sequence where its tokens equal this prompt's
  /// (whole pages only; the rest is prefilled). The source must still be in the engine.
  std::optional<SequenceId> sharePrefixWith;
  /// Names the sequence in errors ("prompt 2"); default "sequence <id>".
  std::string label;
};

/// What one step did for one sequence.
struct SequenceEvent {
  SequenceId id = 0;
  std::optional<int32_t> token; // the token chosen this step
  std::optional<SampledLogprobs> logprobs; // its log probability (SequenceRequest::logprobs)
  HostTensor promptLogits;      // f32 [rows, vocab]: prompt rows this step computed
  int64_t promptTokens = 0;     // prompt tokens this step prefilled
  bool finished = false;
  FinishReason reason = FinishReason::MaxNewTokens;
};

struct StepResult {
  std::vector<SequenceEvent> events; // one per sequence in the step, in batch order
  int64_t prefillTokens = 0, decodeTokens = 0;
  double seconds = 0; // inputs, forward and sampling
};

class Engine {
public:
  /// Fails unless `model` (which must outlive the engine) is a language model whose run
  /// half this runtime has.
  static absl::StatusOr<std::unique_ptr<Engine>> create(Model &model,
                                                        const EngineOptions &options = {});
  ~Engine();

  /// Queues a sequence. Errors (nothing queued): an empty prompt, a token outside the
  /// vocabulary, prompt + max_new_tokens beyond the model's positions or its KV pool,
  /// images the run half refuses, bad sampling options.
  absl::StatusOr<SequenceId> add(SequenceRequest request);
  /// Checks a request as add() would (but for the pool's size), without queueing it.
  absl::Status check(const SequenceRequest &request) const;
  /// ResourceExhausted if the request could never fit the KV pool, even alone.
  absl::Status checkFits(const SequenceRequest &request) const;
  /// Drops a sequence now and releases its pages.
  absl::Status cancel(SequenceId id);
  /// One forward call over the scheduled work; an empty result when there is none.
  absl::StatusOr<StepResult> step();

  /// Applies from the next step on.
  void setOptions(const EngineOptions &newOptions) { options = newOptions; }

  bool idle() const { return sequences.empty(); }
  /// Whether forward calls are padded to size buckets (EngineOptions::shapes).
  bool bucketed() const;
  size_t numSequences() const { return sequences.size(); }
  const LanguageModelInfo &info() const { return *languageModel; }
  const RunHalf &runHalf() const { return *half; }
  const KvPageTable &pages() const { return *kvPages; }
  /// Pages free or held only by the prefix cache (which gives them up on demand).
  int64_t availablePages() const;
  /// The prefix cache (EngineOptions::prefixCache), or nullptr.
  const PrefixCache *prefixCache() const { return prefixes.get(); }
  /// The vision-feature cache (EngineOptions::visionCacheBytes), or null.
  const FeatureCache *visionFeatures() const { return half->visionFeatures(); }
  Model &model() const { return *target; }

  /// Activation memory of a forward call of `tokens` tokens over `sequences` sequences
  /// whose longest holds `maxTokens` tokens, with `logitRows` logit rows and `images`
  /// images; planned, not run.
  absl::StatusOr<uint64_t> forwardActivationBytes(int64_t tokens, int64_t sequences,
                                                  int64_t maxTokens, int64_t logitRows,
                                                  int64_t images) const;

private:
  struct Sequence;
  struct Scheduled;
  Engine(Model &model, std::unique_ptr<RunHalf> half, const EngineOptions &options);
  std::vector<Scheduled> schedule();
  /// Each position's content for the prefix cache: a token's id, or for an image
  /// placeholder a key of its frame's pixels and its row in the frame (bit 63 set).
  std::vector<uint64_t> contentKeys(const Sequence &sequence) const;
  absl::StatusOr<HostTensor> forward(const ForwardBatch &batch);
  /// `batch` padded to the size buckets, or nullopt if it is one already or cannot be
  /// padded (no free page for the padding rows' keys and values, or more padding rows
  /// than the model has positions). `padTokens` holds the padding rows' token ids.
  /// The sizes a call of `tokens` tokens over `sequences` sequences (block table `pages`
  /// wide, `rows` logit rows) is padded to; `sequences` counts the padding rows' own.
  struct PaddedSizes {
    int64_t tokens, sequences, pages, rows;
  };
  PaddedSizes paddedSizes(int64_t tokens, int64_t sequences, int64_t pages, int64_t rows) const;
  std::optional<ForwardBatch> padToBuckets(const ForwardBatch &batch,
                                           std::vector<int32_t> &padTokens) const;

  Model *target;
  const LanguageModelInfo *languageModel;
  KvPageTable *kvPages;
  std::unique_ptr<RunHalf> half;
  EngineOptions options;
  std::vector<std::string> inputOrder; // the forward program's inputs, in program order
  size_t logitsOutput = 0;
  std::vector<std::string> outputNames;  // the forward program's
  SequenceId nextId = 0;
  std::map<SequenceId, std::unique_ptr<Sequence>> sequences; // arrival order
  std::unique_ptr<PrefixCache> prefixes; // after kvPages: releases its pages first
};

} // namespace mvc

#endif // MVC_RUNTIME_PIPELINE_ENGINE_H
