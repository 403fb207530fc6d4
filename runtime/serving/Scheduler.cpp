//===- Scheduler.cpp - the serving loop: requests in, streamed choices out -===//
#include "runtime/serving/Scheduler.h"

#include <algorithm>
#include <limits>
#include <random>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "runtime/pipeline/IncrementalDecoder.h"

namespace mvc::serving {

using Clock = std::chrono::steady_clock;

namespace {

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// Where the first of `stops` begins in `text`, or npos.
size_t firstStop(const std::string &text, const std::vector<std::string> &stops) {
  size_t cut = std::string::npos;
  for (const std::string &stop : stops)
    cut = std::min(cut, text.find(stop));
  return cut;
}

ApiError apiError(int status, absl::string_view type, absl::string_view message) {
  ApiError error;
  error.status = status;
  error.type = std::string(type);
  error.message = std::string(message);
  return error;
}

} // namespace

//===----------------------------------------------------------------------===//
// RequestStream
//===----------------------------------------------------------------------===//

bool RequestStream::next(std::vector<ChoiceDelta> &out, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex);
  ready.wait_for(lock, timeout, [&] { return !pending.empty() || choicesLeft == 0 || failed; });
  const bool delivered = !pending.empty();
  while (!pending.empty()) {
    out.push_back(std::move(pending.front()));
    pending.pop_front();
  }
  // Whether there is more to read (deltas given now count, whatever `out` held before).
  return !(choicesLeft == 0 || failed) || delivered;
}

std::optional<ApiError> RequestStream::waitAdmitted() {
  std::unique_lock<std::mutex> lock(mutex);
  ready.wait(lock, [&] { return admitted || failed; });
  return failed ? error : std::nullopt;
}

void RequestStream::push(ChoiceDelta delta) {
  std::lock_guard<std::mutex> lock(mutex);
  if (delta.finish)
    --choicesLeft;
  pending.push_back(std::move(delta));
  ready.notify_all();
}

void RequestStream::markAdmitted() {
  std::lock_guard<std::mutex> lock(mutex);
  admitted = true;
  ready.notify_all();
}

void RequestStream::fail(ApiError failure) {
  std::lock_guard<std::mutex> lock(mutex);
  if (failed)
    return;
  failed = true;
  error = std::move(failure);
  ready.notify_all();
}

//===----------------------------------------------------------------------===//
// Scheduler
//===----------------------------------------------------------------------===//

/// A request waiting to be admitted.
struct Scheduler::Pending {
  Job job;
  std::shared_ptr<RequestStream> stream;
  Clock::time_point submitted;
};

/// One choice of a request: its sequence in the engine and its text so far.
struct Scheduler::Choice {
  std::shared_ptr<RequestStream> stream;
  int64_t index = 0;
  SequenceRequest request; // as (re-)admitted: a preempted choice's prompt grows
  std::vector<std::string> stop;
  std::optional<IncrementalDecoder> decoder;
  std::string held; // decoded text that may be the start of a stop string
  int64_t generated = 0;
  Clock::time_point submitted, lastToken;
  bool anyToken = false;
  uint64_t admittedAt = 0; // admission order: the newest is preempted first
  int64_t promptLength = 0; // as submitted (a preempted choice's request.prompt grows)
  int64_t promptRowsSeen = 0; // prompt logit rows delivered (GenerationParams::promptLogprobs)
};

void Scheduler::Histogram::observe(double value) {
  size_t i = 0;
  while (i < bounds.size() && value > bounds[i])
    ++i;
  ++counts[i];
  sum += value;
  ++total;
}

absl::StatusOr<std::unique_ptr<Scheduler>> Scheduler::create(Model &model, const TextSession &text,
                                                             std::mutex &textMutex,
                                                             const SchedulerOptions &options) {
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::create(model, options.engine);
  if (!engine.ok())
    return engine.status();
  std::unique_ptr<Scheduler> scheduler(
      new Scheduler(std::move(*engine), text, textMutex, options));
  scheduler->thread = std::thread([s = scheduler.get()] { s->loop(); });
  return scheduler;
}

