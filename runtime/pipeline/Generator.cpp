//===- Generator.cpp - a batch of prompts through the step engine ---------===//
#include "runtime/pipeline/Generator.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <limits>

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "runtime/util/StatusMacros.h"

namespace mvc {

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// "12.5 MiB"-style sizes for messages.
std::string humanBytes(uint64_t bytes) {
  const char *units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? absl::StrCat(bytes, " bytes") : absl::StrFormat("%.1f %s", value, units[unit]);
}

/// Cancels the sequences a generate() call queued, however it returns.
class CancelSequences {
public:
  explicit CancelSequences(Engine &engine) : engine(engine) {}
  ~CancelSequences() {
    for (SequenceId id : ids)
      engine.cancel(id).IgnoreError(); // finished ones are gone already
  }
  std::vector<SequenceId> ids;

private:
  Engine &engine;
};

} // namespace

double GenerationStats::prefillTokensPerSecond() const {
  return prefillSeconds > 0 ? promptTokens / prefillSeconds : 0;
}
double GenerationStats::decodeTokensPerSecond() const {
  return decodeSeconds > 0 ? decodeTokens / decodeSeconds : 0;
}

absl::StatusOr<Generator> Generator::create(Model &model) {
  MVC_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, Engine::create(model));
  return Generator(std::move(engine));
}

absl::Status Generator::checkPages(const std::vector<std::vector<int32_t>> &prompts,
                                   int64_t maxNewTokens) const {
  const KvPageTable &pages = engine->pages();
  int64_t neededPages = 0;
  std::vector<int64_t> pagesPerPrompt;
  for (const std::vector<int32_t> &prompt : prompts) {
    // The last new token is returned, never fed back: it takes no cache slot.
    int64_t cached = static_cast<int64_t>(prompt.size()) + std::max<int64_t>(maxNewTokens - 1, 0);
    pagesPerPrompt.push_back(pages.pagesFor(cached));
    neededPages += pagesPerPrompt.back();
  }
  if (neededPages > pages.numFreePages())
    return absl::ResourceExhaustedError(
        absl::StrCat("the batch needs ", neededPages, " KV pages of ", pages.pageSize(), " tokens",
                     prompts.size() == 1
                         ? ""
                         : absl::StrCat(" (per prompt: ", absl::StrJoin(pagesPerPrompt, ", "), ")"),
                     " for its prompts and max_new_tokens, but only ", pages.numFreePages(),
                     " of the model's ", pages.numPages(),
                     " pages are free; load the model with more, e.g. --load-symbol num_pages=",
                     neededPages + pages.numPages() - pages.numFreePages()));
  return absl::OkStatus();
}

absl::Status Generator::checkActivationMemory(const std::vector<std::vector<int32_t>> &prompts,
                                              const std::vector<std::vector<ImageFrame>> &images,
                                              const GenerationOptions &options) const {
  uint64_t limit = options.activationMemoryLimit;
  if (limit == 0) {
    long pages = sysconf(_SC_PHYS_PAGES), pageBytes = sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || pageBytes <= 0)
      return absl::OkStatus(); // unknown machine size: no default limit
    limit = static_cast<uint64_t>(pages) / 4 * 3 * static_cast<uint64_t>(pageBytes);
  }
  // The largest call: the chunk (or every prompt), over every sequence at its longest, and
  // every image of the batch at once (a bound: they are encoded in the calls that hold
  // them, and one call may hold them all).
  int64_t promptTokens = 0, longest = 0, numImages = 0;
  for (const std::vector<int32_t> &prompt : prompts) {
    promptTokens += static_cast<int64_t>(prompt.size());
    longest =
        std::max<int64_t>(longest, prompt.size() + std::max<int64_t>(options.maxNewTokens - 1, 0));
  }
  for (const auto &list : images)
    numImages += static_cast<int64_t>(list.size());
  int64_t tokens =
      options.prefillChunk > 0 ? std::min(promptTokens, options.prefillChunk) : promptTokens;
  int64_t batch = static_cast<int64_t>(prompts.size());
  int64_t rows = options.promptLogits == PromptLogits::All ? tokens : batch;
  MVC_ASSIGN_OR_RETURN(uint64_t forward,
                       engine->forwardActivationBytes(tokens, batch, longest, rows, numImages));
  MVC_ASSIGN_OR_RETURN(uint64_t vision,
                       engine->runHalf().imageActivationBytes(engine->model(), numImages));
  uint64_t need = forward + vision;
  bool takesImages = engine->runHalf().takesImages();
  if (need > limit)
    return absl::ResourceExhaustedError(absl::StrCat(
        "the batch needs ", humanBytes(need), " of activation memory (", promptTokens,
        " prompt tokens",
        takesImages ? absl::StrCat(", ", numImages, " image frame", numImages == 1 ? "" : "s")
                    : "",
        "), more than the limit of ", humanBytes(limit), "; pass fewer ",
        takesImages ? "images or " : "", "prompts per call"));
  return absl::OkStatus();
}

