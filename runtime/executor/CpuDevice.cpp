//===- CpuDevice.cpp - programs on the host: kernels.cpu over the thread pool ---===//
#include <chrono>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "runtime/artifact/Format.h"
#include "runtime/executor/Device.h"
#include "runtime/executor/ModelImpl.h"
#include "runtime/hal/cpu/CpuFeatures.h"
#include "runtime/hal/cpu/KernelLibrary.h"
#include "runtime/hal/cpu/ThreadPool.h"
#include "runtime/util/StatusMacros.h"

namespace mvc {

namespace {

class CpuDevice : public Device {
public:
  explicit CpuDevice(std::shared_ptr<ThreadPool> pool) : pool(std::move(pool)) {}

  absl::Status load(Model::Impl &model, const std::string &path,
                    const std::vector<uint64_t> &stateBytes, uint8_t stateFill) override {
    auto withPath = [&](const absl::Status &status) {
      return absl::Status(status.code(), absl::StrCat(path, ": ", status.message()));
    };
    if (absl::Status status = CpuFeatures::host().check(model.manifest().target.cpuFeatures);
        !status.ok())
      return withPath(status);
    if (const auto *section = model.reader->findSection(artifact::kCpuKernelsSection)) {
      MVC_ASSIGN_OR_RETURN(library, KernelLibrary::load(section->bytes, path));
    }
    if (absl::Status status = bindKernels(model); !status.ok()) return withPath(status);
    const std::vector<TensorInfo> &states = model.manifest().states;
    for (size_t i = 0; i < states.size(); ++i) {
      try {
        this->states.push_back(HostTensor::allocate(
            DType::U8, {static_cast<int64_t>(stateBytes[i])}));
      } catch (const std::bad_alloc &) {
        return withPath(absl::ResourceExhaustedError(absl::StrCat(
            "states[", i, "] ('", states[i].name, "'): cannot allocate ", stateBytes[i],
            " bytes")));
      }
      if (stateFill)
        std::memset(this->states.back().data(), stateFill, stateBytes[i]);
    }
    return absl::OkStatus();
  }

  absl::Status run(Model::Impl &model, size_t index, const ResolvedPlan &plan,
                   const std::vector<HostTensor> &inputs, std::vector<HostTensor> &outputs,
                   LoadedProgram *profile) override {
    const ProgramInfo &info = *model.programs[index].info;
    try {
      if (arena.byteSize() < plan.arenaSize)
        arena = HostTensor::allocate(DType::U8, {static_cast<int64_t>(plan.arenaSize)});
    } catch (const std::bad_alloc &) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "program '", info.name, "': cannot allocate its ", plan.arenaSize, "-byte arena"));
    }
    std::vector<uint8_t *> base(info.buffers.size());
    for (size_t b = 0; b < info.buffers.size(); ++b) {
      const BufferInfo &buffer = info.buffers[b];
      switch (buffer.kind) {
      case BufferKind::Input:
        base[b] = const_cast<uint8_t *>(inputs[buffer.index].data());
        break;
      case BufferKind::Output:
        base[b] = outputs[buffer.index].data();
        break;
      case BufferKind::Weight:
        // Kernels only read weights; the mapping is read-only and a write would fault.
        base[b] = const_cast<uint8_t *>(
            model.reader->weightBytes(model.manifest().weights[buffer.index]).data());
        break;
      case BufferKind::State:
        base[b] = states[buffer.index].data();
        break;
      case BufferKind::Transient:
        base[b] = arena.data() + plan.arenaOffsets[b];
        break;
      }
    }

    const std::vector<CpuKernelFn> &stepKernels = kernels[index];
    std::vector<void *> bindings;
    for (size_t s = 0; s < info.steps.size(); ++s) {
      const StepInfo &step = info.steps[s];
      const ResolvedPlan::Step &resolved = plan.steps[s];
      auto start = std::chrono::steady_clock::now();
      if (step.kind == StepKind::Dispatch) {
        bindings.clear();
        for (int64_t b : step.bindings)
          bindings.push_back(base[b]);
        CpuKernelFn kernel = stepKernels[s];
        int64_t count = resolved.workgroups;
        const int64_t *push = resolved.push.data();
        void *const *bound = bindings.data();
        pool->parallelFor(count, [&](int64_t wg) { kernel(bound, push, wg, count); });
      } else if (resolved.size != 0) {
        std::memmove(base[step.dst] + resolved.dstOffset, base[step.src] + resolved.srcOffset,
                     resolved.size);
      }
      if (profile) {
        std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
        profile->profile[s].seconds += elapsed.count();
        ++profile->profile[s].calls;
      }
    }
    return absl::OkStatus();
  }

private:
  /// Resolves the kernel of every dispatch step.
  absl::Status bindKernels(Model::Impl &model) {
    for (size_t p = 0; p < model.programs.size(); ++p) {
      const ProgramInfo &info = *model.programs[p].info;
      std::vector<CpuKernelFn> stepKernels;
      for (size_t s = 0; s < info.steps.size(); ++s) {
        CpuKernelFn kernel = nullptr;
        if (info.steps[s].kind == StepKind::Dispatch) {
          if (!library)
            return absl::InvalidArgumentError(absl::StrCat(
                "the artifact has dispatches but no '", artifact::kCpuKernelsSection,
                "' section"));
          absl::StatusOr<CpuKernelFn> found = library->lookup(info.steps[s].kernel);
          if (!found.ok())
            return absl::Status(found.status().code(),
                                absl::StrCat("programs[", p, "] ('", info.name, "').steps[", s,
                                             "]: ", found.status().message()));
          kernel = *found;
        }
        stepKernels.push_back(kernel);
      }
      kernels.push_back(std::move(stepKernels));
    }
    return absl::OkStatus();
  }

  std::shared_ptr<ThreadPool> pool;
  std::unique_ptr<KernelLibrary> library;
  std::vector<std::vector<CpuKernelFn>> kernels; // per program, per step; null for copies
  std::vector<HostTensor> states;                // manifest order, zeroed at load
  HostTensor arena;                              // grows to the largest plan
};

} // namespace

std::unique_ptr<Device> createCpuDevice(std::shared_ptr<ThreadPool> pool) {
  return std::make_unique<CpuDevice>(std::move(pool));
}

} // namespace mvc