Scheduler::Scheduler(std::unique_ptr<Engine> engine, const TextSession &text,
                     std::mutex &textMutex, const SchedulerOptions &options)
    : engine(std::move(engine)), text(&text), textMutex(&textMutex), options(options) {
  metrics.ttft.bounds = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  metrics.interToken.bounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1};
  for (Histogram *h : {&metrics.ttft, &metrics.interToken})
    h->counts.assign(h->bounds.size() + 1, 0);
}

Scheduler::~Scheduler() {
  {
    std::lock_guard<std::mutex> lock(queueMutex);
    stopping = true;
  }
  wake.notify_all();
  if (thread.joinable())
    thread.join();
}

std::variant<std::shared_ptr<RequestStream>, ApiError> Scheduler::submit(Job job) {
  const int64_t positions = engine->info().maxPositions;
  const int64_t promptLength = static_cast<int64_t>(job.prompt.size());
  if (job.prompt.empty())
    return apiError(400, "invalid_request_error", "the prompt is empty");
  if (promptLength >= positions)
    return apiError(413, "invalid_request_error",
                    absl::StrCat("the prompt has ", promptLength,
                                 " tokens; this model's context is ", positions,
                                 " (the prompt and at least one new token must fit)"));
  if (job.params.maxTokens && promptLength + *job.params.maxTokens > positions)
    return apiError(400, "invalid_request_error",
                    absl::StrCat("the prompt (", promptLength, " tokens) and max_tokens (",
                                 *job.params.maxTokens, ") exceed this model's context of ",
                                 positions, " tokens"));
  {
    std::lock_guard<std::mutex> lock(queueMutex);
    if (requestsActive.load() + static_cast<int64_t>(incoming.size()) >= options.maxRequests)
      return apiError(503, "server_error",
                      absl::StrCat("overloaded: ", options.maxRequests,
                                   " requests are queued or running; try again later"));
  }
  if (!job.params.seeded)
    job.params.sampling.seed = std::random_device{}() * uint64_t{0x100000001} + std::random_device{}();
  auto stream = std::make_shared<RequestStream>(job.params.n);
  stream->promptTokens = promptLength;
  {
    std::lock_guard<std::mutex> lock(queueMutex);
    incoming.push_back(std::unique_ptr<Pending>(new Pending{std::move(job), stream, Clock::now()}));
  }
  wake.notify_all();
  if (std::optional<ApiError> error = stream->waitAdmitted())
    return *error;
  return stream;
}

void Scheduler::accept(Pending &pending) {
  const Job &job = pending.job;
  const int64_t positions = engine->info().maxPositions;
  const int64_t promptLength = static_cast<int64_t>(job.prompt.size());
  Accepted accepted;
  accepted.stream = pending.stream;
  accepted.promptLength = promptLength;
  for (int64_t i = 0; i < job.params.n; ++i) {
    auto choice = std::make_unique<Choice>();
    choice->stream = pending.stream;
    choice->index = i;
    choice->stop = job.params.stop;
    choice->submitted = pending.submitted;
    choice->request.prompt = job.prompt;
    choice->request.images = job.images;
    choice->request.maxNewTokens = job.params.maxTokens.value_or(positions - promptLength);
    choice->request.sampling = job.params.sampling;
    choice->request.logprobs = job.params.logprobs;
    choice->promptLength = static_cast<int64_t>(job.prompt.size());
    if (job.params.promptLogprobs)
      choice->request.promptLogits = PromptLogits::All;
    if (job.params.jsonSchema) {
      if (!jsonVocabulary) {
        std::lock_guard<std::mutex> lock(*textMutex);
        const LanguageModelInfo &lm = engine->info();
        jsonVocabulary = JsonVocabulary::build(text->tokenizer(), lm.vocabSize, lm.eosTokenIds);
      }
      choice->request.constraint =
          std::make_shared<JsonConstraint>(jsonVocabulary, job.params.jsonSchema);
    }
    choice->request.rngStream = static_cast<uint64_t>(i);
    choice->request.label = "the request";
    absl::Status valid = engine->check(choice->request);
    if (valid.ok())
      valid = engine->checkFits(choice->request);
    if (!valid.ok()) {
      bool tooLong = valid.code() == absl::StatusCode::kResourceExhausted;
      pending.stream->fail(
          apiError(tooLong ? 413 : 400, "invalid_request_error", valid.message()));
      return;
    }
    choice->decoder.emplace(text->tokenizer(), /*skipSpecial=*/!job.params.keepSpecialTokens);
    accepted.choices.push_back(std::move(choice));
  }
  accepted.pages = 0;
  for (const auto &choice : accepted.choices)
    accepted.pages += reservation(*choice);
  waiting.push_back(std::move(accepted));
  pending.stream->markAdmitted();
}

