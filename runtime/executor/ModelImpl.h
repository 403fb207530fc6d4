//===- ModelImpl.h - the state of a loaded model (executor internals) -----===//
#ifndef MVC_RUNTIME_EXECUTOR_MODELIMPL_H
#define MVC_RUNTIME_EXECUTOR_MODELIMPL_H

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "mvc/Runtime.h"
#include "runtime/artifact/ArtifactReader.h"
#include "runtime/executor/Device.h"
#include "runtime/kv_cache/KvPageTable.h"

namespace mvc {

/// Everything about one program that depends only on the values of its symbols: computed
/// once per binding and cached.
struct ResolvedPlan {
  struct Step {
    int64_t workgroups = 0;
    std::vector<int64_t> push;
    uint64_t srcOffset = 0, dstOffset = 0, size = 0; // copies
  };
  std::vector<uint64_t> bufferSizes;  // per buffer position
  std::vector<uint64_t> arenaOffsets; // per buffer position; transients only
  uint64_t arenaSize = 0;
  std::vector<std::vector<int64_t>> outputShapes;
  std::vector<Step> steps;
  uint64_t id = 0; // unique within the model: devices key per-plan state (CUDA graphs) by it
};

/// An input as the planner sees it: its type and shape, no data.
struct TensorShape {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t byteSize() const { // saturates: the planner refuses what does not fit anyway
    uint64_t n = dtypeSize(dtype);
    for (int64_t d : shape)
      if (__builtin_mul_overflow(n, static_cast<uint64_t>(d), &n))
        return UINT64_MAX;
    return n;
  }
};

struct LoadedProgram {
  const ProgramInfo *info = nullptr;
  /// Plans by symbol values (in ProgramInfo::symbols order).
  std::map<std::vector<int64_t>, ResolvedPlan> plans;
  struct StepTime {
    double seconds = 0;
    int64_t calls = 0;
  };
  std::vector<StepTime> profile; // per step
};

struct Model::Impl {
  std::unique_ptr<ArtifactReader> reader;
  std::unique_ptr<Device> device; // holds weights, states and the arena; runs the steps
  std::vector<std::pair<std::string, int64_t>> loadSymbols; // manifest values + overrides
  std::vector<uint64_t> stateBytes;                          // manifest order
  std::vector<LoadedProgram> programs;                       // manifest order
  std::optional<LanguageModelInfo> languageModel;            // the manifest entry, if any
  std::optional<KvPageTable> kvPages;                        // over the states' num_pages
  bool profiling = false;
  uint64_t plansMade = 0;
  double planSeconds = 0; // spent making plans
  std::mutex mutex; // one execute at a time: the device's arena and states are shared

  const Manifest &manifest() const { return reader->manifest(); }
  /// The plan for `program` under `symbols`, computed on first use.
  absl::StatusOr<const ResolvedPlan *> plan(LoadedProgram &program,
                                            const std::vector<int64_t> &symbols,
                                            const std::vector<TensorShape> &inputs);
};

} // namespace mvc

#endif // MVC_RUNTIME_EXECUTOR_MODELIMPL_H
