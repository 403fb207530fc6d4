//===- Generator.cpp - prefill, decode steps, sampling, KV pages ----------===//
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

/// The forward program's inputs, in FORMAT.md order (the slots of Generator::inputOrder).
constexpr const char *kInputNames[] = {"tokens",         "positions",    "block_table",
                                       "row_offsets",    "cache_lens",   "logit_rows",
                                       "image_features", "embed_source", "group_spans"};

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
  // Multimodal models: image feature rows, each token's row of them (or -1), and each
  // token's bidirectional span [start, end) in absolute positions (empty: 0, 0).
  std::vector<float> imageFeatures;
  std::vector<int32_t> embedSource, groupSpans;

  void add(SequenceId sequence, int64_t cacheLength, absl::Span<const int32_t> newTokens) {
    sequences.push_back(sequence);
    cacheLens.push_back(static_cast<int32_t>(cacheLength));
    for (size_t i = 0; i < newTokens.size(); ++i) {
      tokens.push_back(newTokens[i]);
      positions.push_back(static_cast<int32_t>(cacheLength + i));
      embedSource.push_back(-1);
      groupSpans.insert(groupSpans.end(), {0, 0});
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
  Generator generator(model, *info, std::move(pages), std::move(inputOrder), logitsOutput);
  for (const TensorSignature &input : program->inputs)
    if (input.name == "image_features") {
      // The loader checked rank 2; the row width is a constant of the graph.
      char *end = nullptr;
      generator.imageHidden = std::strtoll(input.shape[1].c_str(), &end, 10);
      if (*end != '\0' || generator.imageHidden <= 0)
        return absl::InvalidArgumentError(absl::StrCat(
            "program '", info->program, "': image_features must have a constant row width, got ",
            input.shape[1]));
    }
  return generator;
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
      if ((prompt[i] < 0 || prompt[i] >= lm.vocabSize) &&
          !(lm.vision && prompt[i] == lm.vision->imageTokenId))
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
      HostTensor(),
      i32Tensor(batch.embedSource, {static_cast<int64_t>(batch.embedSource.size())}),
      i32Tensor(batch.groupSpans, {static_cast<int64_t>(batch.groupSpans.size() / 2), 2}),
  };
  if (imageHidden > 0) {
    int64_t rows = static_cast<int64_t>(batch.imageFeatures.size()) / imageHidden;
    bySlot[6] = HostTensor::allocate(DType::F32, {rows, imageHidden});
    std::memcpy(bySlot[6].data(), batch.imageFeatures.data(), batch.imageFeatures.size() * sizeof(float));
    // An image token id outside the text vocabulary is embedded as id 0, as transformers
    // does; its embedding is replaced by image features anyway.
    int32_t *tokens = bySlot[0].dataAs<int32_t>();
    for (size_t i = 0; i < batch.tokens.size(); ++i)
      if (tokens[i] >= languageModel->vocabSize) tokens[i] = 0;
  }
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

absl::Status Generator::checkActivationMemory(const std::vector<Batch> &calls,
                                              const std::vector<std::vector<HostTensor>> &images,
                                              uint64_t limit) const {
  const LanguageModelInfo &lm = *languageModel;
  if (limit == 0) {
    long pages = sysconf(_SC_PHYS_PAGES), pageBytes = sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || pageBytes <= 0)
      return absl::OkStatus(); // unknown machine size: no default limit
    limit = static_cast<uint64_t>(pages) / 4 * 3 * static_cast<uint64_t>(pageBytes);
  }
  int64_t numImages = 0, promptTokens = 0;
  for (const auto &list : images)
    numImages += static_cast<int64_t>(list.size());
  int64_t imageRows = lm.vision ? numImages * lm.vision->tokensPerImage : 0;
  uint64_t forward = 0;
  for (const Batch &call : calls) {
    int64_t tokens = static_cast<int64_t>(call.tokens.size()), maxPages = 1;
    int64_t batch = static_cast<int64_t>(call.sequences.size());
    for (int64_t s = 0; s < batch; ++s)
      maxPages = std::max<int64_t>(
          maxPages, (call.cacheLens[s] + call.rowOffsets[s + 1] - call.rowOffsets[s] + lm.pageSize - 1) /
                        lm.pageSize);
    promptTokens += tokens;
    std::vector<int64_t> bySlot[] = {{tokens}, {tokens}, {batch, maxPages}, {batch + 1}, {batch},
                                     {static_cast<int64_t>(call.logitRows.size())},
                                     {imageRows, imageHidden}, {tokens}, {tokens, 2}};
    std::vector<std::vector<int64_t>> shapes;
    for (size_t slot : inputOrder)
      shapes.push_back(bySlot[slot]);
    MVC_ASSIGN_OR_RETURN(uint64_t bytes, model->estimateActivationBytes(lm.program, shapes));
    forward = std::max(forward, bytes);
  }
  uint64_t vision = 0;
  if (lm.vision && numImages > 0) {
    MVC_ASSIGN_OR_RETURN(vision, model->estimateActivationBytes(
                                     lm.vision->program, {{1, lm.vision->numChannels,
                                                           lm.vision->imageSize, lm.vision->imageSize}}));
  }
  // The programs run one after another on one arena; the features of every image wait
  // for the prefill.
  uint64_t need = std::max(forward, vision) + static_cast<uint64_t>(imageRows * imageHidden) * 4;
  if (need > limit)
    return absl::ResourceExhaustedError(absl::StrCat(
        "the batch needs ", humanBytes(need), " of activation memory (", promptTokens, " prompt tokens",
        lm.vision ? absl::StrCat(", ", numImages, " image", numImages == 1 ? "" : "s") : "",
        "), more than the limit of ", humanBytes(limit), "; pass fewer ",
        lm.vision ? "images or " : "", "prompts per call"));
  return absl::OkStatus();
}

