//===- Device.h - where a loaded model's programs run --------------*- C++ -*-===//
//
// The executor binds symbols and plans a program (Model.cpp); a Device holds the memory
// the plan refers to (weights, states, the transient arena) and runs the plan's steps.
// CpuDevice: host memory, kernels.cpu over the thread pool. CudaDevice: device memory
// and cuLaunchKernel through a CudaDriver, the real driver (cuda:N) or the emulator
// (cuda-emu), which runs the same HAL code.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_EXECUTOR_DEVICE_H
#define MVC_RUNTIME_EXECUTOR_DEVICE_H

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "mvc/Runtime.h"

namespace mvc {

class CudaDriver;
class ThreadPool;
struct LoadedProgram;
struct ResolvedPlan;

class Device {
public:
  virtual ~Device() = default;
  /// Once per loaded model: the kernel of every dispatch step, the weights, the states
  /// (`stateBytes` each, every byte `stateFill`: 0, or 0xFF for LoadOptions::poisonStates).
  /// Errors name the artifact (`path`), program and step.
  virtual absl::Status load(Model::Impl &model, const std::string &path,
                            const std::vector<uint64_t> &stateBytes, uint8_t stateFill) = 0;
  /// Runs the steps of program `index` under `plan`: `inputs` in, `outputs` (allocated by
  /// the caller at the plan's shapes) filled. With `profile`, adds each step's time to it.
  virtual absl::Status run(Model::Impl &model, size_t index, const ResolvedPlan &plan,
                           const std::vector<HostTensor> &inputs, std::vector<HostTensor> &outputs,
                           LoadedProgram *profile) = 0;
  /// Whether the device keeps per-plan state that makes a plan's later runs cheaper than
  /// its first (Model::reusesPlans()).
  virtual bool reusesPlans() const { return false; }
};

std::unique_ptr<Device> createCpuDevice(std::shared_ptr<ThreadPool> pool);
/// `driver` runs device `ordinal`; `emulated` picks the artifact's emu kernels.
std::unique_ptr<Device> createCudaDevice(std::unique_ptr<CudaDriver> driver, int ordinal,
                                         bool emulated);

} // namespace mvc

#endif // MVC_RUNTIME_EXECUTOR_DEVICE_H