int64_t Scheduler::reservation(const Choice &choice) const {
  const int64_t pageSize = engine->pages().pageSize();
  const int64_t tokens = static_cast<int64_t>(choice.request.prompt.size()) +
                         std::min<int64_t>(choice.request.maxNewTokens, options.reservedNewTokens);
  return (tokens + pageSize - 1) / pageSize;
}

void Scheduler::startWaiting() {
  int64_t reserved = 0;
  for (const auto &[id, choice] : choices)
    reserved += reservation(*choice);
  const int64_t pool = engine->pages().numPages();
  // First come, first served: the oldest waiting request starts once its reservation fits
  // beside the running ones' (any request fits alone: accept() checked).
  while (!waiting.empty() && (choices.empty() || reserved + waiting.front().pages <= pool)) {
    Accepted accepted = std::move(waiting.front());
    waiting.pop_front();
    if (accepted.stream->isCancelled()) {
      accepted.stream->fail(apiError(499, "cancelled", "the client went away"));
      continue;
    }
    std::vector<SequenceId> added;
    for (auto &choice : accepted.choices) {
      absl::StatusOr<SequenceId> id = engine->add(choice->request);
      if (!id.ok()) {
        for (SequenceId previous : added)
          (void)engine->cancel(previous);
        accepted.stream->fail(apiError(500, "server_error", id.status().message()));
        added.clear();
        break;
      }
      added.push_back(*id);
    }
    for (size_t i = 0; i < added.size(); ++i) {
      accepted.choices[i]->admittedAt = ++admissions;
      choices[added[i]] = std::move(accepted.choices[i]);
    }
    if (added.empty())
      continue;
    reserved += accepted.pages;
    std::lock_guard<std::mutex> lock(metricsMutex);
    ++metrics.requests;
    metrics.promptTokens += static_cast<uint64_t>(accepted.promptLength);
  }
}

void Scheduler::finishChoice(Choice &choice, const std::string &reason, bool flush) {
  ChoiceDelta delta;
  delta.index = choice.index;
  if (flush) {
    {
      std::lock_guard<std::mutex> lock(*textMutex);
      choice.held += choice.decoder->finish();
    }
    size_t cut = firstStop(choice.held, choice.stop);
    if (cut != std::string::npos)
      choice.held.resize(cut);
  }
  // What was held back as a possible stop string's start is text after all.
  delta.text = std::move(choice.held);
  delta.finish = reason;
  choice.stream->completionTokens += choice.generated;
  choice.stream->push(std::move(delta));
}

void Scheduler::dropCancelled() {
  for (auto it = choices.begin(); it != choices.end();) {
    Choice &choice = *it->second;
    if (!choice.stream->isCancelled()) {
      ++it;
      continue;
    }
    (void)engine->cancel(it->first);
    finishChoice(choice, "cancelled", false);
    it = choices.erase(it);
    std::lock_guard<std::mutex> lock(metricsMutex);
    ++metrics.cancelled;
  }
}

bool Scheduler::preemptOne() {
  // The most recently admitted sequence that holds pages (one that holds none would free
  // nothing).
  auto newest = choices.end();
  for (auto it = choices.begin(); it != choices.end(); ++it)
    if (engine->pages().contains(it->first) &&
        (newest == choices.end() || it->second->admittedAt > newest->second->admittedAt))
      newest = it;
  if (newest == choices.end())
    return false;
  (void)engine->cancel(newest->first);
  std::unique_ptr<Choice> choice = std::move(newest->second);
  choices.erase(newest);
  preempted.push_back(std::move(choice));
  std::lock_guard<std::mutex> lock(metricsMutex);
  ++metrics.preemptions;
  return true;
}