absl::Status Generator::addImages(Batch &prefill, const std::vector<std::vector<int32_t>> &prompts,
                                  const std::vector<std::vector<HostTensor>> &images) {
  const LanguageModelInfo &lm = *languageModel;
  if (!lm.vision) {
    for (const auto &list : images)
      if (!list.empty())
        return absl::InvalidArgumentError("the model takes no images (it is a text-only model)");
    return absl::OkStatus();
  }
  if (!images.empty() && images.size() != prompts.size())
    return absl::InvalidArgumentError(absl::StrCat("images are given for ", images.size(),
                                                   " prompts, but there are ", prompts.size()));
  const LanguageModelInfo::Vision &vision = *lm.vision;
  std::vector<int64_t> pixelShape = {1, vision.numChannels, vision.imageSize, vision.imageSize};
  int32_t featureRows = 0;
  for (size_t b = 0; b < prompts.size(); ++b) {
    const std::vector<int32_t> &prompt = prompts[b];
    size_t numImages = images.empty() ? 0 : images[b].size();
    int64_t imageTokens = std::count(prompt.begin(), prompt.end(), vision.imageTokenId);
    if (imageTokens != static_cast<int64_t>(numImages) * vision.tokensPerImage)
      return absl::InvalidArgumentError(absl::StrCat(
          "prompt ", b, " holds ", imageTokens, " image tokens (id ", vision.imageTokenId,
          ") but ", numImages, " image", numImages == 1 ? "" : "s", " of ",
          vision.tokensPerImage, " tokens each were given"));
    for (size_t j = 0; j < numImages; ++j) {
      const HostTensor &pixels = images[b][j];
      std::vector<int64_t> shape = pixels.shape();
      if (shape.size() == 3)
        shape.insert(shape.begin(), 1);
      if (pixels.dtype() != DType::F32 || shape != pixelShape)
        return absl::InvalidArgumentError(absl::StrCat(
            "prompt ", b, ", image ", j, ": pixel values must be f32 [", vision.numChannels, ", ",
            vision.imageSize, ", ", vision.imageSize, "], got ", dtypeName(pixels.dtype()), " [",
            absl::StrJoin(pixels.shape(), ", "), "]"));
      MVC_ASSIGN_OR_RETURN(HostTensor input, HostTensor::fromBytes(DType::F32, pixelShape,
                                                                   pixels.data(), pixels.byteSize()));
      std::vector<HostTensor> inputs;
      inputs.push_back(std::move(input));
      MVC_ASSIGN_OR_RETURN(std::vector<HostTensor> out,
                           model->execute(vision.program, std::move(inputs)));
      const HostTensor &features = out[0];
      if (features.shape() != std::vector<int64_t>{vision.tokensPerImage, imageHidden})
        return absl::InternalError(absl::StrCat("program '", vision.program,
                                                "' returned image_features of shape [",
                                                absl::StrJoin(features.shape(), ", "), "]"));
      const float *rows = features.dataAs<float>();
      prefill.imageFeatures.insert(prefill.imageFeatures.end(), rows, rows + features.numElements());
    }
    // Image tokens take the feature rows in order; each contiguous run of them is one
    // bidirectional group (positions are absolute: this prefill starts at cache length 0).
    int32_t begin = prefill.rowOffsets[b];
    int32_t runStart = -1;
    for (size_t i = 0; i <= prompt.size(); ++i) {
      bool image = i < prompt.size() && prompt[i] == vision.imageTokenId;
      if (image) {
        prefill.embedSource[begin + i] = featureRows++;
        if (runStart < 0) runStart = static_cast<int32_t>(i);
      } else if (runStart >= 0) {
        for (size_t k = runStart; k < i; ++k) {
          prefill.groupSpans[2 * (begin + k)] = prefill.cacheLens[b] + runStart;
          prefill.groupSpans[2 * (begin + k) + 1] = prefill.cacheLens[b] + static_cast<int32_t>(i);
        }
        runStart = -1;
      }
    }
  }
  return absl::OkStatus();
}

