//===- Session.cpp - devices and loading artifacts ------------------------===//
#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/artifact/Format.h"
#include "runtime/executor/LanguageModel.h"
#include "runtime/executor/ModelImpl.h"
#include "runtime/hal/cuda/CudaDriver.h"
#include "runtime/hal/cpu/CpuFeatures.h"
#include "runtime/util/StatusMacros.h"

namespace mvc {

Session::Session(std::string device, std::shared_ptr<ThreadPool> pool)
    : deviceName(std::move(device)), pool(std::move(pool)) {}
Session::~Session() = default;

int Session::numThreads() const { return pool->numThreads(); }

namespace {
/// What a CUDA device request finds: the driver is loaded at run time, so a machine
/// without one gets "no CUDA driver found", one without a GPU "no CUDA device". Kernels
/// for CUDA are not compiled into artifacts yet, so even a present device is refused,
/// naming it.
absl::Status probeCuda(const std::string &device) {
  int ordinal = 0;
  if (device != "cuda" && !absl::SimpleAtoi(device.substr(5), &ordinal))
    return absl::InvalidArgumentError(
        absl::StrCat("unknown device '", device, "' (expected cpu, cuda:N or cuda-emu)"));
  auto driver = CudaDriver::load();
  if (!driver.ok()) return driver.status();
  auto info = (*driver)->device(ordinal);
  if (!info.ok()) return info.status();
  return absl::UnimplementedError(absl::StrCat(
      device, " (", info->name, ", sm_", info->computeMajor, info->computeMinor,
      ") is present, but mvc does not compile artifacts for CUDA yet: use --device cpu"));
}
} // namespace

absl::StatusOr<std::unique_ptr<Session>> Session::create(const SessionOptions &options) {
  const std::string &device = options.device;
  if (device == "cuda-emu")
    return absl::UnimplementedError(
        "device 'cuda-emu' is not supported yet: this runtime has only the 'cpu' device");
  if (device == "cuda" || absl::StartsWith(device, "cuda:")) return probeCuda(device);
  if (device != "cpu")
    return absl::InvalidArgumentError(
        absl::StrCat("unknown device '", device, "' (expected cpu, cuda:N or cuda-emu)"));
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

/// Allocates every state, zeroed, with its shape evaluated over the load symbols.
absl::Status allocateStates(Model::Impl &model) {
  auto lookup = [&](const std::string &name) -> std::optional<int64_t> {
    for (const auto &[symbol, value] : model.loadSymbols)
      if (symbol == name)
        return value;
    return std::nullopt;
  };
  const std::vector<TensorInfo> &states = model.manifest().states;
  for (size_t i = 0; i < states.size(); ++i) {
    std::vector<int64_t> shape;
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
      shape.push_back(*dim);
    }
    try {
      model.states.push_back(HostTensor::allocate(states[i].dtype, std::move(shape)));
    } catch (const std::bad_alloc &) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "states[", i, "] ('", states[i].name, "'): cannot allocate ", bytes, " bytes"));
    }
  }
  return absl::OkStatus();
}

/// Resolves the kernel of every dispatch step.
absl::Status bindKernels(Model::Impl &model) {
  for (size_t p = 0; p < model.manifest().programs.size(); ++p) {
    const ProgramInfo &info = model.manifest().programs[p];
    LoadedProgram program;
    program.info = &info;
    program.profile.resize(info.steps.size());
    for (size_t s = 0; s < info.steps.size(); ++s) {
      CpuKernelFn kernel = nullptr;
      if (info.steps[s].kind == StepKind::Dispatch) {
        if (!model.kernels)
          return absl::InvalidArgumentError(absl::StrCat(
              "the artifact has dispatches but no '", artifact::kCpuKernelsSection, "' section"));
        absl::StatusOr<CpuKernelFn> found = model.kernels->lookup(info.steps[s].kernel);
        if (!found.ok())
          return absl::Status(found.status().code(),
                              absl::StrCat("programs[", p, "] ('", info.name, "').steps[", s,
                                           "]: ", found.status().message()));
        kernel = *found;
      }
      program.kernels.push_back(kernel);
    }
    model.programs.push_back(std::move(program));
  }
  return absl::OkStatus();
}

} // namespace

absl::StatusOr<std::unique_ptr<Model>> Session::load(const std::string &path,
                                                     const LoadOptions &options) {
  auto impl = std::make_unique<Model::Impl>();
  impl->pool = pool;
  MVC_ASSIGN_OR_RETURN(impl->reader, ArtifactReader::open(path));
  auto withPath = [&](const absl::Status &status) {
    return absl::Status(status.code(), absl::StrCat(path, ": ", status.message()));
  };
  if (options.verifyWeights)
    MVC_RETURN_IF_ERROR(impl->reader->verifyWeights());
  const TargetInfo &target = impl->manifest().target;
  if (target.kind != deviceName)
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": the artifact was compiled for target '", target.kind,
        "' but the session's device is '", deviceName, "'"));
  if (absl::Status status = CpuFeatures::host().check(target.cpuFeatures); !status.ok())
    return withPath(status);
  if (const auto *kernels = impl->reader->findSection(artifact::kCpuKernelsSection)) {
    MVC_ASSIGN_OR_RETURN(impl->kernels, KernelLibrary::load(kernels->bytes, path));
  }
  if (absl::Status status = bindKernels(*impl); !status.ok())
    return withPath(status);
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
  if (absl::Status status = allocateStates(*impl); !status.ok())
    return withPath(status);
  return std::unique_ptr<Model>(new Model(std::move(impl)));
}

} // namespace mvc
