//===- Session.cpp - devices and loading artifacts ------------------------===//
#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/artifact/Format.h"
#include "runtime/executor/LanguageModel.h"
#include "runtime/executor/ModelImpl.h"
#include "runtime/hal/cpu/ThreadPool.h"
#include "runtime/hal/cuda/CudaDriver.h"
#include "runtime/hal/emu/EmuDriver.h"
#include "runtime/util/StatusMacros.h"

namespace mvc {

Session::Session(std::string device, std::shared_ptr<ThreadPool> pool)
    : deviceName(std::move(device)), pool(std::move(pool)) {}
Session::~Session() = default;

int Session::numThreads() const { return pool->numThreads(); }

namespace {
/// The ordinal of "cuda" / "cuda:N", or an error naming the accepted devices.
absl::StatusOr<int> cudaOrdinal(const std::string &device) {
  int ordinal = 0;
  if (device != "cuda" && (!absl::SimpleAtoi(device.substr(5), &ordinal) || ordinal < 0))
    return absl::InvalidArgumentError(
        absl::StrCat("unknown device '", device, "' (expected cpu, cuda:N or cuda-emu)"));
  return ordinal;
}

/// The driver for a CUDA device: libcuda.so.1, loaded at run time (a machine without one
/// gets "no CUDA driver found", one without a GPU "no CUDA device"), or the emulator.
absl::StatusOr<std::unique_ptr<CudaDriver>> openDriver(const std::string &device, int &ordinal) {
  if (device == "cuda-emu") {
    ordinal = 0;
    return CudaDriver::fromApi(emu::driverApi());
  }
  MVC_ASSIGN_OR_RETURN(ordinal, cudaOrdinal(device));
  MVC_ASSIGN_OR_RETURN(std::unique_ptr<CudaDriver> driver, CudaDriver::load());
  MVC_RETURN_IF_ERROR(driver->device(ordinal).status());
  return driver;
}

bool isCudaDevice(const std::string &device) {
  return device == "cuda" || device == "cuda-emu" || absl::StartsWith(device, "cuda:");
}
} // namespace

absl::StatusOr<std::unique_ptr<Session>> Session::create(const SessionOptions &options) {
  const std::string &device = options.device;
  if (isCudaDevice(device)) {
    int ordinal = 0;
    MVC_RETURN_IF_ERROR(openDriver(device, ordinal).status());
  } else if (device != "cpu") {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown device '", device, "' (expected cpu, cuda:N or cuda-emu)"));
  }
  if (options.numThreads < 0)
    return absl::InvalidArgumentError(
        absl::StrCat("thread count must be >= 0 (0 = all hardware threads), got ",
                     options.numThreads));
  return std::unique_ptr<Session>(
      new Session(device, std::make_shared<ThreadPool>(options.numThreads)));
}

namespace {

/// Manifest load symbols with the caller's overrides applied.
absl::StatusOr<std::vector<std::pair<std::string, int64_t>>>
resolveLoadSymbols(const Manifest &manifest, const LoadOptions &options) {
  std::vector<std::pair<std::string, int64_t>> symbols = manifest.loadSymbols;
  for (const auto &[name, value] : options.loadSymbols) {
    auto it = std::find_if(symbols.begin(), symbols.end(),
                           [&](const auto &entry) { return entry.first == name; });
    if (it == symbols.end()) {
      std::vector<std::string> known;
      for (const auto &entry : symbols)
        known.push_back(entry.first);
      return absl::InvalidArgumentError(absl::StrCat("unknown load symbol '", name,
                                                     "' (the artifact has: ",
                                                     absl::StrJoin(known, ", "), ")"));
    }
    if (value < 0)
      return absl::InvalidArgumentError(
          absl::StrCat("load symbol '", name, "' must be >= 0, got ", value));
    it->second = value;
  }
  return symbols;
}

/// The byte size of every state, its shape evaluated over the load symbols.
absl::Status sizeStates(Model::Impl &model) {
  auto lookup = [&](const std::string &name) -> std::optional<int64_t> {
    for (const auto &[symbol, value] : model.loadSymbols)
      if (symbol == name)
        return value;
    return std::nullopt;
  };
  const std::vector<TensorInfo> &states = model.manifest().states;
  for (size_t i = 0; i < states.size(); ++i) {
    uint64_t bytes = dtypeSize(states[i].dtype);
    for (size_t d = 0; d < states[i].shape.size(); ++d) {
      absl::StatusOr<int64_t> dim = states[i].shape[d].evaluateSize(lookup);
      if (!dim.ok())
        return absl::InvalidArgumentError(absl::StrCat("states[", i, "] ('", states[i].name,
                                                       "') shape[", d, "]: ",
                                                       dim.status().message()));
      if (__builtin_mul_overflow(bytes, static_cast<uint64_t>(*dim), &bytes))
        return absl::InvalidArgumentError(absl::StrCat("states[", i, "] ('", states[i].name,
                                                       "'): byte size overflows"));
    }
    model.stateBytes.push_back(bytes);
  }
  return absl::OkStatus();
}

} // namespace

absl::StatusOr<std::unique_ptr<Model>> Session::load(const std::string &path,
                                                     const LoadOptions &options) {
  auto impl = std::make_unique<Model::Impl>();
  MVC_ASSIGN_OR_RETURN(impl->reader, ArtifactReader::open(path));
  auto withPath = [&](const absl::Status &status) {
    return absl::Status(status.code(), absl::StrCat(path, ": ", status.message()));
  };
  if (options.verifyWeights)
    MVC_RETURN_IF_ERROR(impl->reader->verifyWeights());
  const TargetInfo &target = impl->manifest().target;
  bool cuda = isCudaDevice(deviceName);
  if (!options.scheduleOnly && target.kind != (cuda ? "cuda" : deviceName))
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": the artifact was compiled for target '", target.kind,
        "' but the session's device is '", deviceName, "'"));
  if (options.scheduleOnly) {
    impl->device = nullptr;
  } else if (cuda) {
    int ordinal = 0;
    MVC_ASSIGN_OR_RETURN(std::unique_ptr<CudaDriver> driver, openDriver(deviceName, ordinal));
    impl->device = createCudaDevice(std::move(driver), ordinal, deviceName == "cuda-emu");
  } else {
    impl->device = createCpuDevice(pool);
  }
  for (const ProgramInfo &info : impl->manifest().programs) {
    LoadedProgram program;
    program.info = &info;
    program.profile.resize(info.steps.size());
    impl->programs.push_back(std::move(program));
  }
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> symbols =
      resolveLoadSymbols(impl->manifest(), options);
  if (!symbols.ok())
    return withPath(symbols.status());
  impl->loadSymbols = std::move(*symbols);
  absl::StatusOr<std::optional<LanguageModelInfo>> languageModel =
      parseLanguageModel(*impl->reader, impl->loadSymbols);
  if (!languageModel.ok())
    return withPath(languageModel.status());
  impl->languageModel = std::move(*languageModel);
  if (impl->languageModel) {
    absl::StatusOr<KvPageTable> pages =
        KvPageTable::create(impl->languageModel->numPages, impl->languageModel->pageSize);
    if (!pages.ok())
      return withPath(pages.status());
    impl->kvPages.emplace(std::move(*pages));
  }
  if (absl::Status status = sizeStates(*impl); !status.ok())
    return withPath(status);
  if (impl->device)
    MVC_RETURN_IF_ERROR(
        impl->device->load(*impl, path, impl->stateBytes, options.poisonStates ? 0xFF : 0));
  return std::unique_ptr<Model>(new Model(std::move(impl)));
}

} // namespace mvc
