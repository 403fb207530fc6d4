//===- CudaDriver.cpp - the CUDA driver API, loaded at run time ----------===//
#include "runtime/hal/cuda/CudaDriver.h"

#include <dlfcn.h>

#include "absl/strings/str_cat.h"

namespace mvc {

/// The driver entry points mvc uses so far; the signatures are the CUDA driver API's
/// (CUresult is an int, CUdevice an int), so no CUDA header is needed to build.
struct CudaDriver::Api {
  int (*cuInit)(unsigned int);
  int (*cuDriverGetVersion)(int *);
  int (*cuDeviceGetCount)(int *);
  int (*cuDeviceGet)(int *, int);
  int (*cuDeviceGetName)(char *, int, int);
  int (*cuDeviceGetAttribute)(int *, int, int);
};

namespace {
// CUdevice_attribute values of the driver API.
constexpr int kComputeCapabilityMajor = 75;
constexpr int kComputeCapabilityMinor = 76;

template <typename Fn> bool resolve(void *handle, const char *name, Fn &fn) {
  fn = reinterpret_cast<Fn>(dlsym(handle, name));
  return fn != nullptr;
}
} // namespace

CudaDriver::CudaDriver(void *handle, std::unique_ptr<Api> api)
    : handle(handle), api(std::move(api)) {}

CudaDriver::~CudaDriver() {
  if (handle) dlclose(handle);
}

absl::StatusOr<std::unique_ptr<CudaDriver>> CudaDriver::load(const std::string &library) {
  void *handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *why = dlerror();
    return absl::UnavailableError(absl::StrCat("no CUDA driver found: ", why ? why : library));
  }
  auto api = std::make_unique<Api>();
  const char *missing = nullptr;
  if (!resolve(handle, "cuInit", api->cuInit)) missing = "cuInit";
  else if (!resolve(handle, "cuDriverGetVersion", api->cuDriverGetVersion)) missing = "cuDriverGetVersion";
  else if (!resolve(handle, "cuDeviceGetCount", api->cuDeviceGetCount)) missing = "cuDeviceGetCount";
  else if (!resolve(handle, "cuDeviceGet", api->cuDeviceGet)) missing = "cuDeviceGet";
  else if (!resolve(handle, "cuDeviceGetName", api->cuDeviceGetName)) missing = "cuDeviceGetName";
  else if (!resolve(handle, "cuDeviceGetAttribute", api->cuDeviceGetAttribute)) missing = "cuDeviceGetAttribute";
  if (missing) {
    dlclose(handle);
    return absl::UnavailableError(
        absl::StrCat("no CUDA driver found: ", library, " has no entry point ", missing));
  }
  std::unique_ptr<CudaDriver> driver(new CudaDriver(handle, std::move(api)));
  if (int rc = driver->api->cuInit(0); rc != 0)
    return absl::UnavailableError(absl::StrCat("CUDA driver failed to initialize: error ", rc,
                                               rc == 100 ? " (no CUDA device)" : ""));
  driver->api->cuDriverGetVersion(&driver->version);
  if (int rc = driver->api->cuDeviceGetCount(&driver->devices); rc != 0) driver->devices = 0;
  return driver;
}

absl::StatusOr<CudaDeviceInfo> CudaDriver::device(int ordinal) const {
  if (devices == 0) return absl::NotFoundError("no CUDA device");
  if (ordinal < 0 || ordinal >= devices)
    return absl::NotFoundError(absl::StrCat("cuda:", ordinal, " does not exist (", devices,
                                            devices == 1 ? " CUDA device)" : " CUDA devices)"));
  CudaDeviceInfo info;
  info.ordinal = ordinal;
  int dev = 0;
  if (int rc = api->cuDeviceGet(&dev, ordinal); rc != 0)
    return absl::InternalError(absl::StrCat("cuDeviceGet(", ordinal, ") failed: error ", rc));
  char name[256] = {0};
  api->cuDeviceGetName(name, sizeof(name) - 1, dev);
  info.name = name;
  api->cuDeviceGetAttribute(&info.computeMajor, kComputeCapabilityMajor, dev);
  api->cuDeviceGetAttribute(&info.computeMinor, kComputeCapabilityMinor, dev);
  return info;
}

} // namespace mvc
