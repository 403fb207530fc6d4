//===- Generator.cpp - prefill, decode steps, sampling, KV pages ----------===//
#include "runtime/pipeline/Generator.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/util/StatusMacros.h"

namespace mvc {

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// The forward program's inputs, in FORMAT.md order (the slots of Generator::inputOrder).
constexpr const char *kInputNames[] = {"tokens",      "positions",  "block_table",
                                       "row_offsets", "cache_lens", "logit_rows"};

HostTensor i32Tensor(const std::vector<int32_t> &values, std::vector<int64_t> shape) {
  HostTensor tensor = HostTensor::allocate(DType::I32, std::move(shape));
  std::memcpy(tensor.data(), values.data(), values.size() * sizeof(int32_t));
  return tensor;
}

/// Releases the sequences a generate() call created, however it returns.
class ReleaseSequences {
public:
  ReleaseSequences(KvPageTable &pages, size_t count) : pages(pages), count(count) {}
  ~ReleaseSequences() {
    for (size_t s = 0; s < count; ++s)
      if (pages.contains(static_cast<SequenceId>(s)))
        pages.release(static_cast<SequenceId>(s)).IgnoreError(); // present, so cannot fail
  }

private:
  KvPageTable &pages;
  size_t count;
};

} // namespace

double GenerationStats::prefillTokensPerSecond() const {
  return prefillSeconds > 0 ? promptTokens / prefillSeconds : 0;
}
double GenerationStats::decodeTokensPerSecond() const {
  return decodeSeconds > 0 ? decodeTokens / decodeSeconds : 0;
}

/// The rows of one forward call: sequences with their new tokens, ragged.
struct Generator::Batch {
  std::vector<SequenceId> sequences;
  std::vector<int32_t> tokens, positions, rowOffsets{0}, cacheLens, logitRows;

  void add(SequenceId sequence, int64_t cacheLength, absl::Span<const int32_t> newTokens) {
    sequences.push_back(sequence);
    cacheLens.push_back(static_cast<int32_t>(cacheLength));
    for (size_t i = 0; i < newTokens.size(); ++i) {
      tokens.push_back(newTokens[i]);
      positions.push_back(static_cast<int32_t>(cacheLength + i));
    }
    rowOffsets.push_back(static_cast<int32_t>(tokens.size()));
  }
};

Generator::Generator(Model &model, const LanguageModelInfo &info, KvPageTable pages,
                     std::vector<size_t> inputOrder, size_t logitsOutput)
    : model(&model), languageModel(&info), pages(std::move(pages)),
      inputOrder(std::move(inputOrder)), logitsOutput(logitsOutput) {}

absl::StatusOr<Generator> Generator::create(Model &model) {
  const LanguageModelInfo *info = model.languageModel();
  if (!info)
    return absl::FailedPreconditionError(
        "the artifact is not a language model (its manifest has no language_model entry)");
  std::vector<ProgramSignature> programs = model.programs();
  auto program = std::find_if(programs.begin(), programs.end(),
                              [&](const ProgramSignature &p) { return p.name == info->program; });
  // The loader checked that the program exists with exactly these inputs and a logits output.
  std::vector<size_t> inputOrder;
  for (const TensorSignature &input : program->inputs)
    inputOrder.push_back(std::find(std::begin(kInputNames), std::end(kInputNames), input.name) -
                         std::begin(kInputNames));
  size_t logitsOutput = 0;
  while (program->outputs[logitsOutput].name != "logits")
    ++logitsOutput;
  MVC_ASSIGN_OR_RETURN(KvPageTable pages, KvPageTable::create(info->numPages, info->pageSize));
  return Generator(model, *info, std::move(pages), std::move(inputOrder), logitsOutput);
}

