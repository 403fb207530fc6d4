//===- mvc-bench.cpp - prefill/decode throughput of a language-model artifact --===//
//
// Drives the artifact's `forward` program directly (FORMAT.md "Language-model
// artifacts"), so the numbers are the model's and not the sampler's, and generation
// never stops early on an EOS a random-weight model happens to produce. Sequence b of a
// batch owns the contiguous pages [b * P, (b + 1) * P).
//
//===----------------------------------------------------------------------===//
#include "mvc/Runtime.h"
#include "runtime/pipeline/Engine.h"
#include "runtime/util/ToolMain.h"
#include "runtime/artifact/ArtifactReader.h"
#include "runtime/executor/LanguageModel.h"
#include "tools/mvc-bench/Roofline.h"

#include "absl/strings/str_format.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

using json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

namespace mvc {
namespace {

struct Options {
  std::string artifact;
  int threads = 0;
  std::vector<int64_t> promptLengths = {128, 512, 2048};
  std::vector<int64_t> decodeBatches = {1, 4, 16};
  int64_t decodeContext = 512;
  int64_t decodeSteps = 16;
  int64_t prefillChunk = 512;
  int reps = 3;
  bool roofline = false;
  bool profile = false;
  EngineOptions::Shapes shapes = EngineOptions::Shapes::Auto;
  std::string jsonPath;
};

[[noreturn]] void die(const std::string &message) {
  std::cerr << "mvc-bench: error: " << message << "\n";
  std::exit(1);
}

/// Comma-separated integers, each at least `minimum`.
std::vector<int64_t> parseList(const std::string &text, const char *flag, int64_t minimum = 1) {
  std::vector<int64_t> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char *end = nullptr;
    long long v = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end || v < minimum)
      die(std::string(flag) + " expects integers >= " + std::to_string(minimum) + ", got '" + text + "'");
    out.push_back(v);
  }
  return out;
}

void usage() {
  std::cout << "usage: mvc-bench ARTIFACT [options]\n"
               "Prefill and decode throughput of a language-model artifact, as a table on\n"
               "stdout (and JSON with --json).\n"
               "  --threads N            threads (default: 0 = all hardware threads)\n"
               "  --prompt-lengths L,..  prefill prompt lengths (default: 128,512,2048)\n"
               "  --decode-batches B,..  decode batch sizes (default: 1,4,16)\n"
               "  --decode-context N     tokens in each sequence's cache when decoding (default: 512)\n"
               "  --decode-steps N       timed decode steps per batch size (default: 16)\n"
               "  --reps N               prefill repetitions, the median is reported (default: 3)\n"
               "  --prefill-chunk N      prompt tokens per forward call at most, as mvc-run\n"
               "                         prefills (default: 512; 0: a prompt in one call); a\n"
               "                         prompt's time is the sum of its calls\n"
               "  --roofline             also measure memory bandwidth and FMA peak, and report\n"
               "                         decode as a fraction of bandwidth, prefill of peak\n"
               "  --profile              after each measurement, its 12 most expensive dispatches\n"
               "                         (time summed over the timed calls) and the totals per\n"
               "                         kind of kernel, on stderr\n"
               "  --shapes auto|bucketed|exact\n"
               "                         forward calls padded to the engine's size buckets or at\n"
               "                         their exact shapes (default auto: bucketed where the device\n"
               "                         reuses plans, i.e. cuda); 'plans:' reports what they cost\n"
               "  --json FILE            write the results as JSON (default: none)\n"
               "  --help                 this text\n";
}

