//===- Scheduler.h - the serving loop: requests in, streamed choices out --===//
//
// mvc-serve's engine, usable without HTTP: one thread owns the model and the step Engine
// (runtime/pipeline/Engine.h) and loops
//
//   take new requests  ->  one Engine::step()  ->  hand each request its new text
//
// so requests join and leave between any two steps (continuous batching), and a step mixes
// the running decodes with chunks of waiting prompts under the engine's token budget
// (EngineOptions::maxStepTokens). A request asks for n choices: n sequences of the same
// prompt, each with its own random stream. Each choice's tokens are detokenized
// incrementally and cut at the first stop string (matched across token boundaries; text
// that may be the start of a stop string is held back until it is known not to be).
// A request starts (its sequences enter the engine) in arrival order once the prompts and
// the first reservedNewTokens (256) new tokens of every started sequence fit the KV pool
// beside it; when the
// pool still runs out mid-step, the most recently admitted sequence is preempted:
// its pages are freed and it is queued again with its generated tokens appended to the
// prompt (recomputed, then continued). A cancelled request (its client went away) loses
// its sequences and pages at the next step. Readers wait on their RequestStream.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_SERVING_SCHEDULER_H
#define MVC_RUNTIME_SERVING_SCHEDULER_H

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/pipeline/Engine.h"
#include "runtime/pipeline/TextSession.h"
#include "runtime/serving/OpenAiRequest.h"

namespace mvc::serving {

/// One new token's log probability (GenerationParams::logprobs).
struct LogprobEntry {
  std::string text; // the token decoded on its own (TextSession::tokenText)
  float logprob = 0;
  std::vector<std::pair<std::string, float>> top; // alternatives, most likely first
};

/// New output of one choice.
struct ChoiceDelta {
  int64_t index = 0;
  std::string text;
  /// The tokens sampled since the last delta, with logprobs asked for: every token whose
  /// text is part of the output (an end-of-sequence token is not; the token that
  /// completes a stop string is). Delivered with the step that sampled them, so text held
  /// back for stop-string matching may follow in a later delta.
  std::vector<LogprobEntry> logprobs;
  /// With GenerationParams::promptLogprobs: prompt tokens as their logits arrive, in order;
  /// the first prompt token's logprob is NaN (nothing predicts it; JSON null).
  std::vector<LogprobEntry> promptLogprobs;
  std::optional<std::string> finish; // "stop" or "length": the choice's last delta
};

/// One request as its reader sees it: deltas as they come, then the totals.
class RequestStream {
public:
  explicit RequestStream(int64_t choices) : choicesLeft(choices) {}

  /// Waits up to `timeout` for new deltas and appends them to `out`; false once the
  /// request is over and everything was read.
  bool next(std::vector<ChoiceDelta> &out, std::chrono::milliseconds timeout);
  /// Waits until the scheduler admitted the request (its sequences are in the engine) or
  /// refused it; the refusal.
  std::optional<ApiError> waitAdmitted();
  /// The client went away: the scheduler drops the request's sequences at its next step.
  void cancel() { cancelled = true; }
  bool isCancelled() const { return cancelled; }

  // Valid once next() returned false.
  int64_t promptTokens = 0;
  int64_t completionTokens = 0;
  double ttftSeconds = 0;            // submit to the first token of any choice
  std::optional<ApiError> error;     // the request failed (after it was accepted)

private:
  friend class Scheduler;
  void push(ChoiceDelta delta);
  void markAdmitted();
  void fail(ApiError failure);

  std::mutex mutex;
  std::condition_variable ready;
  std::deque<ChoiceDelta> pending;
  int64_t choicesLeft;
  bool admitted = false, failed = false;
  std::atomic<bool> cancelled{false};
};

/// A request for the scheduler: prompt ids (image tokens included) and its image frames.
struct Job {
  std::vector<int32_t> prompt;
  std::vector<ImageFrame> images;
  GenerationParams params;
};

struct SchedulerOptions {
  EngineOptions engine;
  /// Requests queued or running beyond which submit() refuses more (503).
  int64_t maxRequests = 256;
  /// New tokens a sequence's KV reservation counts beyond its prompt: requests start only
  /// while the started ones' prompts and up to this many new tokens each fit the pool, so
  /// that preemption (recomputing a sequence) stays the exception.
  int64_t reservedNewTokens = 256;
};

class Scheduler {
public:
  /// `model` and `text` must outlive the scheduler; `textMutex` guards `text` (the
  /// tokenizer is shared with the threads that encode prompts).
  static absl::StatusOr<std::unique_ptr<Scheduler>> create(Model &model, const TextSession &text,
                                                           std::mutex &textMutex,
                                                           const SchedulerOptions &options);
  ~Scheduler();