absl::Status Generator::checkPrompts(const std::vector<std::vector<int32_t>> &prompts,
                                     int64_t maxNewTokens) const {
  const LanguageModelInfo &lm = *languageModel;
  if (prompts.empty())
    return absl::InvalidArgumentError("no prompts");
  if (maxNewTokens < 0)
    return absl::InvalidArgumentError(
        absl::StrCat("max_new_tokens must be >= 0, got ", maxNewTokens));
  int64_t totalTokens = 0, neededPages = 0;
  std::vector<int64_t> pagesPerPrompt;
  for (size_t b = 0; b < prompts.size(); ++b) {
    const std::vector<int32_t> &prompt = prompts[b];
    if (prompt.empty())
      return absl::InvalidArgumentError(absl::StrCat("prompt ", b, " is empty"));
    for (size_t i = 0; i < prompt.size(); ++i)
      if (prompt[i] < 0 || prompt[i] >= lm.vocabSize)
        return absl::InvalidArgumentError(
            absl::StrCat("prompt ", b, ", position ", i, ": token id ", prompt[i],
                         " is outside the vocabulary [0, ", lm.vocabSize, ")"));
    int64_t length = static_cast<int64_t>(prompt.size());
    if (length > lm.maxPositions || maxNewTokens > lm.maxPositions - length)
      return absl::InvalidArgumentError(absl::StrCat(
          "prompt ", b, ": ", length, " prompt tokens + ", maxNewTokens,
          " new tokens exceed the model's maximum of ", lm.maxPositions, " positions"));
    totalTokens += length;
    // The last new token is returned, never fed back: it takes no cache slot.
    int64_t cached = length + std::max<int64_t>(maxNewTokens - 1, 0);
    pagesPerPrompt.push_back((cached + lm.pageSize - 1) / lm.pageSize);
    neededPages += pagesPerPrompt.back();
  }
  if (totalTokens > std::numeric_limits<int32_t>::max())
    return absl::InvalidArgumentError(
        absl::StrCat("the prompts hold ", totalTokens, " tokens, more than one call can take"));
  if (neededPages > pages.numFreePages())
    return absl::ResourceExhaustedError(
        absl::StrCat("the batch needs ", neededPages, " KV pages of ", lm.pageSize, " tokens",
                     prompts.size() == 1
                         ? ""
                         : absl::StrCat(" (per prompt: ", absl::StrJoin(pagesPerPrompt, ", "), ")"),
                     " for its prompts and max_new_tokens, but only ", pages.numFreePages(),
                     " of the model's ", pages.numPages(),
                     " pages are free; load the model with more, e.g. --load-symbol num_pages=",
                     neededPages + pages.numPages() - pages.numFreePages()));
  return absl::OkStatus();
}

absl::StatusOr<HostTensor> Generator::forward(const Batch &batch) {
  for (size_t s = 0; s < batch.sequences.size(); ++s)
    MVC_RETURN_IF_ERROR(pages.reserve(
        batch.sequences[s], batch.cacheLens[s] + batch.rowOffsets[s + 1] - batch.rowOffsets[s]));
  MVC_ASSIGN_OR_RETURN(BlockTables tables, pages.exportBlockTables(batch.sequences));
  int64_t numSequences = static_cast<int64_t>(batch.sequences.size());
  HostTensor bySlot[] = {
      i32Tensor(batch.tokens, {static_cast<int64_t>(batch.tokens.size())}),
      i32Tensor(batch.positions, {static_cast<int64_t>(batch.positions.size())}),
      i32Tensor(tables.blockTable, {numSequences, tables.maxPages}),
      i32Tensor(batch.rowOffsets, {numSequences + 1}),
      i32Tensor(batch.cacheLens, {numSequences}),
      i32Tensor(batch.logitRows, {static_cast<int64_t>(batch.logitRows.size())}),
  };
  std::vector<HostTensor> inputs;
  for (size_t slot : inputOrder)
    inputs.push_back(std::move(bySlot[slot]));
  MVC_ASSIGN_OR_RETURN(std::vector<HostTensor> outputs,
                       model->execute(languageModel->program, std::move(inputs)));
  HostTensor &logits = outputs[logitsOutput];
  std::vector<int64_t> expected = {static_cast<int64_t>(batch.logitRows.size()),
                                   languageModel->vocabSize};
  if (logits.shape() != expected)
    return absl::InternalError(absl::StrCat(
        "program '", languageModel->program, "' returned logits of shape [",
        absl::StrJoin(logits.shape(), ", "), "], expected [", absl::StrJoin(expected, ", "), "]"));
  return std::move(logits);
}