void Scheduler::deliver(const StepResult &step) {
  for (const SequenceEvent &event : step.events) {
    auto it = choices.find(event.id);
    if (it == choices.end())
      continue;
    Choice &choice = *it->second;
    ChoiceDelta delta;
    delta.index = choice.index;
    bool stopped = false;
    if (event.promptLogits.shape().size() == 2 && event.promptLogits.shape()[0] > 0 &&
        choice.request.promptLogits == PromptLogits::All) {
      // Row r is position promptRowsSeen + r; it predicts the token after it. The prompt's
      // last row predicts the first new token: that one is the token's own logprob.
      const int64_t rows = event.promptLogits.shape()[0], vocab = event.promptLogits.shape()[1];
      std::lock_guard<std::mutex> lock(*textMutex);
      if (choice.promptRowsSeen == 0)
        delta.promptLogprobs.push_back({text->tokenText(choice.request.prompt[0]),
                                        std::numeric_limits<float>::quiet_NaN(), {}});
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t next = choice.promptRowsSeen + r + 1;
        if (next >= choice.promptLength)
          break;
        const int32_t token = choice.request.prompt[next];
        absl::StatusOr<SampledLogprobs> logprobs = logprobsOf(
            {event.promptLogits.dataAs<float>() + r * vocab, static_cast<size_t>(vocab)}, token,
            std::max<int64_t>(choice.request.logprobs, 0));
        if (!logprobs.ok())
          break; // NaN logits: the step's own check reports them
        LogprobEntry entry{text->tokenText(token), logprobs->logprob, {}};
        for (const TokenLogprob &alternative : logprobs->top)
          entry.top.emplace_back(text->tokenText(alternative.token), alternative.logprob);
        delta.promptLogprobs.push_back(std::move(entry));
      }
      choice.promptRowsSeen += rows;
      if (choice.promptRowsSeen >= choice.promptLength)
        choice.request.promptLogits = PromptLogits::None; // not again after a preemption
    }
    if (event.token) {
      const Clock::time_point now = Clock::now();
      {
        std::lock_guard<std::mutex> lock(metricsMutex);
        ++metrics.generationTokens;
        if (choice.anyToken)
          metrics.interToken.observe(std::chrono::duration<double>(now - choice.lastToken).count());
        else if (choice.index == 0)
          metrics.ttft.observe(secondsSince(choice.submitted));
      }
      if (!choice.anyToken && choice.index == 0)
        choice.stream->ttftSeconds = secondsSince(choice.submitted);
      choice.anyToken = true;
      choice.lastToken = now;
      ++choice.generated;
      choice.request.prompt.push_back(*event.token); // a preempted choice resumes from here
      --choice.request.maxNewTokens;
      std::string piece;
      {
        std::lock_guard<std::mutex> lock(*textMutex);
        piece = choice.decoder->push(*event.token);
        if (event.logprobs && !(event.finished && event.reason == FinishReason::Eos)) {
          LogprobEntry entry{text->tokenText(*event.token), event.logprobs->logprob, {}};
          for (const TokenLogprob &alternative : event.logprobs->top)
            entry.top.emplace_back(text->tokenText(alternative.token), alternative.logprob);
          delta.logprobs.push_back(std::move(entry));
        }
      }
      choice.held += piece;
      // The first stop string in the text so far ends the choice before it; else release
      // all but the longest tail that could still grow into a stop string.
      size_t cut = firstStop(choice.held, choice.stop);
      if (cut != std::string::npos) {
        choice.held.resize(cut);
        stopped = true;
      } else {
        size_t keep = 0;
        for (const std::string &stop : choice.stop)
          for (size_t k = std::min(stop.size() - 1, choice.held.size()); k > keep; --k)
            if (choice.held.compare(choice.held.size() - k, k, stop, 0, k) == 0) {
              keep = k;
              break;
            }
        delta.text = choice.held.substr(0, choice.held.size() - keep);
        choice.held.erase(0, choice.held.size() - keep);
      }
    }
    const bool anything =
        !delta.text.empty() || !delta.logprobs.empty() || !delta.promptLogprobs.empty();
    if (stopped || event.finished) {
      if (anything)
        choice.stream->push(std::move(delta));
      if (stopped && !event.finished)
        (void)engine->cancel(event.id);
      finishChoice(choice, stopped || event.reason == FinishReason::Eos ? "stop" : "length",
                   /*flush=*/!stopped);
      choices.erase(it);
      continue;
    }
    if (anything)
      choice.stream->push(std::move(delta));
  }
}