Options parseOptions(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--help" || a == "-h") { usage(); std::exit(0); }
    else if (a == "--threads") {
      int64_t n = parseList(value(), "--threads")[0];
      if (n > 256) die("--threads expects at most 256, got " + std::to_string(n));
      o.threads = int(n);
    }
    else if (a == "--prompt-lengths") o.promptLengths = parseList(value(), "--prompt-lengths");
    else if (a == "--decode-batches") o.decodeBatches = parseList(value(), "--decode-batches");
    else if (a == "--decode-context") o.decodeContext = parseList(value(), "--decode-context")[0];
    else if (a == "--decode-steps") o.decodeSteps = parseList(value(), "--decode-steps")[0];
    else if (a == "--reps") o.reps = int(parseList(value(), "--reps")[0]);
    else if (a == "--prefill-chunk") o.prefillChunk = parseList(value(), "--prefill-chunk", 0)[0];
    else if (a == "--roofline") o.roofline = true;
    else if (a == "--profile") o.profile = true;
    else if (a == "--shapes") {
      std::string v = value();
      if (v == "auto") o.shapes = EngineOptions::Shapes::Auto;
      else if (v == "bucketed") o.shapes = EngineOptions::Shapes::Bucketed;
      else if (v == "exact") o.shapes = EngineOptions::Shapes::Exact;
      else die("--shapes expects auto, bucketed or exact, got '" + v + "'");
    }
    else if (a == "--json") o.jsonPath = value();
    else if (!a.empty() && a[0] == '-') die("unknown option '" + a + "' (see --help)");
    else if (o.artifact.empty()) o.artifact = a;
    else die("more than one artifact");
  }
  if (o.artifact.empty()) { usage(); std::exit(1); }
  return o;
}

/// Synthetic prompts through the step engine (runtime/pipeline/Engine.h), as mvc-run and
/// mvc-serve run them: inputs, forward calls and greedy sampling are all timed.
class EngineDriver {
public:
  EngineDriver(Engine &engine, int64_t vocabSize, EngineOptions::Shapes shapes)
      : engine(engine), vocabSize(vocabSize), shapes(shapes) {}

  /// A prompt of `length` tokens, deterministic and spread over the vocabulary.
  std::vector<int32_t> prompt(int64_t length, int64_t salt) const {
    std::vector<int32_t> ids;
    for (int64_t i = 0; i < length; ++i)
      ids.push_back(int32_t(3 + (salt * 7919 + i * 104729) % (vocabSize - 3)));
    return ids;
  }

  SequenceId add(int64_t length, int64_t salt, int64_t maxNewTokens) {
    SequenceRequest request;
    request.prompt = prompt(length, salt);
    request.maxNewTokens = maxNewTokens;
    request.ignoreEos = true;
    absl::StatusOr<SequenceId> id = engine.add(std::move(request));
    if (!id.ok()) die(std::string(id.status().message()));
    return *id;
  }

  StepResult step() {
    absl::StatusOr<StepResult> result = engine.step();
    if (!result.ok()) die(std::string(result.status().message()));
    return std::move(*result);
  }

  /// A `length`-token prompt prefilled (in the engine's chunks) up to its first token:
  /// the seconds of those steps.
  double prefill(int64_t length, int64_t chunk) {
    EngineOptions options;
    options.maxStepTokens = chunk; // 0: the prompt in one call
    options.shapes = shapes;
    engine.setOptions(options);
    add(length, 0, 1);
    double seconds = 0;
    while (!engine.idle()) seconds += step().seconds;
    return seconds;
  }

  /// `batch` sequences prefilled to `context` tokens (not timed), then `steps` decode
  /// steps of the whole batch: the seconds of those steps. Sequences prefilled first
  /// decode while the later ones prefill, so they run up to batch - 1 tokens ahead.
  double decode(int64_t batch, int64_t context, int64_t steps,
                const std::function<void()> &beforeTimedSteps) {
    // One prompt per step (never batch x context tokens at once), beside the decodes of
    // the sequences already started: so the first sequence decodes batch - 1 tokens before
    // the last one starts, within the steps + batch + 1 it may generate.
    EngineOptions options;
    options.maxStepTokens = context + batch;
    options.shapes = shapes;
    engine.setOptions(options);
    std::vector<SequenceId> ids;
    for (int64_t b = 0; b < batch; ++b) ids.push_back(add(context, b, steps + batch + 1));
    std::set<SequenceId> started;
    while (int64_t(started.size()) < batch)
      for (const SequenceEvent &e : step().events)
        if (e.token) started.insert(e.id);
    beforeTimedSteps();
    double seconds = 0;
    for (int64_t s = 0; s < steps; ++s) {
      StepResult result = step();
      if (result.decodeTokens != batch || result.prefillTokens != 0)
        die("internal error: a decode step of batch " + std::to_string(batch) + " ran " +
            std::to_string(result.decodeTokens) + " decodes and " +
            std::to_string(result.prefillTokens) + " prefill tokens");
      seconds += result.seconds;
    }
    for (SequenceId id : ids)
      if (absl::Status status = engine.cancel(id); !status.ok())
        die(std::string(status.message()));
    return seconds;
  }

private:
  Engine &engine;
  int64_t vocabSize;
  EngineOptions::Shapes shapes;
};

