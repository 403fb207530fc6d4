//===- CudaDriver.cpp - the CUDA driver API, loaded at run time ----------===//
#include "runtime/hal/cuda/CudaDriver.h"

#include <dlfcn.h>

#include "absl/strings/str_cat.h"

namespace mvc {

CudaDriver::CudaDriver(void *handle, std::unique_ptr<CudaDriverApi> table)
    : handle(handle), table(std::move(table)) {}

CudaDriver::~CudaDriver() {
  if (handle) dlclose(handle);
}

absl::StatusOr<std::unique_ptr<CudaDriver>> CudaDriver::load(const std::string &library) {
  void *handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *why = dlerror();
    return absl::UnavailableError(absl::StrCat("no CUDA driver found: ", why ? why : library));
  }
  auto table = std::make_unique<CudaDriverApi>();
  const char *missing = nullptr;
#define MVC_CUDA_RESOLVE(field, symbol, ret, params)                                          \
  if (!missing) {                                                                             \
    table->field = reinterpret_cast<ret(*) params>(dlsym(handle, symbol));                    \
    if (!table->field) missing = symbol;                                                      \
  }
  MVC_CUDA_DRIVER_FUNCTIONS(MVC_CUDA_RESOLVE)
#undef MVC_CUDA_RESOLVE
  if (missing) {
    dlclose(handle);
    return absl::UnavailableError(
        absl::StrCat("no CUDA driver found: ", library, " has no entry point ", missing));
  }
  std::unique_ptr<CudaDriver> driver(new CudaDriver(handle, std::move(table)));
  if (absl::Status status = driver->initialize(); !status.ok()) return status;
  return driver;
}

absl::StatusOr<std::unique_ptr<CudaDriver>> CudaDriver::fromApi(const CudaDriverApi &api) {
  std::unique_ptr<CudaDriver> driver(
      new CudaDriver(nullptr, std::make_unique<CudaDriverApi>(api)));
  if (absl::Status status = driver->initialize(); !status.ok()) return status;
  return driver;
}

absl::Status CudaDriver::initialize() {
  if (CUresult rc = table->cuInit(0); rc != CUDA_SUCCESS)
    return absl::UnavailableError(absl::StrCat("CUDA driver failed to initialize: error ", rc,
                                               rc == CUDA_ERROR_NO_DEVICE ? " (no CUDA device)" : ""));
  table->cuDriverGetVersion(&version);
  if (table->cuDeviceGetCount(&devices) != CUDA_SUCCESS) devices = 0;
  return absl::OkStatus();
}

absl::Status CudaDriver::check(CUresult rc, const std::string &what) const {
  if (rc == CUDA_SUCCESS) return absl::OkStatus();
  const char *text = nullptr;
  if (table->cuGetErrorString(rc, &text) != CUDA_SUCCESS || !text) text = "unknown error";
  return absl::InternalError(absl::StrCat(what, ": ", text, " (CUDA error ", rc, ")"));
}

absl::StatusOr<CudaDeviceInfo> CudaDriver::device(int ordinal) const {
  if (devices == 0) return absl::NotFoundError("no CUDA device");
  if (ordinal < 0 || ordinal >= devices)
    return absl::NotFoundError(absl::StrCat("cuda:", ordinal, " does not exist (", devices,
                                            devices == 1 ? " CUDA device)" : " CUDA devices)"));
  CudaDeviceInfo info;
  info.ordinal = ordinal;
  CUdevice dev = 0;
  if (CUresult rc = table->cuDeviceGet(&dev, ordinal); rc != CUDA_SUCCESS)
    return check(rc, absl::StrCat("cuDeviceGet(", ordinal, ")"));
  char name[256] = {0};
  table->cuDeviceGetName(name, sizeof(name) - 1, dev);
  info.name = name;
  table->cuDeviceGetAttribute(&info.computeMajor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev);
  table->cuDeviceGetAttribute(&info.computeMinor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev);
  return info;
}

} // namespace mvc
