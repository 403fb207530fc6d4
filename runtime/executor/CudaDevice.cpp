//===- CudaDevice.cpp - programs on a CUDA device (or the cuda-emu emulator) ---===//
//
// Weights are uploaded once at load (one allocation laid out like the weights section),
// states live on the device (zeroed at load), and each execute copies its inputs in,
// launches every dispatch with cuLaunchKernel on one stream (grid = workgroups, the
// step's block and dynamic shared memory, kernelParams = one device pointer per binding
// then one i64 per push constant), copies outputs back and synchronizes once.
//
// A plan (one binding of a program's symbols: a decode step at a fixed batch size) that
// runs again is captured into a CUDA graph on its second run and replayed from then on:
// one launch instead of one per dispatch. Its inputs and outputs keep their device
// buffers so the graph's pointers stay valid; growing the arena drops every graph.
//
//===----------------------------------------------------------------------===//
#include <chrono>
#include <cstring>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/executor/Device.h"
#include "runtime/executor/ModelImpl.h"
#include "runtime/hal/cuda/CudaDriver.h"
#include "runtime/hal/cuda/DeviceMemoryPool.h"
#include "runtime/util/StatusMacros.h"

namespace mvc {

namespace {

/// The variant of `target` for a device of compute capability major.minor: the cubin of
/// that SM (sm_90a only on 9.0), else PTX the driver JIT-compiles; the emu library for
/// the emulator.
const KernelVariant *pickVariant(const TargetInfo &target, bool emulated, int major, int minor) {
  if (emulated) {
    for (const KernelVariant &variant : target.variants)
      if (variant.format == "emu") return &variant;
    return nullptr;
  }
  std::string sm = absl::StrCat("sm_", major, minor);
  for (const KernelVariant &variant : target.variants)
    if (variant.format == "cubin" &&
        (variant.arch == sm || (variant.arch == sm + "a" && major == 9 && minor == 0)))
      return &variant;
  for (const KernelVariant &variant : target.variants)
    if (variant.format == "ptx") {
      int arch = 0;
      // compute_XY runs on any device of capability >= X.Y.
      if (absl::SimpleAtoi(variant.arch.substr(variant.arch.find('_') + 1), &arch) &&
          arch <= major * 10 + minor)
        return &variant;
    }
  return nullptr;
}

class CudaDevice : public Device {
public:
  CudaDevice(std::unique_ptr<CudaDriver> driver, int ordinal, bool emulated)
      : driver(std::move(driver)), ordinal(ordinal), emulated(emulated),
        pool(std::make_unique<DeviceMemoryPool>(*this->driver)) {}

  ~CudaDevice() override {
    if (!context) return;
    const CudaDriverApi &api = driver->api();
    api.cuCtxSetCurrent(context);
    api.cuStreamSynchronize(stream);
    dropPlanStates();
    releaseAll();
    pool.reset(); // frees the blocks while the context is current
    if (module) api.cuModuleUnload(module);
    if (stream) api.cuStreamDestroy(stream);
    api.cuDevicePrimaryCtxRelease(device);
  }

