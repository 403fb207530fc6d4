//===- CudaDriverApi.h - the CUDA driver entry points mvc calls ----*- C++ -*-===//
//
// The function table the CUDA HAL runs on. CudaDriver fills it from libcuda.so.1 (dlsym
// of the versioned names the driver exports, e.g. cuMemAlloc_v2); the cuda-emu emulator
// (runtime/hal/emu) fills it with its own implementations. The HAL calls only through it,
// so the same launch, copy and module code runs on a GPU and on the emulator.
//
// Types are the driver API's, spelled without cuda.h so that mvc builds without CUDA:
// CUresult is an int, CUdevice an int, CUdeviceptr a 64-bit integer, handles are pointers.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_HAL_CUDA_CUDADRIVERAPI_H
#define MVC_RUNTIME_HAL_CUDA_CUDADRIVERAPI_H

#include <cstddef>
#include <cstdint>

namespace mvc {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUstream = struct CUstream_st *;
using CUevent = struct CUevent_st *;
using CUgraph = struct CUgraph_st *;
using CUgraphExec = struct CUgraphExec_st *;

// The driver API's constants mvc uses.
constexpr CUresult CUDA_SUCCESS = 0;
constexpr CUresult CUDA_ERROR_INVALID_VALUE = 1;
constexpr CUresult CUDA_ERROR_OUT_OF_MEMORY = 2;
constexpr CUresult CUDA_ERROR_NO_DEVICE = 100;
constexpr CUresult CUDA_ERROR_INVALID_IMAGE = 200;
constexpr CUresult CUDA_ERROR_INVALID_HANDLE = 400;
constexpr CUresult CUDA_ERROR_NOT_FOUND = 500;
constexpr CUresult CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES = 701;
constexpr CUresult CUDA_ERROR_LAUNCH_FAILED = 719;
constexpr CUresult CUDA_ERROR_NOT_SUPPORTED = 801;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
constexpr int CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;
constexpr int CU_JIT_INFO_LOG_BUFFER = 3;
constexpr int CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES = 4;
constexpr int CU_JIT_ERROR_LOG_BUFFER = 5;
constexpr int CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6;
constexpr int CU_STREAM_NON_BLOCKING = 1;
constexpr int CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1;

/// X(field, exported symbol, return, parameters). One list for the struct, the dlsym
/// loop and the emulator, so they cannot drift apart.
#define MVC_CUDA_DRIVER_FUNCTIONS(X)                                                         \
  X(cuInit, "cuInit", CUresult, (unsigned int))                                              \
  X(cuDriverGetVersion, "cuDriverGetVersion", CUresult, (int *))                             \
  X(cuGetErrorString, "cuGetErrorString", CUresult, (CUresult, const char **))              \
  X(cuDeviceGetCount, "cuDeviceGetCount", CUresult, (int *))                                 \
  X(cuDeviceGet, "cuDeviceGet", CUresult, (CUdevice *, int))                                 \
  X(cuDeviceGetName, "cuDeviceGetName", CUresult, (char *, int, CUdevice))                   \
  X(cuDeviceGetAttribute, "cuDeviceGetAttribute", CUresult, (int *, int, CUdevice))          \
  X(cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain", CUresult, (CUcontext *, CUdevice)) \
  X(cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2", CUresult, (CUdevice))         \
  X(cuCtxSetCurrent, "cuCtxSetCurrent", CUresult, (CUcontext))                               \
  X(cuCtxSynchronize, "cuCtxSynchronize", CUresult, ())                                      \
  X(cuMemGetInfo, "cuMemGetInfo_v2", CUresult, (size_t *, size_t *))                         \
  X(cuMemAlloc, "cuMemAlloc_v2", CUresult, (CUdeviceptr *, size_t))                          \
  X(cuMemFree, "cuMemFree_v2", CUresult, (CUdeviceptr))                                      \
  X(cuMemAllocHost, "cuMemAllocHost_v2", CUresult, (void **, size_t))                        \
  X(cuMemFreeHost, "cuMemFreeHost", CUresult, (void *))                                      \
  X(cuMemcpyHtoD, "cuMemcpyHtoD_v2", CUresult, (CUdeviceptr, const void *, size_t))          \
  X(cuMemcpyDtoH, "cuMemcpyDtoH_v2", CUresult, (void *, CUdeviceptr, size_t))                \
  X(cuMemcpyDtoD, "cuMemcpyDtoD_v2", CUresult, (CUdeviceptr, CUdeviceptr, size_t))           \
  X(cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2", CUresult,                                     \
    (CUdeviceptr, const void *, size_t, CUstream))                                           \
  X(cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2", CUresult,                                     \
    (void *, CUdeviceptr, size_t, CUstream))                                                 \
  X(cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2", CUresult,                                     \
    (CUdeviceptr, CUdeviceptr, size_t, CUstream))                                            \
  X(cuMemsetD8, "cuMemsetD8_v2", CUresult, (CUdeviceptr, unsigned char, size_t))             \
  X(cuMemsetD8Async, "cuMemsetD8Async", CUresult,                                            \
    (CUdeviceptr, unsigned char, size_t, CUstream))                                          \
  X(cuStreamCreate, "cuStreamCreate", CUresult, (CUstream *, unsigned int))                  \
  X(cuStreamDestroy, "cuStreamDestroy_v2", CUresult, (CUstream))                             \
  X(cuStreamSynchronize, "cuStreamSynchronize", CUresult, (CUstream))                        \
  X(cuEventCreate, "cuEventCreate", CUresult, (CUevent *, unsigned int))                     \
  X(cuEventRecord, "cuEventRecord", CUresult, (CUevent, CUstream))                           \
  X(cuEventSynchronize, "cuEventSynchronize", CUresult, (CUevent))                           \
  X(cuEventElapsedTime, "cuEventElapsedTime", CUresult, (float *, CUevent, CUevent))         \
  X(cuEventDestroy, "cuEventDestroy_v2", CUresult, (CUevent))                                \
  X(cuModuleLoadData, "cuModuleLoadData", CUresult, (CUmodule *, const void *))              \
  X(cuModuleLoadDataEx, "cuModuleLoadDataEx", CUresult,                                      \
    (CUmodule *, const void *, unsigned int, int *, void **))                                \
  X(cuModuleUnload, "cuModuleUnload", CUresult, (CUmodule))                                  \
  X(cuModuleGetFunction, "cuModuleGetFunction", CUresult, (CUfunction *, CUmodule, const char *)) \
  X(cuFuncSetAttribute, "cuFuncSetAttribute", CUresult, (CUfunction, int, int))              \
  X(cuLaunchKernel, "cuLaunchKernel", CUresult,                                              \
    (CUfunction, unsigned int, unsigned int, unsigned int, unsigned int, unsigned int,       \
     unsigned int, unsigned int, CUstream, void **, void **))                                \
  X(cuStreamBeginCapture, "cuStreamBeginCapture_v2", CUresult, (CUstream, int))              \
  X(cuStreamEndCapture, "cuStreamEndCapture", CUresult, (CUstream, CUgraph *))               \
  X(cuGraphInstantiateWithFlags, "cuGraphInstantiateWithFlags", CUresult,                    \
    (CUgraphExec *, CUgraph, unsigned long long))                                            \
  X(cuGraphLaunch, "cuGraphLaunch", CUresult, (CUgraphExec, CUstream))                       \
  X(cuGraphExecDestroy, "cuGraphExecDestroy", CUresult, (CUgraphExec))                       \
  X(cuGraphDestroy, "cuGraphDestroy", CUresult, (CUgraph))

struct CudaDriverApi {
#define MVC_CUDA_FIELD(field, symbol, ret, params) ret(*field) params = nullptr;
  MVC_CUDA_DRIVER_FUNCTIONS(MVC_CUDA_FIELD)
#undef MVC_CUDA_FIELD
};

} // namespace mvc

#endif // MVC_RUNTIME_HAL_CUDA_CUDADRIVERAPI_H
