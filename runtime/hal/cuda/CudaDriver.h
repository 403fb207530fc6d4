//===- CudaDriver.h - the CUDA driver API, loaded at run time -----*- C++ -*-===//
//
// mvc builds and runs without CUDA: the driver (libcuda.so.1) is opened with dlopen when a
// session asks for a CUDA device, and its entry points are resolved into a function
// table. Without a driver or a device the caller gets one clear error, never a crash.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_HAL_CUDA_CUDADRIVER_H
#define MVC_RUNTIME_HAL_CUDA_CUDADRIVER_H

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace mvc {

struct CudaDeviceInfo {
  int ordinal = 0;
  std::string name;
  int computeMajor = 0, computeMinor = 0;
};

class CudaDriver {
public:
  /// Opens `library` (default libcuda.so.1) and initializes the driver. Errors:
  /// "no CUDA driver found: <why>" when it cannot be opened or lacks an entry point,
  /// "CUDA driver failed to initialize: <code>" otherwise.
  static absl::StatusOr<std::unique_ptr<CudaDriver>> load(const std::string &library = "libcuda.so.1");
  ~CudaDriver();
  CudaDriver(const CudaDriver &) = delete;
  CudaDriver &operator=(const CudaDriver &) = delete;

  int driverVersion() const { return version; }
  int deviceCount() const { return devices; }
  /// "no CUDA device" when there is none; an out-of-range ordinal names the count.
  absl::StatusOr<CudaDeviceInfo> device(int ordinal) const;

private:
  struct Api;
  CudaDriver(void *handle, std::unique_ptr<Api> api);
  void *handle;
  std::unique_ptr<Api> api;
  int version = 0;
  int devices = 0;
};

} // namespace mvc

#endif // MVC_RUNTIME_HAL_CUDA_CUDADRIVER_H
