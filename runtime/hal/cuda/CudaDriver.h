//===- CudaDriver.h - the CUDA driver API, loaded at run time -----*- C++ -*-===//
//
// mvc builds and runs without CUDA: the driver (libcuda.so.1) is opened with dlopen when a
// session asks for a CUDA device, and its entry points are resolved into a function
// table (CudaDriverApi). Without a driver or a device the caller gets one clear error,
// never a crash. The cuda-emu device hands in the emulator's table instead.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_HAL_CUDA_CUDADRIVER_H
#define MVC_RUNTIME_HAL_CUDA_CUDADRIVER_H

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/hal/cuda/CudaDriverApi.h"

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
  /// A driver over a table someone else filled (the cuda-emu emulator).
  static absl::StatusOr<std::unique_ptr<CudaDriver>> fromApi(const CudaDriverApi &api);
  ~CudaDriver();
  CudaDriver(const CudaDriver &) = delete;
  CudaDriver &operator=(const CudaDriver &) = delete;

  int driverVersion() const { return version; }
  int deviceCount() const { return devices; }
  /// "no CUDA device" when there is none; an out-of-range ordinal names the count.
  absl::StatusOr<CudaDeviceInfo> device(int ordinal) const;

  const CudaDriverApi &api() const { return *table; }
  /// OK for CUDA_SUCCESS, else "<what>: <driver's error name> (<code>)".
  absl::Status check(CUresult rc, const std::string &what) const;

private:
  CudaDriver(void *handle, std::unique_ptr<CudaDriverApi> table);
  absl::Status initialize();
  void *handle;
  std::unique_ptr<CudaDriverApi> table;
  int version = 0;
  int devices = 0;
};

} // namespace mvc

#endif // MVC_RUNTIME_HAL_CUDA_CUDADRIVER_H