void Scheduler::publishGauges() {
  const KvPageTable &pool = engine->pages();
  int64_t queued = static_cast<int64_t>(preempted.size());
  for (const Accepted &accepted : waiting)
    queued += static_cast<int64_t>(accepted.choices.size());
  std::lock_guard<std::mutex> lock(metricsMutex);
  const PrefixCache *cache = engine->prefixCache();
  // The page table's sequences include the prefix cache's entries.
  metrics.running = static_cast<int64_t>(pool.numSequences() - (cache ? cache->numEntries() : 0));
  metrics.waiting = static_cast<int64_t>(engine->numSequences()) - metrics.running + queued;
  metrics.pagesUsed = pool.numPages() - engine->availablePages();
  metrics.pagesCached = engine->availablePages() - pool.numFreePages();
  metrics.pagesTotal = pool.numPages();
  metrics.prefixQueried = cache ? cache->queriedTokens() : 0;
  metrics.prefixHit = cache ? cache->hitTokens() : 0;
  if (const FeatureCache *features = engine->visionFeatures()) {
    metrics.visionHits = features->hits();
    metrics.visionMisses = features->misses();
    metrics.visionBytes = static_cast<int64_t>(features->bytes());
  }
}

void Scheduler::loop() {
  while (true) {
    // The gauges /metrics reads: the pool belongs to this thread, so it is copied here
    // (at least every 50 ms, after every step).
    publishGauges();
    std::deque<std::unique_ptr<Pending>> arrived;
    {
      std::unique_lock<std::mutex> lock(queueMutex);
      // Nothing to do: sleep until a request arrives (a cancelled one is noticed when
      // its reader wakes us or at the next step).
      wake.wait_for(lock, std::chrono::milliseconds(50), [&] {
        return stopping || !incoming.empty() || !choices.empty() || !preempted.empty() ||
               !waiting.empty();
      });
      if (stopping)
        break;
      arrived.swap(incoming);
    }
    dropCancelled();
    // Preempted sequences go back first (they were admitted earlier), then new requests;
    // a preempted one only once its prompt (grown by what it generated) and a page to
    // decode into are free, so that it does not take back the pages the running
    // sequences need.
    const KvPageTable &pool = engine->pages();
    while (!preempted.empty()) {
      std::unique_ptr<Choice> &front = preempted.front();
      if (!front->stream->isCancelled() &&
          engine->availablePages() * pool.pageSize() <
              int64_t(front->request.prompt.size()) + pool.pageSize() &&
          !choices.empty())
        break;
      std::unique_ptr<Choice> choice = std::move(front);
      preempted.pop_front();
      if (choice->stream->isCancelled()) {
        finishChoice(*choice, "cancelled", false);
        continue;
      }
      absl::StatusOr<SequenceId> id = engine->add(choice->request);
      if (!id.ok()) {
        choice->stream->fail(apiError(500, "server_error", id.status().message()));
        continue;
      }
      choices[*id] = std::move(choice);
    }
    for (std::unique_ptr<Pending> &pending : arrived) {
      if (pending->stream->isCancelled()) {
        pending->stream->fail(apiError(499, "cancelled", "the client went away"));
        continue;
      }
      accept(*pending);
    }
    if (preempted.empty())
      startWaiting();
    {
      std::vector<const RequestStream *> active;
      for (const auto &[id, choice] : choices)
        active.push_back(choice->stream.get());
      for (const auto &choice : preempted)
        active.push_back(choice->stream.get());
      for (const Accepted &accepted : waiting)
        active.push_back(accepted.stream.get());
      std::sort(active.begin(), active.end());
      requestsActive = std::unique(active.begin(), active.end()) - active.begin();
    }
    if (engine->idle())
      continue;
    absl::StatusOr<StepResult> step = engine->step();
    if (!step.ok()) {
      if (step.status().code() == absl::StatusCode::kResourceExhausted && choices.size() > 1 &&
          preemptOne())
        continue;
      // Nothing can go on: every request in flight fails with the engine's error.
      for (auto &[id, choice] : choices) {
        (void)engine->cancel(id);
        choice->stream->fail(apiError(500, "server_error", step.status().message()));
      }
      choices.clear();
      continue;
    }
    publishGauges();
    deliver(*step);
  }
  for (auto &[id, choice] : choices)
    choice->stream->fail(apiError(503, "server_error", "the server is shutting down"));
  for (Accepted &accepted : waiting)
    accepted.stream->fail(apiError(503, "server_error", "the server is shutting down"));
}