  /// Checks `job` against the model (prompt and images, length, sampling) and queues it.
  /// Errors carry the HTTP status: 400 bad request, 413 a prompt longer than the context,
  /// 503 overloaded.
  std::variant<std::shared_ptr<RequestStream>, ApiError> submit(Job job);
  /// The run half of the model (prompt expansion, images).
  const RunHalf &runHalf() const { return engine->runHalf(); }
  int64_t maxPositions() const { return engine->info().maxPositions; }
  /// Prometheus text format: requests, KV pages, prefix sharing, token counters, TTFT and
  /// inter-token latency histograms.
  std::string metricsText() const;

private:
  struct Choice;
  struct Pending;
  Scheduler(std::unique_ptr<Engine> engine, const TextSession &text, std::mutex &textMutex,
            const SchedulerOptions &options);
  void loop();
  /// A request checked and queued, waiting for its KV reservation.
  struct Accepted {
    std::shared_ptr<RequestStream> stream;
    std::vector<std::unique_ptr<Choice>> choices;
    int64_t promptLength = 0;
    int64_t pages = 0; // its choices' reservations
  };
  /// Checks `pending` against the model and queues it (or fails its stream).
  void accept(Pending &pending);
  /// Pages `choice` is counted for.
  int64_t reservation(const Choice &choice) const;
  /// Starts queued requests in arrival order while their reservations fit the pool.
  void startWaiting();
  void dropCancelled();
  /// Frees the pages of the newest sequence holding any (queued again); false if none does.
  bool preemptOne();
  void deliver(const StepResult &step);
  /// The choice's last delta: what it still holds (with `flush`, the decoder's rest too).
  void finishChoice(Choice &choice, const std::string &reason, bool flush);
  /// Copies the pool's and queues' sizes into the metrics (under metricsMutex).
  void publishGauges();

  std::unique_ptr<Engine> engine;
  const TextSession *text;
  std::mutex *textMutex;
  SchedulerOptions options;

  std::mutex queueMutex; // guards `incoming`, `stopping`
  std::condition_variable wake;
  std::deque<std::unique_ptr<Pending>> incoming;
  bool stopping = false;
  std::atomic<int64_t> requestsActive{0}; // admitted requests with a choice left (the loop's count)
  uint64_t admissions = 0;

  // The loop thread's own.
  std::map<SequenceId, std::unique_ptr<Choice>> choices; // by engine sequence
  std::deque<std::unique_ptr<Choice>> preempted;         // to be re-admitted first
  std::deque<Accepted> waiting;                          // accepted, not yet started
  std::shared_ptr<const JsonVocabulary> jsonVocabulary;  // built at the first json_object request

  struct Histogram {
    std::vector<double> bounds;
    std::vector<uint64_t> counts; // per bound, then +Inf
    double sum = 0;
    uint64_t total = 0;
    void observe(double value);
  };
  mutable std::mutex metricsMutex;
  struct Metrics {
    int64_t running = 0, waiting = 0, pagesUsed = 0, pagesTotal = 0, pagesCached = 0;
    int64_t prefixQueried = 0, prefixHit = 0;
    int64_t visionHits = 0, visionMisses = 0, visionBytes = 0;
    uint64_t promptTokens = 0, generationTokens = 0, requests = 0, preemptions = 0;
    uint64_t cancelled = 0; // choices whose client went away before they finished
    Histogram ttft, interToken;
  } metrics;

  std::thread thread;
};

} // namespace mvc::serving

#endif // MVC_RUNTIME_SERVING_SCHEDULER_H
