//===- Runtime.h - the mvc runtime's public API ----------------------------===//
//
//   auto session = mvc::Session::create({.device = "cpu"});
//   auto model = (*session)->load("model.mvc");
//   auto outputs = (*model)->execute("main", {std::move(x)});
//
// A Session owns a device (today: the CPU and its thread pool). Loading an artifact
// verifies it, checks the CPU features its kernels need, loads the kernels and allocates
// the states (KV caches, zeroed). A Model executes its programs: it binds the dynamic
// sizes from the input shapes, plans the transient arena (cached per binding), runs the
// schedule and returns the outputs. States persist across execute calls.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_INCLUDE_MVC_RUNTIME_H
#define MVC_RUNTIME_INCLUDE_MVC_RUNTIME_H

#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/util/DType.h"

namespace mvc {

class ThreadPool;

/// A dense C-order tensor in host memory, 64-byte aligned. Copies are deep.
class HostTensor {
public:
  /// An empty f32 tensor of shape [0].
  HostTensor() = default;
  /// A zero-filled tensor; `minCapacity` bytes are allocated if larger than the tensor.
  static HostTensor allocate(DType dtype, std::vector<int64_t> shape, size_t minCapacity = 0);
  /// A tensor holding a copy of `size` bytes, which must match the shape.
  static absl::StatusOr<HostTensor> fromBytes(DType dtype, std::vector<int64_t> shape,
                                              const void *data, size_t size);
  HostTensor(const HostTensor &other);
  HostTensor &operator=(const HostTensor &other);
  HostTensor(HostTensor &&) = default;
  HostTensor &operator=(HostTensor &&) = default;

  DType dtype() const { return elementType; }
  const std::vector<int64_t> &shape() const { return dims; }
  int64_t numElements() const;
  size_t byteSize() const { return numElements() * dtypeSize(elementType); }
  uint8_t *data() { return storage.get(); }
  const uint8_t *data() const { return storage.get(); }
  template <typename T> T *dataAs() { return reinterpret_cast<T *>(data()); }
  template <typename T> const T *dataAs() const { return reinterpret_cast<const T *>(data()); }

private:
  struct Free {
    void operator()(uint8_t *p) const;
  };
  DType elementType = DType::F32;
  std::vector<int64_t> dims{0}; // default: empty, no storage
  size_t capacity = 0;
  std::unique_ptr<uint8_t, Free> storage;
};

/// What a program takes and returns; dims are printed expressions ("T", "64").
struct TensorSignature {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::string> shape;
};
struct ProgramSignature {
  std::string name;
  std::vector<TensorSignature> inputs;
  std::vector<TensorSignature> outputs;
};

struct SessionOptions {
  /// "cpu". "cuda:N" and "cuda-emu" are recognized and refused until their HALs exist.
  std::string device = "cpu";
  /// Threads of execution (caller included); 0 = one per hardware thread.
  int numThreads = 0;
};

struct LoadOptions {
  /// Overrides of the manifest's load_symbols (e.g. {"num_pages", 256}).
  std::vector<std::pair<std::string, int64_t>> loadSymbols;
  /// Verify the weights checksum (reads every weight byte once).
  bool verifyWeights = false;
  /// States (KV caches) start as 0xFF bytes, a NaN in f32 and bf16, instead of zeros: a
  /// kernel that lets a slot nothing wrote reach its result then makes it NaN (a check
  /// for tests; generation itself never reads such a slot).
  bool poisonStates = false;
  /// Read the schedule only (for dumpSchedule): no device, kernels or weights are touched,
  /// so any artifact opens whatever the session's device; execute() then fails.
  bool scheduleOnly = false;
};

/// How the generation pipeline drives a causal language model: the manifest's
/// "language_model" entry (FORMAT.md "Language-model artifacts"), validated at load. What
/// is specific to the architecture (its extra program inputs, images, prompt expansion)
/// belongs to its run half (runtime/pipeline/RunHalf.h), named by `architecture`.
struct LanguageModelInfo {
  std::string architecture;             // the run half's id, e.g. "gemma3"
  std::string program;                  // takes tokens, positions, block_table, row_offsets,
                                        // cache_lens, logit_rows (and what the run half
                                        // adds); returns logits [N, vocab]
  int64_t vocabSize = 0;
  int32_t pageSize = 0;                 // tokens per KV page
  int32_t numPages = 0;                 // the loaded value of load symbol "num_pages"
  std::optional<int32_t> bosTokenId;    // absent when the manifest has none
  std::optional<int32_t> padTokenId;
  std::vector<int32_t> eosTokenIds;     // each in [0, vocabSize)
  int64_t maxPositions = 0;             // positions are < maxPositions
  /// The checkpoint's tokenizer files (the entry's "text"), views of their sections in the
  /// loaded artifact, valid while the Model lives; empty when the artifact has none.
  absl::string_view tokenizerJson;       // HF tokenizer.json
  absl::string_view tokenizerConfigJson; // tokenizer_config.json (chat template, specials)
  /// Preprocessor settings (HF preprocessor_config.json, the entry's "processor_config"),
  /// a view of its section; empty when the artifact has none.
  absl::string_view processorConfigJson;
  /// The video processor's (HF video_preprocessor_config.json, the entry's
  /// "video_processor_config"); empty when the artifact has none.
  absl::string_view videoProcessorConfigJson;
  /// The markup of the model's replies (reasoning, tool calls), the entry's
  /// "response_format" ("gemma4"; runtime/pipeline/ResponseParser.h); empty when none.
  std::string responseFormat;
  /// The whole entry as JSON text, for the run half to read its own keys from.
  std::string entryJson;
};

class KvPageTable;

class Model {
public:
  ~Model();
  Model(const Model &) = delete;
  Model &operator=(const Model &) = delete;

