//===- DeviceMemoryPool.h - reuse of device allocations ------------*- C++ -*-===//
//
// cuMemAlloc/cuMemFree synchronize the device and cost tens of microseconds; a decode
// step allocates its inputs and outputs every time. The pool keeps freed blocks by size
// class (powers of two up to 1 MiB, then whole MiB) and hands them out again.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_HAL_CUDA_DEVICEMEMORYPOOL_H
#define MVC_RUNTIME_HAL_CUDA_DEVICEMEMORYPOOL_H

#include <cstdint>
#include <map>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/hal/cuda/CudaDriver.h"

namespace mvc {

class DeviceMemoryPool {
public:
  explicit DeviceMemoryPool(const CudaDriver &driver) : driver(driver) {}
  ~DeviceMemoryPool();
  DeviceMemoryPool(const DeviceMemoryPool &) = delete;
  DeviceMemoryPool &operator=(const DeviceMemoryPool &) = delete;

  /// At least `bytes` (> 0) of device memory, 256-byte aligned.
  absl::StatusOr<CUdeviceptr> allocate(uint64_t bytes);
  /// Gives back a block from allocate(`bytes`) for reuse.
  void release(CUdeviceptr pointer, uint64_t bytes);
  /// Bytes held for reuse, and allocated from the driver in total.
  uint64_t cachedBytes() const;
  uint64_t allocatedBytes() const { return allocated; }

  static uint64_t sizeClass(uint64_t bytes);

private:
  const CudaDriver &driver;
  std::map<uint64_t, std::vector<CUdeviceptr>> freeBlocks; // by size class
  uint64_t allocated = 0;
};

} // namespace mvc

#endif // MVC_RUNTIME_HAL_CUDA_DEVICEMEMORYPOOL_H
