//===- Engine.cpp - scheduling, pages, one forward call per step ----------===//
#include "runtime/pipeline/Engine.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <limits>

#include "absl/numeric/bits.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "architectures/RunHalves.h"
#include "runtime/util/StatusMacros.h"

namespace mvc {

namespace {

using Clock = std::chrono::steady_clock;

} // namespace

int64_t shapeBucket(int64_t count) {
  if (count <= 0)
    return count;
  if (count <= 16)
    return static_cast<int64_t>(absl::bit_ceil(static_cast<uint64_t>(count)));
  int64_t step = static_cast<int64_t>(absl::bit_floor(static_cast<uint64_t>(count - 1))) / 8;
  return (count + step - 1) / step * step;
}

struct Engine::Sequence {
  SequenceId id = 0;
  SequenceRequest request;
  std::vector<int32_t> tokens; // the prompt, then the generated tokens
  int64_t cached = 0;          // tokens whose keys and values are in the cache
  int64_t generated = 0;
  bool admitted = false; // scheduled once: counts against maxRunning (pages it may hold
                         // before that, from a shared prefix, do not)
  std::optional<Sampler> sampler;
  std::optional<SequenceRng> rng;

  int64_t promptLength() const { return static_cast<int64_t>(request.prompt.size()); }
  bool prefilling() const { return cached < promptLength(); }
  SequenceView view() const { return {tokens, promptLength(), request.images}; }
};

/// A sequence's part of a step: tokens [begin, begin + count) of its list.
struct Engine::Scheduled {
  Sequence *sequence;
  int64_t begin, count;
};

Engine::Engine(Model &model, std::unique_ptr<RunHalf> half, const EngineOptions &options)
    : target(&model), languageModel(model.languageModel()), kvPages(model.kvPages()),
      half(std::move(half)), options(options) {
  if (options.prefixCache)
    prefixes = std::make_unique<PrefixCache>(*kvPages);
  this->half->keepVisionFeatures(options.visionCacheBytes);
}

std::vector<uint64_t> Engine::contentKeys(const Sequence &sequence) const {
  std::vector<uint64_t> keys(sequence.tokens.size());
  std::map<int64_t, uint64_t> rowInFrame;
  int64_t placeholders = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    const int32_t token = sequence.tokens[i];
    if (static_cast<int64_t>(i) >= sequence.promptLength() || !half->isPlaceholderToken(token)) {
      keys[i] = static_cast<uint32_t>(token);
      continue;
    }
    const std::vector<ImageFrame> &images = sequence.request.images;
    const int64_t frame = half->placeholderFrame(placeholders++, images);
    const uint64_t pixels =
        frame >= 0 && frame < static_cast<int64_t>(images.size()) ? images[frame].contentHash : 0;
    // splitmix64 of (pixels, token, row): distinct rows and frames, never a text id.
    uint64_t z = pixels ^ (static_cast<uint64_t>(static_cast<uint32_t>(token)) << 32) ^
                 (rowInFrame[frame]++ * 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    keys[i] = (z ^ (z >> 31)) | (uint64_t{1} << 63);
  }
  return keys;
}

int64_t Engine::availablePages() const {
  return kvPages->numFreePages() + (prefixes ? prefixes->evictablePages() : 0);
}

Engine::~Engine() {
  // The pages of sequences still here go back to the model's pool.
  for (const auto &[id, sequence] : sequences)
    if (kvPages->contains(id))
      kvPages->release(id).IgnoreError(); // present, so cannot fail
}

absl::StatusOr<std::unique_ptr<Engine>> Engine::create(Model &model, const EngineOptions &options) {
  if (options.maxStepTokens < 0 || options.maxRunning < 0)
    return absl::InvalidArgumentError("engine options: limits must be >= 0");
  MVC_ASSIGN_OR_RETURN(std::unique_ptr<RunHalf> half, createRunHalf(model));
  std::unique_ptr<Engine> engine(new Engine(model, std::move(half), options));
  for (const ProgramSignature &program : model.programs()) {
    if (program.name != engine->languageModel->program)
      continue;
    // The loader checked the common inputs and the logits output; the run half its own.
    for (const TensorSignature &input : program.inputs)
      engine->inputOrder.push_back(input.name);
    while (program.outputs[engine->logitsOutput].name != "logits")
      ++engine->logitsOutput;
    for (const TensorSignature &output : program.outputs)
      engine->outputNames.push_back(output.name);
  }
  return engine;
}

absl::Status Engine::check(const SequenceRequest &request) const {
  const LanguageModelInfo &lm = *languageModel;
  std::string who = request.label.empty() ? "the sequence" : request.label;
  const std::vector<int32_t> &prompt = request.prompt;
  if (prompt.empty())
    return absl::InvalidArgumentError(absl::StrCat(who, " is empty"));
  if (request.logprobs < -1)
    return absl::InvalidArgumentError(
        absl::StrCat("logprobs must be -1 (none) or >= 0, got ", request.logprobs));
  if (request.maxNewTokens < 0)
    return absl::InvalidArgumentError(
        absl::StrCat("max_new_tokens must be >= 0, got ", request.maxNewTokens));
  for (size_t i = 0; i < prompt.size(); ++i)
    if ((prompt[i] < 0 || prompt[i] >= lm.vocabSize) && !half->isPlaceholderToken(prompt[i]))
      return absl::InvalidArgumentError(absl::StrCat(who, ", position ", i, ": token id ",
                                                     prompt[i], " is outside the vocabulary [0, ",
                                                     lm.vocabSize, ")"));
  int64_t length = static_cast<int64_t>(prompt.size());
  if (length > lm.maxPositions || request.maxNewTokens > lm.maxPositions - length)
    return absl::InvalidArgumentError(
        absl::StrCat(who, ": ", length, " prompt tokens + ", request.maxNewTokens,
                     " new tokens exceed the model's maximum of ", lm.maxPositions, " positions"));
  absl::Status images = half->checkPrompt(prompt, request.images);
  if (!images.ok())
    return absl::Status(images.code(), absl::StrCat(who, " ", images.message()));
  MVC_RETURN_IF_ERROR(request.sampling.validate());
  if (request.sharePrefixWith && !sequences.count(*request.sharePrefixWith))
    return absl::NotFoundError(
        absl::StrCat(who, ": no sequence ", *request.sharePrefixWith, " to share a prefix with"));
  return absl::OkStatus();
}

absl::Status Engine::checkFits(const SequenceRequest &request) const {
  // The last new token is returned, never fed back: it takes no cache slot.
  int64_t length = static_cast<int64_t>(request.prompt.size());
  int64_t pages = kvPages->pagesFor(length + std::max<int64_t>(request.maxNewTokens - 1, 0));
  if (pages > kvPages->numPages())
    return absl::ResourceExhaustedError(absl::StrCat(
        request.label.empty() ? "the sequence" : request.label, " needs ", pages, " KV pages of ",
        kvPages->pageSize(), " tokens for its prompt and max_new_tokens, but the model has ",
        kvPages->numPages(), "; load it with more, e.g. --load-symbol num_pages=", pages));
  return absl::OkStatus();
}

absl::StatusOr<SequenceId> Engine::add(SequenceRequest request) {
  MVC_RETURN_IF_ERROR(check(request));
  MVC_RETURN_IF_ERROR(checkFits(request));
  auto sequence = std::make_unique<Sequence>();
  sequence->id = nextId++;
  if (request.label.empty())
    request.label = absl::StrCat("sequence ", sequence->id);
  MVC_ASSIGN_OR_RETURN(Sampler sampler, Sampler::create(request.sampling));
  sequence->sampler.emplace(std::move(sampler));
  sequence->rng.emplace(request.sampling.seed, request.rngStream);
  sequence->tokens = request.prompt;
  for (ImageFrame &frame : request.images)
    if (frame.contentHash == 0)
      frame.contentHash = frameContentHash(frame);
  sequence->request = std::move(request);
  const SequenceRequest &added = sequence->request;
  if (added.sharePrefixWith) {
    // Whole pages of the common cached prefix, leaving at least the last prompt token to
    // run (its logits choose the first new token). Positions compare by content: equal
    // placeholder ids with different images differ.
    const Sequence &source = *sequences.at(*added.sharePrefixWith);
    const std::vector<uint64_t> mine = contentKeys(*sequence), theirs = contentKeys(source);
    int64_t common = 0, limit = std::min<int64_t>(source.cached, sequence->tokens.size() - 1);
    while (common < limit && theirs[common] == mine[common])
      ++common;
    MVC_ASSIGN_OR_RETURN(sequence->cached, kvPages->share(source.id, sequence->id, common));
  } else if (prefixes && added.promptLogits != PromptLogits::All) {
    // (A prompt whose every logit row is asked for computes every position.)
    const int64_t limit = static_cast<int64_t>(sequence->tokens.size()) - 1;
    if (std::optional<PrefixCache::Match> match = prefixes->find(contentKeys(*sequence), limit)) {
      MVC_ASSIGN_OR_RETURN(sequence->cached,
                           kvPages->share(match->entry, sequence->id, match->tokens));
    }
  }
  SequenceId id = sequence->id;
  sequences.emplace(id, std::move(sequence));
  return id;
}

absl::Status Engine::cancel(SequenceId id) {
  auto it = sequences.find(id);
  if (it == sequences.end())
    return absl::NotFoundError(absl::StrCat("no sequence ", id));
  if (kvPages->contains(id)) {
    // Its computed pages stay in the prefix cache (the last token's keys and values are
    // never written: it was returned, not fed back).
    const Sequence &sequence = *it->second;
    if (prefixes)
      MVC_RETURN_IF_ERROR(prefixes->retain(
          id, contentKeys(sequence),
          std::min<int64_t>(sequence.cached, static_cast<int64_t>(sequence.tokens.size())),
          nextId++));
    MVC_RETURN_IF_ERROR(kvPages->release(id));
  }
  sequences.erase(it);
  return absl::OkStatus();
}

std::vector<Engine::Scheduled> Engine::schedule() {
  int64_t budget =
      options.maxStepTokens > 0 ? options.maxStepTokens : std::numeric_limits<int64_t>::max();
  int64_t freePages = availablePages(), running = 0;
  auto heldPages = [&](const Sequence &s) -> int64_t {
    absl::StatusOr<absl::Span<const int32_t>> pages = kvPages->pages(s.id);
    return pages.ok() ? static_cast<int64_t>(pages->size()) : 0;
  };
  std::vector<Scheduled> work;
  // Every decoding sequence moves one token; they already hold pages.
  for (auto &[id, sequence] : sequences) {
    running += sequence->admitted;
    if (sequence->prefilling())
      continue;
    work.push_back({sequence.get(), sequence->cached, 1});
    --budget;
    freePages -= kvPages->pagesFor(sequence->cached + 1) - heldPages(*sequence);
  }
  // Then prompts, first come first served, as far as the budget and the pages go.
  bool prefilled = false;
  for (auto &[id, sequence] : sequences) {
    if (!sequence->prefilling())
      continue;
    if (budget <= 0 || freePages < 0)
      break;
    bool started = sequence->admitted;
    if (!started && options.maxRunning > 0 && running >= options.maxRunning)
      break;
    int64_t begin = sequence->cached, held = heldPages(*sequence);
    int64_t fits = (held + freePages) * kvPages->pageSize();
    int64_t want = std::min({sequence->promptLength(), begin + budget, fits});
    if (want <= begin)
      break;
    int64_t end = half->chunkEnd(sequence->view(), begin, want);
    // A span that must go whole may overrun the budget only as the step's first prompt.
    if (end > want && (end > fits || prefilled))
      break;
    work.push_back({sequence.get(), begin, end - begin});
    budget -= end - begin;
    freePages -= kvPages->pagesFor(end) - held;
    running += !started;
    sequence->admitted = true;
    prefilled = true;
  }
  return work;
}

bool Engine::bucketed() const {
  return options.shapes == EngineOptions::Shapes::Bucketed ||
         (options.shapes == EngineOptions::Shapes::Auto && target->reusesPlans());
}

Engine::PaddedSizes Engine::paddedSizes(int64_t tokens, int64_t sequences, int64_t pages,
                                        int64_t rows) const {
  int64_t pad = shapeBucket(tokens) - tokens;
  return {tokens + pad, shapeBucket(sequences + (pad > 0 ? 1 : 0)),
          static_cast<int64_t>(absl::bit_ceil(static_cast<uint64_t>(
              std::max<int64_t>({pages, kvPages->pagesFor(pad), 1})))),
          shapeBucket(rows)};
}

std::optional<ForwardBatch> Engine::padToBuckets(const ForwardBatch &batch,
                                                 std::vector<int32_t> &padTokens) const {
  int64_t tokens = static_cast<int64_t>(batch.tokens.size());
  int64_t sequences = static_cast<int64_t>(batch.members.size());
  int64_t rows = static_cast<int64_t>(batch.logitRows.size());
  PaddedSizes to = paddedSizes(tokens, sequences, batch.tables.maxPages, rows);
  int64_t pad = to.tokens - tokens, paddedSequences = to.sequences, paddedRows = to.rows;
  int32_t maxPages = static_cast<int32_t>(to.pages);
  if (pad == 0 && paddedSequences == sequences && paddedRows == rows &&
      maxPages == batch.tables.maxPages)
    return std::nullopt;
  // The padding rows run as one more sequence, at positions 0.., over a page no sequence
  // holds.
  int32_t scratchPage = kvPages->anyFreePage();
  if (pad > 0 && (scratchPage < 0 || pad > languageModel->maxPositions))
    return std::nullopt;
  ForwardBatch padded;
  padded.members = batch.members;
  padded.tokens = batch.tokens;
  padded.positions = batch.positions;
  padded.rowOffsets = batch.rowOffsets;
  padded.cacheLens = batch.cacheLens;
  padded.logitRows = batch.logitRows;
  padded.tables.maxPages = maxPages;
  padded.tables.blockTable.assign(paddedSequences * maxPages, std::max(scratchPage, 0));
  for (int64_t s = 0; s < sequences; ++s)
    std::copy_n(batch.tables.blockTable.begin() + s * batch.tables.maxPages,
                batch.tables.maxPages, padded.tables.blockTable.begin() + s * maxPages);
  padTokens.assign(pad, languageModel->padTokenId.value_or(0));
  for (int64_t s = sequences; s < paddedSequences; ++s) {
    int64_t count = s == sequences ? pad : 0;
    padded.members.push_back({{padTokens, 0, {}}, 0, count});
    for (int64_t i = 0; i < count; ++i) {
      padded.tokens.push_back(padTokens[i]);
      padded.positions.push_back(static_cast<int32_t>(i));
    }
    padded.rowOffsets.push_back(static_cast<int32_t>(padded.tokens.size()));
    padded.cacheLens.push_back(0);
  }
  padded.tables.cacheLengths = padded.cacheLens;
  padded.logitRows.resize(paddedRows, rows > 0 ? batch.logitRows.back() : 0);
  return padded;
}

absl::StatusOr<HostTensor> Engine::forward(const ForwardBatch &exact) {
  std::vector<int32_t> padTokens;
  std::optional<ForwardBatch> padded;
  if (bucketed())
    padded = padToBuckets(exact, padTokens);
  const ForwardBatch &batch = padded ? *padded : exact;
  int64_t numSequences = static_cast<int64_t>(batch.members.size());
  int64_t numTokens = static_cast<int64_t>(batch.tokens.size());
  ForwardInputs byName;
  byName["tokens"] = i32Tensor(batch.tokens, {numTokens});
  byName["positions"] = i32Tensor(batch.positions, {numTokens});
  byName["block_table"] = i32Tensor(batch.tables.blockTable, {numSequences, batch.tables.maxPages});
  byName["row_offsets"] = i32Tensor(batch.rowOffsets, {numSequences + 1});
  byName["cache_lens"] = i32Tensor(batch.cacheLens, {numSequences});
  byName["logit_rows"] = i32Tensor(batch.logitRows, {static_cast<int64_t>(batch.logitRows.size())});
  MVC_RETURN_IF_ERROR(half->setInputs(*target, batch, byName));
  std::vector<HostTensor> inputs;
  for (const std::string &name : inputOrder) {
    auto it = byName.find(name);
    if (it == byName.end())
      return absl::InternalError(
          absl::StrCat("the '", half->id(), "' run half did not set input '", name, "'"));
    inputs.push_back(std::move(it->second));
  }
  MVC_ASSIGN_OR_RETURN(std::vector<HostTensor> outputs,
                       target->execute(languageModel->program, std::move(inputs)));
  if (options.onExtraOutputs && outputs.size() > 1) {
    std::vector<std::pair<std::string, HostTensor>> extra;
    for (size_t i = 0; i < outputs.size() && i < outputNames.size(); ++i)
      if (i != logitsOutput) extra.emplace_back(outputNames[i], outputs[i]);
    options.onExtraOutputs(batch, extra);
  }
  HostTensor &logits = outputs[logitsOutput];
  std::vector<int64_t> expected = {static_cast<int64_t>(batch.logitRows.size()),
                                   languageModel->vocabSize};
  if (logits.shape() != expected)
    return absl::InternalError(absl::StrCat(
        "program '", languageModel->program, "' returned logits of shape [",
        absl::StrJoin(logits.shape(), ", "), "], expected [", absl::StrJoin(expected, ", "), "]"));
  return std::move(logits);
}

absl::StatusOr<StepResult> Engine::step() {
  std::vector<float> constrained; // a constrained sequence's masked logits
  Clock::time_point start = Clock::now();
  StepResult result;
  if (sequences.empty())
    return result;
  std::vector<Scheduled> work = schedule();
  if (work.empty())
    return absl::ResourceExhaustedError(
        absl::StrCat("KV cache: out of pages: ", sequences.size(), " sequence",
                     sequences.size() == 1 ? " waits" : "s wait", " for pages and none can move (",
                     kvPages->numFreePages(), " of ", kvPages->numPages(),
                     " pages free); cancel a sequence or load the model with more pages"));
  std::vector<std::pair<SequenceId, int64_t>> reservations;
  std::vector<SequenceId> ids;
  int64_t newPages = 0;
  for (const Scheduled &item : work) {
    int64_t reserved =
        kvPages->contains(item.sequence->id) ? *kvPages->length(item.sequence->id) : 0;
    int64_t length = std::max(reserved, item.begin + item.count);
    reservations.push_back({item.sequence->id, length});
    newPages += kvPages->pagesFor(length) - kvPages->pagesFor(reserved);
    ids.push_back(item.sequence->id);
  }
  // schedule() counted the cache's pages as available; evict only when that makes the
  // reservation fit (a step that fails anyway changes nothing).
  if (prefixes && newPages > kvPages->numFreePages() && newPages <= availablePages())
    MVC_RETURN_IF_ERROR(prefixes->evictUntilFree(newPages));
  MVC_RETURN_IF_ERROR(kvPages->reserveAll(reservations));

  ForwardBatch batch;
  MVC_ASSIGN_OR_RETURN(batch.tables, kvPages->exportBlockTables(ids));
  // Per scheduled sequence: its first logit row and whether its last row picks a token.
  std::vector<int32_t> firstLogitRow;
  for (const Scheduled &item : work) {
    const Sequence &sequence = *item.sequence;
    batch.members.push_back({sequence.view(), item.begin, item.count});
    batch.cacheLens.push_back(static_cast<int32_t>(item.begin));
    int32_t firstRow = static_cast<int32_t>(batch.tokens.size());
    for (int64_t i = 0; i < item.count; ++i) {
      batch.tokens.push_back(sequence.tokens[item.begin + i]);
      batch.positions.push_back(static_cast<int32_t>(item.begin + i));
    }
    batch.rowOffsets.push_back(static_cast<int32_t>(batch.tokens.size()));
    firstLogitRow.push_back(static_cast<int32_t>(batch.logitRows.size()));
    bool prompt = item.begin < sequence.promptLength();
    bool endsPrompt = item.begin + item.count >= sequence.promptLength();
    if (prompt && sequence.request.promptLogits == PromptLogits::All) {
      for (int64_t i = 0; i < item.count; ++i)
        batch.logitRows.push_back(firstRow + static_cast<int32_t>(i));
    } else if (endsPrompt) {
      batch.logitRows.push_back(static_cast<int32_t>(batch.tokens.size()) - 1);
    }
  }
  MVC_ASSIGN_OR_RETURN(HostTensor logits, forward(batch));

  int64_t vocab = languageModel->vocabSize;
  size_t rowBytes = static_cast<size_t>(vocab) * sizeof(float);
  absl::Status failure;
  std::vector<SequenceId> finished;
  for (size_t m = 0; m < work.size(); ++m) {
    Sequence &sequence = *work[m].sequence;
    SequenceEvent event;
    event.id = sequence.id;
    bool prompt = sequence.prefilling();
    sequence.cached += work[m].count;
    int64_t rows = (m + 1 < work.size() ? firstLogitRow[m + 1]
                                        : static_cast<int32_t>(batch.logitRows.size())) -
                   firstLogitRow[m];
    if (prompt) {
      event.promptTokens = work[m].count;
      result.prefillTokens += work[m].count;
    } else {
      result.decodeTokens += 1;
    }
    if (rows == 0) {
      result.events.push_back(std::move(event));
      continue; // a prefill chunk that does not end its prompt
    }
    const float *lastRow = logits.dataAs<float>() + (firstLogitRow[m] + rows - 1) * vocab;
    if (prompt && sequence.request.promptLogits != PromptLogits::None) {
      int64_t keep = sequence.request.promptLogits == PromptLogits::All ? rows : 1;
      event.promptLogits = HostTensor::allocate(DType::F32, {keep, vocab});
      std::memcpy(event.promptLogits.data(),
                  logits.data() + (firstLogitRow[m] + rows - keep) * rowBytes, keep * rowBytes);
    }
    if (!sequence.prefilling()) {
      if (sequence.generated == sequence.request.maxNewTokens) {
        event.finished = true; // max_new_tokens = 0: the prompt only
      } else {
        absl::StatusOr<int32_t> token;
        if (sequence.request.constraint) {
          // The model's logits with the tokens the constraint refuses at -inf.
          constrained.assign(lastRow, lastRow + vocab);
          sequence.request.constraint->mask(absl::MakeSpan(constrained));
          token = sequence.sampler->sample(constrained, *sequence.rng);
          if (token.ok()) {
            absl::Status followed = sequence.request.constraint->accept(*token);
            if (!followed.ok())
              token = followed;
          }
        } else {
          token = sequence.sampler->sample({lastRow, static_cast<size_t>(vocab)}, *sequence.rng);
        }
        if (!token.ok()) {
          if (failure.ok())
            failure =
                absl::Status(token.status().code(),
                             absl::StrCat(sequence.request.label, ", new token ",
                                          sequence.generated, ": ", token.status().message()));
          finished.push_back(sequence.id);
          continue;
        }
        event.token = *token;
        if (sequence.request.logprobs >= 0) {
          absl::StatusOr<SampledLogprobs> logprobs = logprobsOf(
              {lastRow, static_cast<size_t>(vocab)}, *token, sequence.request.logprobs);
          if (!logprobs.ok()) {
            if (failure.ok())
              failure = absl::Status(logprobs.status().code(),
                                     absl::StrCat(sequence.request.label, ", new token ",
                                                  sequence.generated, ": ",
                                                  logprobs.status().message()));
            finished.push_back(sequence.id);
            continue;
          }
          event.logprobs = std::move(*logprobs);
        }
        sequence.tokens.push_back(*token);
        ++sequence.generated;
        const std::vector<int32_t> &eos = languageModel->eosTokenIds;
        if (!sequence.request.ignoreEos &&
            std::find(eos.begin(), eos.end(), *token) != eos.end()) {
          event.finished = true;
          event.reason = FinishReason::Eos;
        } else if (sequence.generated == sequence.request.maxNewTokens) {
          event.finished = true;
        }
      }
    }
    if (event.finished)
      finished.push_back(sequence.id);
    result.events.push_back(std::move(event));
  }
  for (SequenceId id : finished)
    MVC_RETURN_IF_ERROR(cancel(id));
  MVC_RETURN_IF_ERROR(failure);
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

absl::StatusOr<uint64_t> Engine::forwardActivationBytes(int64_t tokens, int64_t numSequences,
                                                        int64_t maxTokens, int64_t logitRows,
                                                        int64_t images) const {
  if (bucketed()) {
    // As padToBuckets() pads a call of these sizes (at most: it may find no free page).
    PaddedSizes to = paddedSizes(tokens, numSequences, kvPages->pagesFor(maxTokens), logitRows);
    tokens = to.tokens;
    numSequences = to.sequences;
    maxTokens = to.pages * kvPages->pageSize();
    logitRows = to.rows;
  }
  std::map<std::string, std::vector<int64_t>> shapes = half->extraInputShapes(tokens, images);
  shapes["tokens"] = {tokens};
  shapes["positions"] = {tokens};
  shapes["block_table"] = {numSequences, std::max<int64_t>(kvPages->pagesFor(maxTokens), 1)};
  shapes["row_offsets"] = {numSequences + 1};
  shapes["cache_lens"] = {numSequences};
  shapes["logit_rows"] = {logitRows};
  std::vector<std::vector<int64_t>> ordered;
  for (const std::string &name : inputOrder)
    ordered.push_back(shapes[name]);
  return target->estimateActivationBytes(languageModel->program, ordered);
}

} // namespace mvc