absl::StatusOr<GenerationResult>
Generator::generate(const std::vector<std::vector<int32_t>> &prompts,
                    const GenerationOptions &options) {
  Clock::time_point start = Clock::now();
  MVC_ASSIGN_OR_RETURN(Sampler sampler, Sampler::create(options.sampling));
  MVC_RETURN_IF_ERROR(checkPrompts(prompts, options.maxNewTokens));
  const LanguageModelInfo &lm = *languageModel;
  size_t numPrompts = prompts.size();
  ReleaseSequences release(pages, numPrompts);

  GenerationResult result;
  result.tokens.resize(numPrompts);
  result.finishReasons.resize(numPrompts, FinishReason::MaxNewTokens);
  std::vector<SequenceRng> rngs;
  for (size_t b = 0; b < numPrompts; ++b)
    rngs.emplace_back(options.sampling.seed, b);
  std::vector<int64_t> cacheLens(numPrompts, 0);
  std::vector<bool> finished(numPrompts, false);
  int64_t vocab = lm.vocabSize;

  // Picks prompt b's next token from a row of logits; marks it finished on EOS or length.
  auto choose = [&](size_t b, const HostTensor &logits, int64_t row) -> absl::Status {
    absl::StatusOr<int32_t> token =
        sampler.sample({logits.dataAs<float>() + row * vocab, static_cast<size_t>(vocab)}, rngs[b]);
    if (!token.ok())
      return absl::Status(token.status().code(),
                          absl::StrCat("prompt ", b, ", new token ", result.tokens[b].size(), ": ",
                                       token.status().message()));
    result.tokens[b].push_back(*token);
    if (options.onToken)
      options.onToken(b, *token);
    if (std::find(lm.eosTokenIds.begin(), lm.eosTokenIds.end(), *token) != lm.eosTokenIds.end()) {
      finished[b] = true;
      result.finishReasons[b] = FinishReason::Eos;
    } else if (static_cast<int64_t>(result.tokens[b].size()) == options.maxNewTokens) {
      finished[b] = true;
    }
    return absl::OkStatus();
  };

  Batch prefill;
  for (size_t b = 0; b < numPrompts; ++b)
    prefill.add(static_cast<SequenceId>(b), 0, prompts[b]);
  bool allRows = options.promptLogits == PromptLogits::All;
  for (size_t b = 0; b < numPrompts; ++b) {
    if (allRows)
      for (int32_t row = prefill.rowOffsets[b]; row < prefill.rowOffsets[b + 1]; ++row)
        prefill.logitRows.push_back(row);
    else
      prefill.logitRows.push_back(prefill.rowOffsets[b + 1] - 1);
  }
  Clock::time_point prefillStart = Clock::now();
  MVC_ASSIGN_OR_RETURN(HostTensor logits, forward(prefill));
  result.stats.prefillSeconds = secondsSince(prefillStart);
  result.stats.promptTokens = static_cast<int64_t>(prefill.tokens.size());
  for (size_t b = 0; b < numPrompts; ++b)
    cacheLens[b] = static_cast<int64_t>(prompts[b].size());
  if (options.maxNewTokens > 0) {
    for (size_t b = 0; b < numPrompts; ++b)
      MVC_RETURN_IF_ERROR(choose(b, logits, allRows ? prefill.rowOffsets[b + 1] - 1 : b));
    result.stats.timeToFirstToken = secondsSince(start);
  } else {
    finished.assign(numPrompts, true);
  }
  if (options.promptLogits != PromptLogits::None)
    result.promptLogits = std::move(logits);

  while (true) {
    Batch step;
    std::vector<size_t> members;
    for (size_t b = 0; b < numPrompts; ++b)
      if (!finished[b]) {
        step.add(static_cast<SequenceId>(b), cacheLens[b], {result.tokens[b].back()});
        step.logitRows.push_back(static_cast<int32_t>(members.size()));
        members.push_back(b);
      }
    if (members.empty())
      break;
    Clock::time_point stepStart = Clock::now();
    MVC_ASSIGN_OR_RETURN(HostTensor stepLogits, forward(step));
    for (size_t i = 0; i < members.size(); ++i) {
      MVC_RETURN_IF_ERROR(choose(members[i], stepLogits, static_cast<int64_t>(i)));
      ++cacheLens[members[i]];
    }
    result.stats.decodeSeconds += secondsSince(stepStart);
    result.stats.decodeTokens += static_cast<int64_t>(members.size());
    ++result.stats.decodeSteps;
  }
  return result;
}

absl::StatusOr<HostTensor>
Generator::promptLogits(const std::vector<std::vector<int32_t>> &prompts) {
  GenerationOptions options;
  options.maxNewTokens = 0;
  options.promptLogits = PromptLogits::All;
  MVC_ASSIGN_OR_RETURN(GenerationResult result, generate(prompts, options));
  return std::move(result.promptLogits);
}

} // namespace mvc