  absl::Status load(Model::Impl &model, const std::string &path,
                    const std::vector<uint64_t> &stateBytes, uint8_t stateFill) override {
    auto withPath = [&](const absl::Status &status) {
      return absl::Status(status.code(), absl::StrCat(path, ": ", status.message()));
    };
    const CudaDriverApi &api = driver->api();
    MVC_ASSIGN_OR_RETURN(CudaDeviceInfo info, driver->device(ordinal));
    MVC_RETURN_IF_ERROR(driver->check(api.cuDeviceGet(&device, ordinal), "cuDeviceGet"));
    MVC_RETURN_IF_ERROR(driver->check(api.cuDevicePrimaryCtxRetain(&context, device),
                                      "cuDevicePrimaryCtxRetain"));
    MVC_RETURN_IF_ERROR(driver->check(api.cuCtxSetCurrent(context), "cuCtxSetCurrent"));
    MVC_RETURN_IF_ERROR(
        driver->check(api.cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate"));
    if (absl::Status status = loadModule(model, info); !status.ok()) return withPath(status);
    if (absl::Status status = bindKernels(model); !status.ok()) return withPath(status);
    if (absl::Status status = uploadWeights(model); !status.ok()) return withPath(status);
    const std::vector<TensorInfo> &states = model.manifest().states;
    for (size_t i = 0; i < states.size(); ++i) {
      absl::StatusOr<CUdeviceptr> state = pool->allocate(stateBytes[i]);
      if (!state.ok())
        return withPath(absl::ResourceExhaustedError(absl::StrCat(
            "states[", i, "] ('", states[i].name, "'): ", state.status().message())));
      this->states.push_back({*state, stateBytes[i]});
      MVC_RETURN_IF_ERROR(driver->check(api.cuMemsetD8Async(*state, stateFill, stateBytes[i], stream),
                                        "filling a state"));
    }
    return driver->check(api.cuStreamSynchronize(stream), "uploading the weights");
  }

  absl::Status run(Model::Impl &model, size_t index, const ResolvedPlan &plan,
                   const std::vector<HostTensor> &inputs, std::vector<HostTensor> &outputs,
                   LoadedProgram *profile) override {
    const CudaDriverApi &api = driver->api();
    const ProgramInfo &info = *model.programs[index].info;
    auto fail = [&](CUresult rc, const std::string &what) {
      return driver->check(rc, absl::StrCat("program '", info.name, "': ", what));
    };
    MVC_RETURN_IF_ERROR(fail(api.cuCtxSetCurrent(context), "cuCtxSetCurrent"));
    if (arena.bytes < plan.arenaSize) {
      // Graphs hold arena addresses: they go with the old arena.
      MVC_RETURN_IF_ERROR(fail(api.cuStreamSynchronize(stream), "cuStreamSynchronize"));
      dropPlanStates();
      pool->release(arena.pointer, arena.bytes);
      arena = {};
      MVC_ASSIGN_OR_RETURN(CUdeviceptr pointer, pool->allocate(plan.arenaSize));
      arena = {pointer, plan.arenaSize};
    }
    if (planStates.size() >= kMaxPlanStates) dropPlanStates();
    PlanState &state = planStates[{index, plan.id}];
    std::vector<CUdeviceptr> base(info.buffers.size());
    absl::Status status = [&]() -> absl::Status {
      for (size_t b = 0; b < info.buffers.size(); ++b) {
        const BufferInfo &buffer = info.buffers[b];
        switch (buffer.kind) {
        case BufferKind::Input:
        case BufferKind::Output: {
          if (state.io.size() <= b) state.io.resize(info.buffers.size());
          if (!state.io[b].pointer) {
            MVC_ASSIGN_OR_RETURN(CUdeviceptr pointer, pool->allocate(plan.bufferSizes[b]));
            state.io[b] = {pointer, plan.bufferSizes[b]};
          }
          base[b] = state.io[b].pointer;
          if (buffer.kind == BufferKind::Input && plan.bufferSizes[b])
            MVC_RETURN_IF_ERROR(fail(api.cuMemcpyHtoDAsync(base[b], inputs[buffer.index].data(),
                                                           plan.bufferSizes[b], stream),
                                     absl::StrCat("copying input ", buffer.index, " in")));
          break;
        }
        case BufferKind::Weight:
          base[b] = weights.pointer + model.manifest().weights[buffer.index].offset - weightsBase;
          break;
        case BufferKind::State:
          base[b] = states[buffer.index].pointer;
          break;
        case BufferKind::Transient:
          base[b] = arena.pointer + plan.arenaOffsets[b];
          break;
        }
      }
      if (profile || !graphsUsable || state.runs == 0) {
        // Per-step times need the steps one by one; a plan seen once may never recur.
        MVC_RETURN_IF_ERROR(runSteps(index, info, plan, base, profile));
      } else {
        if (!state.graph) captureGraph(index, info, plan, base, state);
        if (state.graph)
          MVC_RETURN_IF_ERROR(fail(api.cuGraphLaunch(state.graph, stream), "cuGraphLaunch"));
        else
          MVC_RETURN_IF_ERROR(runSteps(index, info, plan, base, nullptr));
      }
      ++state.runs;
      for (size_t b = 0; b < info.buffers.size(); ++b) {
        const BufferInfo &buffer = info.buffers[b];
        if (buffer.kind != BufferKind::Output) continue;
        HostTensor &output = outputs[buffer.index];
        uint64_t bytes = std::min<uint64_t>(output.byteSize(), plan.bufferSizes[b]);
        if (bytes)
          MVC_RETURN_IF_ERROR(fail(api.cuMemcpyDtoHAsync(output.data(), base[b], bytes, stream),
                                   absl::StrCat("copying output ", buffer.index, " out")));
      }
      return fail(api.cuStreamSynchronize(stream), "cuStreamSynchronize");
    }();
    if (!status.ok()) api.cuStreamSynchronize(stream);
    return status;
  }

  bool reusesPlans() const override { return true; }

private:
  struct Buffer {
    CUdeviceptr pointer = 0;
    uint64_t bytes = 0;
  };
  /// What a plan keeps between runs: its input/output buffers (by buffer position) and,
  /// from its second run on, its steps as a graph.
  struct PlanState {
    std::vector<Buffer> io;
    int64_t runs = 0;
    CUgraphExec graph = nullptr;
  };
  /// Plans kept with buffers and graphs; more distinct bindings start over.
  static constexpr size_t kMaxPlanStates = 64;

  /// Captures the steps of `plan` into `state.graph`. A driver that cannot capture (or
  /// instantiate) turns graphs off for this device; the steps then run one by one.
  void captureGraph(size_t index, const ProgramInfo &info, const ResolvedPlan &plan,
                    const std::vector<CUdeviceptr> &base, PlanState &state) {
    const CudaDriverApi &api = driver->api();
    if (api.cuStreamBeginCapture(stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL) != CUDA_SUCCESS) {
      graphsUsable = false;
      return;
    }
    absl::Status captured = runSteps(index, info, plan, base, nullptr);
    CUgraph graph = nullptr;
    CUresult ended = api.cuStreamEndCapture(stream, &graph);
    if (!captured.ok() || ended != CUDA_SUCCESS || !graph ||
        api.cuGraphInstantiateWithFlags(&state.graph, graph, 0) != CUDA_SUCCESS) {
      graphsUsable = false;
      state.graph = nullptr;
    }
    if (graph) api.cuGraphDestroy(graph);
  }

  void dropPlanStates() {
    for (auto &[key, state] : planStates) {
      if (state.graph) driver->api().cuGraphExecDestroy(state.graph);
      for (const Buffer &buffer : state.io) pool->release(buffer.pointer, buffer.bytes);
    }
    planStates.clear();
  }

  absl::Status loadModule(Model::Impl &model, const CudaDeviceInfo &info) {
    const TargetInfo &target = model.manifest().target;
    const KernelVariant *variant =
        pickVariant(target, emulated, info.computeMajor, info.computeMinor);
    if (!variant) {
      std::vector<std::string> have;
      for (const KernelVariant &v : target.variants) have.push_back(v.arch + " " + v.format);
      return absl::FailedPreconditionError(absl::StrCat(
          "no kernels for ", emulated ? "cuda-emu" : info.name,
          emulated ? "" : absl::StrCat(" (sm_", info.computeMajor, info.computeMinor, ")"),
          ": the artifact has ", have.empty() ? "none" : absl::StrJoin(have, ", "),
          emulated ? " (compile with --target cuda-emu)" : ""));
    }
    const ArtifactReader::Section *section = model.reader->findSection(variant->section);
    if (!section)
      return absl::FailedPreconditionError(absl::StrCat("target.variants names section '",
                                                        variant->section, "', which is missing"));
    const CudaDriverApi &api = driver->api();
    if (variant->format != "ptx") {
      return driver->check(api.cuModuleLoadData(&module, section->bytes.data()),
                           absl::StrCat("loading the kernels of ", variant->section));
    }
    // PTX: the driver compiles it for this GPU; its error log says why when it cannot.
    std::string ptx(reinterpret_cast<const char *>(section->bytes.data()), section->bytes.size());
    std::vector<char> log(16384, '\0');
    int options[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
    void *values[] = {log.data(), reinterpret_cast<void *>(log.size() - 1)};
    CUresult rc = api.cuModuleLoadDataEx(&module, ptx.c_str(), 2, options, values);
    absl::Status status =
        driver->check(rc, absl::StrCat("JIT-compiling the PTX of ", variant->section));
    if (!status.ok() && log[0])
      return absl::Status(status.code(), absl::StrCat(status.message(), ":\n", log.data()));
    return status;
  }

  absl::Status bindKernels(Model::Impl &model) {
    const CudaDriverApi &api = driver->api();
    std::map<std::string, int64_t> dynamicShared; // the most any step asks of each kernel
    for (size_t p = 0; p < model.programs.size(); ++p) {
      const ProgramInfo &info = *model.programs[p].info;
      std::vector<CUfunction> stepFunctions;
      for (size_t s = 0; s < info.steps.size(); ++s) {
        CUfunction function = nullptr;
        const StepInfo &step = info.steps[s];
        if (step.kind == StepKind::Dispatch) {
          MVC_RETURN_IF_ERROR(driver->check(
              api.cuModuleGetFunction(&function, module, step.kernel.c_str()),
              absl::StrCat("programs[", p, "] ('", info.name, "').steps[", s, "]: kernel '",
                           step.kernel, "'")));
          int64_t &most = dynamicShared[step.kernel];
          if (step.sharedBytes > most) {
            most = step.sharedBytes;
            // Above 48 KB a kernel must opt in to its dynamic shared memory.
            if (most > 48 * 1024)
              MVC_RETURN_IF_ERROR(driver->check(
                  api.cuFuncSetAttribute(function, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                         static_cast<int>(most)),
                  absl::StrCat("kernel '", step.kernel, "': ", most, " bytes of shared memory")));
          }
        }
        stepFunctions.push_back(function);
      }
      functions.push_back(std::move(stepFunctions));
    }
    return absl::OkStatus();
  }

  /// One allocation spanning every weight at its offset in the weights section.
  absl::Status uploadWeights(Model::Impl &model) {
    const std::vector<WeightInfo> &all = model.manifest().weights;
    if (all.empty()) return absl::OkStatus();
    uint64_t first = UINT64_MAX, end = 0;
    for (const WeightInfo &weight : all) {
      first = std::min(first, weight.offset);
      end = std::max(end, weight.offset + weight.size);
    }
    weightsBase = first;
    MVC_ASSIGN_OR_RETURN(CUdeviceptr pointer, pool->allocate(end - first));
    weights = {pointer, end - first};
    for (const WeightInfo &weight : all) {
      absl::Span<const uint8_t> bytes = model.reader->weightBytes(weight);
      if (bytes.empty()) continue;
      MVC_RETURN_IF_ERROR(driver->check(
          driver->api().cuMemcpyHtoDAsync(pointer + weight.offset - first, bytes.data(),
                                          bytes.size(), stream),
          absl::StrCat("uploading weight '", weight.name, "'")));
    }
    return absl::OkStatus();
  }

  absl::Status runSteps(size_t index, const ProgramInfo &info, const ResolvedPlan &plan,
                        const std::vector<CUdeviceptr> &base, LoadedProgram *profile) {
    const CudaDriverApi &api = driver->api();
    std::vector<uint64_t> args;
    std::vector<void *> params;
    for (size_t s = 0; s < info.steps.size(); ++s) {
      const StepInfo &step = info.steps[s];
      const ResolvedPlan::Step &resolved = plan.steps[s];
      auto start = std::chrono::steady_clock::now();
      std::string where = absl::StrCat("program '", info.name, "' step ", s);
      if (step.kind == StepKind::Dispatch) {
        if (resolved.workgroups > 0x7fffffff)
          return absl::InvalidArgumentError(absl::StrCat(
              where, " (", step.kernel, "): ", resolved.workgroups,
              " workgroups exceed the CUDA grid's 2^31 - 1"));
        args.clear();
        for (int64_t b : step.bindings) args.push_back(base[b]);
        for (int64_t value : resolved.push) args.push_back(static_cast<uint64_t>(value));
        params.clear();
        for (uint64_t &arg : args) params.push_back(&arg);
        if (resolved.workgroups > 0)
          MVC_RETURN_IF_ERROR(driver->check(
              api.cuLaunchKernel(functions[index][s], static_cast<unsigned>(resolved.workgroups),
                                 1, 1, static_cast<unsigned>(step.block[0]),
                                 static_cast<unsigned>(step.block[1]),
                                 static_cast<unsigned>(step.block[2]),
                                 static_cast<unsigned>(step.sharedBytes), stream, params.data(),
                                 nullptr),
              absl::StrCat(where, " (", step.kernel, ")")));
      } else if (resolved.size != 0) {
        MVC_RETURN_IF_ERROR(driver->check(
            api.cuMemcpyDtoDAsync(base[step.dst] + resolved.dstOffset,
                                  base[step.src] + resolved.srcOffset, resolved.size, stream),
            absl::StrCat(where, " (copy)")));
      }
      if (profile) {
        // Per-step times need the step to have finished.
        MVC_RETURN_IF_ERROR(driver->check(api.cuStreamSynchronize(stream), where));
        std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
        profile->profile[s].seconds += elapsed.count();
        ++profile->profile[s].calls;
      }
    }
    return absl::OkStatus();
  }

  void releaseAll() {
    pool->release(weights.pointer, weights.bytes);
    for (const Buffer &state : states) pool->release(state.pointer, state.bytes);
    pool->release(arena.pointer, arena.bytes);
    weights = arena = {};
    states.clear();
  }

  std::unique_ptr<CudaDriver> driver;
  int ordinal;
  bool emulated;
  std::unique_ptr<DeviceMemoryPool> pool;
  CUdevice device = 0;
  CUcontext context = nullptr;
  CUstream stream = nullptr;
  CUmodule module = nullptr;
  std::vector<std::vector<CUfunction>> functions; // per program, per step; null for copies
  Buffer weights;
  uint64_t weightsBase = 0; // section offset of weights.pointer
  std::vector<Buffer> states;
  Buffer arena;
  std::map<std::pair<size_t, uint64_t>, PlanState> planStates; // by (program, plan id)
  bool graphsUsable = true;
};

} // namespace

std::unique_ptr<Device> createCudaDevice(std::unique_ptr<CudaDriver> driver, int ordinal,
                                         bool emulated) {
  return std::make_unique<CudaDevice>(std::move(driver), ordinal, emulated);
}

} // namespace mvc