std::string Scheduler::metricsText() const {
  std::lock_guard<std::mutex> lock(metricsMutex);
  std::ostringstream out;
  auto gauge = [&](const char *name, const char *help, double value) {
    out << "# HELP " << name << " " << help << "\n# TYPE " << name << " gauge\n"
        << name << " " << value << "\n";
  };
  auto counter = [&](const char *name, const char *help, double value) {
    out << "# HELP " << name << " " << help << "\n# TYPE " << name << " counter\n"
        << name << " " << value << "\n";
  };
  auto histogram = [&](const char *name, const char *help, const Histogram &h) {
    out << "# HELP " << name << " " << help << "\n# TYPE " << name << " histogram\n";
    uint64_t cumulative = 0;
    for (size_t i = 0; i < h.bounds.size(); ++i) {
      cumulative += h.counts[i];
      out << name << "_bucket{le=\"" << h.bounds[i] << "\"} " << cumulative << "\n";
    }
    out << name << "_bucket{le=\"+Inf\"} " << h.total << "\n"
        << name << "_sum " << h.sum << "\n" << name << "_count " << h.total << "\n";
  };
  gauge("mvc_requests_running", "Sequences holding KV pages.", double(metrics.running));
  gauge("mvc_requests_waiting", "Sequences queued for their first step.", double(metrics.waiting));
  gauge("mvc_kv_pages_used", "KV cache pages in use.", double(metrics.pagesUsed));
  gauge("mvc_kv_pages_total", "KV cache pages in the pool.", double(metrics.pagesTotal));
  gauge("mvc_kv_pages_cached", "KV cache pages held only by the prefix cache (evictable).",
        double(metrics.pagesCached));
  gauge("mvc_prefix_cache_hit_rate", "Prompt tokens found in the prefix cache / prompt tokens looked up.",
        metrics.prefixQueried ? double(metrics.prefixHit) / double(metrics.prefixQueried) : 0.0);
  counter("mvc_prefix_cache_queried_tokens_total", "Prompt tokens looked up in the prefix cache.",
          double(metrics.prefixQueried));
  counter("mvc_prefix_cache_hit_tokens_total", "Prompt tokens found in the prefix cache.",
          double(metrics.prefixHit));
  counter("mvc_vision_cache_hits_total", "Image frames whose features came from the vision cache.",
          double(metrics.visionHits));
  counter("mvc_vision_cache_misses_total", "Image frames the vision program encoded.",
          double(metrics.visionMisses));
  gauge("mvc_vision_cache_bytes", "Bytes of image features the vision cache holds.",
        double(metrics.visionBytes));
  counter("mvc_requests_total", "Requests admitted.", double(metrics.requests));
  counter("mvc_prompt_tokens_total", "Prompt tokens admitted.", double(metrics.promptTokens));
  counter("mvc_generation_tokens_total", "Tokens generated.", double(metrics.generationTokens));
  counter("mvc_preemptions_total", "Sequences preempted for KV pages.", double(metrics.preemptions));
  counter("mvc_cancelled_total", "Choices stopped because their client went away.",
          double(metrics.cancelled));
  histogram("mvc_time_to_first_token_seconds", "Submit to first token.", metrics.ttft);
  histogram("mvc_inter_token_latency_seconds", "Between a choice's tokens.", metrics.interToken);
  return out.str();
}

} // namespace mvc::serving