/// --profile: dispatch times of the timed calls of one measurement only.
void startProfile(const Options &o, Model &model) {
  if (!o.profile) return;
  model.resetProfile();
  model.setProfiling(true);
}

void endProfile(const Options &o, Model &model, const std::string &what) {
  if (!o.profile) return;
  model.setProfiling(false);
  std::cerr << "profile: " << what << "\n";
  model.printProfile(std::cerr, 12);
}

/// VmHWM of this process: unlike getrusage's ru_maxrss it is not inherited from the
/// process that started us (Linux keeps ru_maxrss across fork and exec).
double peakRssMegabytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024.0;
  return 0.0;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// Bytes a decode step reads for its weights: every matmul weight (packed layouts, Q8_0
/// blocks); embedding tables are only read a row per token.
struct ModelBytes {
  double matmulWeightBytes = 0, matmulParams = 0, headParams = 0, kvBytesPerToken = 0;
  bool q8_0 = false;  // some matmul weights are Q8_0 blocks (decoded to f32 FMAs)
};

ModelBytes modelBytes(const ArtifactReader &reader, const LanguageModelInfo &lm) {
  ModelBytes m;
  for (const WeightInfo &w : reader.manifest().weights) {
    bool q8 = w.layout.size() > 4 && w.layout.compare(w.layout.size() - 4, 4, "_n16") == 0 &&
              w.layout.rfind("packed", 0) != 0;  // a block format: decoded to f32 FMAs
    if (w.layout.rfind("packed", 0) != 0 && !q8) continue;
    m.q8_0 |= q8;
    double params = double(w.shape[0]) * double(w.shape[1]);
    m.matmulWeightBytes += double(w.size);
    m.matmulParams += params;
    if (w.shape[0] == lm.vocabSize) m.headParams += params;
  }
  m.kvBytesPerToken = double(reader.manifest().stateBytesPerPage()) / lm.pageSize;
  return m;
}

} // namespace
} // namespace mvc