std::vector<Generator::Batch> Generator::prefillBatches(const std::vector<std::vector<int32_t>> &prompts,
                                                        bool allRows, int64_t chunk) const {
  std::vector<Batch> calls(1);
  for (size_t b = 0; b < prompts.size(); ++b) {
    absl::Span<const int32_t> prompt(prompts[b]);
    for (size_t at = 0; at < prompt.size();) {
      if (chunk > 0 && static_cast<int64_t>(calls.back().tokens.size()) == chunk)
        calls.emplace_back();
      Batch &call = calls.back();
      size_t take = prompt.size() - at;
      if (chunk > 0)
        take = std::min<size_t>(take, static_cast<size_t>(chunk) - call.tokens.size());
      call.add(static_cast<SequenceId>(b), static_cast<int64_t>(at), prompt.subspan(at, take));
      at += take;
      int32_t end = call.rowOffsets.back();
      if (allRows)
        for (int32_t row = end - static_cast<int32_t>(take); row < end; ++row)
          call.logitRows.push_back(row);
      else if (at == prompt.size())
        call.logitRows.push_back(end - 1);
    }
  }
  return calls;
}

absl::StatusOr<GenerationResult>
Generator::generate(const std::vector<std::vector<int32_t>> &prompts,
                    const GenerationOptions &options,
                    const std::vector<std::vector<HostTensor>> &images) {
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

  // Prompts with images (or image tokens) prefill in one call: an image's span attends to
  // itself both ways. Text prompts go in calls of at most prefillChunk tokens.
  bool allRows = options.promptLogits == PromptLogits::All;
  bool withImages = false;
  for (const auto &list : images)
    withImages = withImages || !list.empty();
  if (lm.vision)
    for (const std::vector<int32_t> &prompt : prompts)
      withImages = withImages ||
                   std::find(prompt.begin(), prompt.end(), lm.vision->imageTokenId) != prompt.end();
  std::vector<Batch> calls = prefillBatches(prompts, allRows, withImages ? 0 : options.prefillChunk);
  MVC_RETURN_IF_ERROR(checkActivationMemory(calls, images, options.activationMemoryLimit));
  Clock::time_point prefillStart = Clock::now();
  if (withImages)
    MVC_RETURN_IF_ERROR(addImages(calls.front(), prompts, images));
  std::vector<HostTensor> parts;
  int64_t logitRows = 0;
  for (const Batch &call : calls) {
    MVC_ASSIGN_OR_RETURN(HostTensor part, forward(call));
    logitRows += part.shape()[0];
    parts.push_back(std::move(part));
  }
  HostTensor logits;
  if (parts.size() == 1) {
    logits = std::move(parts.front());
  } else {
    logits = HostTensor::allocate(DType::F32, {logitRows, vocab});
    uint8_t *to = logits.data();
    for (const HostTensor &part : parts) {
      std::memcpy(to, part.data(), part.byteSize());
      to += part.byteSize();
    }
  }
  result.stats.prefillSeconds = secondsSince(prefillStart);
  result.stats.prefillCalls = static_cast<int64_t>(calls.size());
  // Each prompt's last logit row: its index among the prompts, or with every row, the end
  // of its rows.
  std::vector<int64_t> lastRow(numPrompts);
  for (size_t b = 0; b < numPrompts; ++b) {
    result.stats.promptTokens += static_cast<int64_t>(prompts[b].size());
    lastRow[b] = allRows ? result.stats.promptTokens - 1 : static_cast<int64_t>(b);
  }
  for (size_t b = 0; b < numPrompts; ++b)
    cacheLens[b] = static_cast<int64_t>(prompts[b].size());
  if (options.maxNewTokens > 0) {
    for (size_t b = 0; b < numPrompts; ++b)
      MVC_RETURN_IF_ERROR(choose(b, logits, lastRow[b]));
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
Generator::promptLogits(const std::vector<std::vector<int32_t>> &prompts,
                        const std::vector<std::vector<HostTensor>> &images) {
  GenerationOptions options;
  options.maxNewTokens = 0;
  options.promptLogits = PromptLogits::All;
  MVC_ASSIGN_OR_RETURN(GenerationResult result, generate(prompts, options, images));
  return std::move(result.promptLogits);
}

} // namespace mvc