absl::StatusOr<GenerationResult>
Generator::generate(const std::vector<std::vector<int32_t>> &prompts,
                    const GenerationOptions &options,
                    const std::vector<std::vector<ImageFrame>> &images) {
  Clock::time_point start = Clock::now();
  if (prompts.empty())
    return absl::InvalidArgumentError("no prompts");
  if (!images.empty() && images.size() != prompts.size())
    return absl::InvalidArgumentError(absl::StrCat("images are given for ", images.size(),
                                                   " prompts, but there are ", prompts.size()));
  if (options.prefillChunk < 0)
    return absl::InvalidArgumentError(
        absl::StrCat("the prefill chunk must be >= 0, got ", options.prefillChunk));
  std::vector<SequenceRequest> requests(prompts.size());
  for (size_t b = 0; b < prompts.size(); ++b) {
    SequenceRequest &request = requests[b];
    request.prompt = prompts[b];
    if (!images.empty())
      request.images = images[b];
    request.maxNewTokens = options.maxNewTokens;
    request.sampling = options.sampling;
    request.rngStream = b;
    request.promptLogits = options.promptLogits;
    request.label = absl::StrCat("prompt ", b);
    MVC_RETURN_IF_ERROR(engine->check(request));
  }
  int64_t promptTokens = 0;
  for (const std::vector<int32_t> &prompt : prompts)
    promptTokens += static_cast<int64_t>(prompt.size());
  if (promptTokens > std::numeric_limits<int32_t>::max())
    return absl::InvalidArgumentError(
        absl::StrCat("the prompts hold ", promptTokens, " tokens, more than one call can take"));
  MVC_RETURN_IF_ERROR(checkPages(prompts, options.maxNewTokens));
  MVC_RETURN_IF_ERROR(checkActivationMemory(prompts, images, options));

  Engine &run = *engine;
  run.setOptions({.maxStepTokens = options.prefillChunk, .onExtraOutputs = options.onExtraOutputs});
  CancelSequences cancel(run);
  std::map<SequenceId, size_t> promptOf;
  for (size_t b = 0; b < prompts.size(); ++b) {
    MVC_ASSIGN_OR_RETURN(SequenceId id, run.add(std::move(requests[b])));
    cancel.ids.push_back(id);
    promptOf[id] = b;
  }

  size_t numPrompts = prompts.size();
  GenerationResult result;
  result.tokens.resize(numPrompts);
  result.finishReasons.resize(numPrompts, FinishReason::MaxNewTokens);
  result.stats.promptTokens = promptTokens;
  std::vector<std::vector<HostTensor>> logitParts(numPrompts);
  while (!run.idle()) {
    MVC_ASSIGN_OR_RETURN(StepResult step, run.step());
    if (step.prefillTokens > 0) {
      result.stats.prefillSeconds += step.seconds;
      ++result.stats.prefillCalls;
    } else {
      result.stats.decodeSeconds += step.seconds;
      ++result.stats.decodeSteps;
    }
    for (SequenceEvent &event : step.events) {
      size_t b = promptOf.at(event.id);
      if (event.promptLogits.numElements() > 0)
        logitParts[b].push_back(std::move(event.promptLogits));
      if (event.token) {
        if (result.stats.timeToFirstToken == 0)
          result.stats.timeToFirstToken = secondsSince(start);
        if (!result.tokens[b].empty())
          ++result.stats.decodeTokens;
        result.tokens[b].push_back(*event.token);
        if (options.onToken)
          options.onToken(b, *event.token);
      }
      if (event.finished)
        result.finishReasons[b] = event.reason;
    }
  }
  if (options.promptLogits != PromptLogits::None) {
    int64_t rows = 0, vocab = engine->info().vocabSize;
    for (const auto &parts : logitParts)
      for (const HostTensor &part : parts)
        rows += part.shape()[0];
    result.promptLogits = HostTensor::allocate(DType::F32, {rows, vocab});
    uint8_t *to = result.promptLogits.data();
    for (const auto &parts : logitParts)
      for (const HostTensor &part : parts) {
        std::memcpy(to, part.data(), part.byteSize());
        to += part.byteSize();
      }
  }
  return result;
}

absl::StatusOr<HostTensor>
Generator::promptLogits(const std::vector<std::vector<int32_t>> &prompts,
                        const std::vector<std::vector<ImageFrame>> &images) {
  GenerationOptions options;
  options.maxNewTokens = 0;
  options.promptLogits = PromptLogits::All;
  MVC_ASSIGN_OR_RETURN(GenerationResult result, generate(prompts, options, images));
  return std::move(result.promptLogits);
}

} // namespace mvc