static int toolMain(int argc, char **argv) {
  using namespace mvc;
  Options o = parseOptions(argc, argv);
  int64_t longestPrompt = *std::max_element(o.promptLengths.begin(), o.promptLengths.end());
  // A decode run's sequences reach context + steps, plus the few tokens the first ones
  // decode while the others prefill (at most one per other sequence).
  int64_t maxBatch = *std::max_element(o.decodeBatches.begin(), o.decodeBatches.end());
  int64_t decodeCapacity = o.decodeContext + o.decodeSteps + maxBatch + 1;

  auto session = Session::create({"cpu", o.threads});
  if (!session.ok()) die(std::string(session.status().message()));
  // Pages: the pool is shared, so enough for the longest prompt alone or the largest decode
  // batch at full context, whichever needs more. The page size comes from the manifest,
  // read once here (the same reader sizes the weights).
  auto reader = ArtifactReader::open(o.artifact);
  if (!reader.ok()) die(std::string(reader.status().message()));
  auto lmEntry = parseLanguageModel(**reader, (*reader)->manifest().loadSymbols);
  if (!lmEntry.ok()) die(std::string(lmEntry.status().message()));
  if (!*lmEntry) die(o.artifact + " is not a language-model artifact");
  // Positions past the model's range are refused by execute(); say so before any work.
  int64_t maxPositions = (*lmEntry)->maxPositions;
  if (maxPositions > 0 && longestPrompt > maxPositions)
    die("--prompt-lengths " + std::to_string(longestPrompt) + " is longer than the model's " +
        std::to_string(maxPositions) + " positions");
  if (maxPositions > 0 && decodeCapacity > maxPositions)
    die("--decode-context + --decode-steps + the largest batch (" +
        std::to_string(decodeCapacity) + ") is more than the model's " +
        std::to_string(maxPositions) + " positions");
  auto pagesFor = [&](int64_t tokens) { return (tokens + (*lmEntry)->pageSize - 1) / (*lmEntry)->pageSize; };
  int64_t poolPages = std::max(pagesFor(longestPrompt), maxBatch * pagesFor(decodeCapacity));
  auto loadStart = Clock::now();
  LoadOptions load;
  load.loadSymbols.push_back({"num_pages", poolPages});
  auto model = (*session)->load(o.artifact, load);
  if (!model.ok()) die(std::string(model.status().message()));
  double loadSeconds = std::chrono::duration<double>(Clock::now() - loadStart).count();
  const LanguageModelInfo &lm = *(*model)->languageModel();
  ModelBytes bytes = modelBytes(**reader, lm);
  auto engine = Engine::create(**model);
  if (!engine.ok()) die(std::string(engine.status().message()));
  EngineDriver driver(**engine, lm.vocabSize, o.shapes);
  auto prefillSequence = [&](int64_t length) { return driver.prefill(length, o.prefillChunk); };

  // The first token after loading: the weights are faulted in by this call.
  double firstPrefill = prefillSequence(o.promptLengths.front());
  double timeToFirstToken = loadSeconds + firstPrefill;

  json result = {{"artifact", o.artifact}, {"threads", (*session)->numThreads()},
                 {"prefill_chunk", o.prefillChunk},
                 {"load_s", loadSeconds}, {"time_to_first_token_s", timeToFirstToken},
                 {"first_prompt_tokens", o.promptLengths.front()}};
  json prefill = json::array(), decode = json::array();
  for (int64_t len : o.promptLengths) {
    std::vector<double> times;
    startProfile(o, **model);
    for (int r = 0; r < o.reps; ++r) times.push_back(prefillSequence(len));
    int64_t calls = o.reps * (o.prefillChunk > 0 ? (len + o.prefillChunk - 1) / o.prefillChunk : 1);
    endProfile(o, **model, "prefill " + std::to_string(len) + ", " + std::to_string(calls) + " calls");
    double s = median(times);
    double flops = 2.0 * double(len) * (bytes.matmulParams - bytes.headParams) + 2.0 * bytes.headParams;
    json row = {{"prompt_tokens", len}, {"seconds", s}, {"tokens_per_s", len / s},
                {"matmul_gflops", flops / s / 1e9}};
    prefill.push_back(row);
  }
  for (int64_t batch : o.decodeBatches) {
    double total = driver.decode(batch, o.decodeContext, o.decodeSteps,
                                 [&] { startProfile(o, **model); });
    endProfile(o, **model, "decode batch " + std::to_string(batch) + ", " +
                               std::to_string(o.decodeSteps) + " steps");
    double perStep = total / o.decodeSteps;
    double stepBytes = bytes.matmulWeightBytes + batch * (o.decodeContext + o.decodeSteps / 2.0) *
                                                     bytes.kvBytesPerToken;
    json row = {{"batch", batch}, {"context", o.decodeContext}, {"step_s", perStep},
                {"tokens_per_s", batch / perStep}, {"bytes_per_step", stepBytes},
                {"gb_per_s", stepBytes / perStep / 1e9}};
    decode.push_back(row);
  }
  // Peak RSS of the model's run, before the roofline's own large arrays; the roofline
  // runs last and its fractions are filled in afterwards.
  double peakRssMb = peakRssMegabytes();
  Roofline roof;
  std::string peakName;
  double peakGflops = 0;
  if (o.roofline) {
    roof = measureRoofline((*session)->numThreads());
    // bf16 weights run on AMX tiles where the artifact uses them, else on vdpbf16ps where
    // the CPU has it: measure prefill against that peak.
    // Q8_0 weights are widened to f32 and multiplied by f32 FMAs.
    bool bf16 = !bytes.q8_0 && bytes.matmulWeightBytes <= 2.0 * bytes.matmulParams &&
                roof.bf16Gflops > 0;
    const std::vector<std::string> &features = (*reader)->manifest().target.cpuFeatures;
    bool amx = bf16 && roof.amxGflops > 0 &&
               std::find(features.begin(), features.end(), "amx-bf16") != features.end();
    peakName = amx ? "amx_bf16" : bf16 ? "bf16_dot" : "f32_fma";
    peakGflops = amx ? roof.amxGflops : bf16 ? roof.bf16Gflops : roof.f32Gflops;
    for (auto &r : prefill) {
      r["fraction_of_peak"] = r["matmul_gflops"].get<double>() / peakGflops;
      r["peak"] = peakName;
    }
    for (auto &r : decode) r["fraction_of_bandwidth"] = r["gb_per_s"].get<double>() / roof.triadGBps;
  }
  result["prefill"] = prefill;
  result["decode"] = decode;
  result["peak_rss_mb"] = peakRssMb;
  Model::PlanStats plans = (*model)->planStats();
  const char *shapes = (*engine)->bucketed() ? "bucketed" : "exact";
  result["shapes"] = shapes;
  result["plans"] = plans.plans;
  result["plan_s"] = plans.seconds;
  result["matmul_weight_mb"] = bytes.matmulWeightBytes / 1e6;
  result["kv_bytes_per_token"] = bytes.kvBytesPerToken;
  // The memory target's budget: the artifact (weights, mapped) plus the KV cache pool.
  double artifactMb = double(std::filesystem::file_size(o.artifact)) / 1e6;
  double kvCacheMb = double(poolPages) * lm.pageSize * bytes.kvBytesPerToken / 1e6;
  result["artifact_mb"] = artifactMb;
  result["kv_cache_mb"] = kvCacheMb;
  result["peak_rss_over_weights_and_kv"] = peakRssMb * 1.048576 / (artifactMb + kvCacheMb);
  if (o.roofline)
    result["roofline"] = {{"triad_gb_per_s", roof.triadGBps},
                          {"f32_fma_gflops", roof.f32Gflops},
                          {"bf16_dot_gflops", roof.bf16Gflops},
                          {"amx_bf16_gflops", roof.amxGflops}};

  std::printf("%s: %d threads, load %.3f s, time to first token %.3f s (%lld-token prompt), peak RSS %.0f MB\n",
              o.artifact.c_str(), (*session)->numThreads(), loadSeconds, timeToFirstToken,
              (long long)o.promptLengths.front(), peakRssMb);
  std::printf("memory: artifact %.0f MB + KV cache %.0f MB (%lld pages); peak RSS is %.2fx that\n",
              artifactMb, kvCacheMb, (long long)poolPages,
              result["peak_rss_over_weights_and_kv"].get<double>());
  std::printf("plans: %llu made in %.1f ms (%s shapes)\n", (unsigned long long)plans.plans,
              plans.seconds * 1e3, shapes);
  if (o.roofline)
    std::printf("roofline: triad %.1f GB/s, f32 FMA peak %.1f GFLOP/s, bf16 dot peak %.1f GFLOP/s, "
                "AMX bf16 peak %.1f GFLOP/s (prefill is measured against %s)\n",
                roof.triadGBps, roof.f32Gflops, roof.bf16Gflops, roof.amxGflops, peakName.c_str());
  auto fraction = [&](const json &r, const char *key) {
    return r.contains(key) ? 100.0 * r[key].get<double>() : 0.0;
  };
  std::string prefillTitle =
      o.prefillChunk > 0 ? "prefill (chunks " + std::to_string(o.prefillChunk) + ")" : "prefill";
  std::printf("%-22s %10s %12s %12s %10s\n", prefillTitle.c_str(), "seconds", "tokens/s", "GFLOP/s",
              o.roofline ? "% peak" : "");
  for (auto &r : prefill)
    std::printf("%-22s %10.4f %12.1f %12.1f %10s\n", ("prompt " + std::to_string(r["prompt_tokens"].get<int64_t>())).c_str(),
                r["seconds"].get<double>(), r["tokens_per_s"].get<double>(), r["matmul_gflops"].get<double>(),
                o.roofline ? absl::StrFormat("%.1f", fraction(r, "fraction_of_peak")).c_str() : "");
  std::printf("%-22s %10s %12s %12s %10s\n", "decode", "s/step", "tokens/s", "GB/s",
              o.roofline ? "% triad" : "");
  for (auto &r : decode)
    std::printf("%-22s %10.4f %12.1f %12.1f %10s\n",
                ("batch " + std::to_string(r["batch"].get<int64_t>()) + " @ " + std::to_string(o.decodeContext)).c_str(),
                r["step_s"].get<double>(), r["tokens_per_s"].get<double>(), r["gb_per_s"].get<double>(),
                o.roofline ? absl::StrFormat("%.1f", fraction(r, "fraction_of_bandwidth")).c_str() : "");
  if (!o.jsonPath.empty()) {
    std::ofstream out(o.jsonPath);
    out << result.dump(2) << "\n";
    if (!out) die("cannot write " + o.jsonPath);
  }
  return 0;
}

int main(int argc, char **argv) {
  return mvc::guardedMain("mvc-bench", [&] { return toolMain(argc, argv); });
}