  std::vector<ProgramSignature> programs() const;
  /// The language-model entry, or nullptr if the artifact is not a language model.
  const LanguageModelInfo *languageModel() const;
  /// The pages of the model's KV caches (language models; nullptr otherwise): which page
  /// holds which sequence. One engine at a time drives them.
  KvPageTable *kvPages();
  /// Runs `program` on `inputs` (one per program input, in order). Errors name the input
  /// and dimension at fault. Calls on one model are serialized.
  absl::StatusOr<std::vector<HostTensor>> execute(absl::string_view program,
                                                  std::vector<HostTensor> inputs);
  /// Activation memory (the transient arena and the outputs) `program` needs for inputs of
  /// these shapes, planned without running it or allocating, so a caller can refuse a batch
  /// that would not fit. Errors as execute() gives for such inputs.
  absl::StatusOr<uint64_t> estimateActivationBytes(
      absl::string_view program, const std::vector<std::vector<int64_t>> &inputShapes) const;
  /// The schedule of every program: steps, kernels, workgroups and push constants as infix
  /// expressions, bindings with buffer kinds and names.
  void dumpSchedule(std::ostream &os) const;
  /// Accumulate the wall time of every step from now on.
  void setProfiling(bool enabled);
  /// One row per step that ran, most expensive first (at most `maxRows`), then the total.
  void printProfile(std::ostream &os, size_t maxRows = SIZE_MAX) const;
  /// Forgets the step times accumulated so far.
  void resetProfile();
  /// Verifies the weights checksum.
  absl::Status verifyWeights() const;
  /// Plans made so far (one per program and distinct binding of its symbols, i.e. input
  /// shapes; on cuda each also gets its own buffers and graph) and the time they took.
  struct PlanStats {
    uint64_t plans = 0;
    double seconds = 0;
  };
  PlanStats planStats() const;
  /// Whether running a plan again is much cheaper than a new one (cuda: each plan keeps
  /// its buffers and, from its second run, a CUDA graph), so callers should keep the
  /// number of distinct shapes small (the Engine's size buckets). False on the cpu.
  bool reusesPlans() const;

  struct Impl;

private:
  friend class Session;
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl;
};

class Session {
public:
  static absl::StatusOr<std::unique_ptr<Session>> create(const SessionOptions &options = {});
  ~Session();
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;

  /// Opens and verifies an artifact and prepares it to run; errors start with the path.
  absl::StatusOr<std::unique_ptr<Model>> load(const std::string &path,
                                              const LoadOptions &options = {});
  const std::string &device() const { return deviceName; }
  int numThreads() const;

private:
  Session(std::string device, std::shared_ptr<ThreadPool> pool);
  std::string deviceName;
  std::shared_ptr<ThreadPool> pool; // shared with the models it loaded
};

} // namespace mvc

#endif // MVC_RUNTIME_INCLUDE_MVC_RUNTIME_H
