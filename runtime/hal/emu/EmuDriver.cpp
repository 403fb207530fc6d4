//===- EmuDriver.cpp - the CUDA driver API, emulated on the host ----------===//
#include "runtime/hal/emu/EmuDriver.h"

#include <elf.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"
#include "runtime/hal/cpu/KernelLibrary.h"
#include "runtime/hal/emu/BlockPool.h"
#include "runtime/hal/emu/BlockScheduler.h"
#include "runtime/hal/emu/EmuAbi.h"
#include "runtime/hal/emu/EmuRuntime.h"

using mvc::emu::BlockScheduler;
using mvc::emu::Dim3;
using mvc::emu::EmuKernelEntry;
using mvc::emu::EmuLaunch;

namespace mvc {
/// Work enqueued on a stream; runs now, or later when captured into a graph.
using EmuOp = std::function<CUresult()>;

struct CUctx_st {};
struct CUstream_st {
  bool capturing = false;
  std::vector<EmuOp> captured;
};
struct CUevent_st {
  std::chrono::steady_clock::time_point time;
};
struct CUgraph_st {
  std::vector<EmuOp> ops;
};
struct CUgraphExec_st {
  std::vector<EmuOp> ops;
};
struct CUfunc_st {
  EmuKernelEntry entry = nullptr;
  std::string name;
  uint32_t staticShared = 0;
  uint32_t params = 0;
  int maxDynamicShared = 48 * 1024; // as on a GPU until cuFuncSetAttribute raises it
};
struct CUmod_st {
  std::unique_ptr<KernelLibrary> library;
  std::map<std::string, CUfunc_st> functions;
};
} // namespace mvc

namespace mvc::emu {
namespace {

// sm_80's largest block shared memory (163 KB): what the artifact's sm_80 kernels may use.
constexpr uint32_t kMaxSharedPerBlock = 163 * 1024;

thread_local std::string lastError;
thread_local CUresult lastErrorCode = CUDA_SUCCESS;

CUresult failWith(CUresult rc, std::string message) {
  lastError = absl::StrCat("cuda-emu: ", message);
  lastErrorCode = rc;
  return rc;
}

/// Live device allocations, so that copies and memsets outside them are refused.
struct Allocations {
  std::mutex mutex;
  std::map<uintptr_t, size_t> ranges;
};
Allocations &allocations() {
  static Allocations *all = new Allocations;
  return *all;
}

bool inAllocation(CUdeviceptr address, size_t bytes) {
  Allocations &all = allocations();
  std::lock_guard<std::mutex> lock(all.mutex);
  auto it = all.ranges.upper_bound(static_cast<uintptr_t>(address));
  if (it == all.ranges.begin()) return false;
  --it;
  uintptr_t offset = static_cast<uintptr_t>(address) - it->first;
  return offset <= it->second && bytes <= it->second - offset;
}

CUresult checkDevice(CUdeviceptr address, size_t bytes, const char *what) {
  if (bytes == 0 || inAllocation(address, bytes)) return CUDA_SUCCESS;
  return failWith(CUDA_ERROR_INVALID_VALUE,
                  absl::StrFormat("%s: %zu bytes at device address 0x%llx are not inside one "
                                  "allocation", what, bytes, address));
}

CUresult enqueue(CUstream stream, EmuOp op) {
  if (stream && stream->capturing) {
    stream->captured.push_back(std::move(op));
    return CUDA_SUCCESS;
  }
  return op();
}

// --- faults inside emulated kernels ------------------------------------------------

struct sigaction previousActions[32];

void onFault(int signal, siginfo_t *info, void *context) {
  BlockScheduler *scheduler = BlockScheduler::current();
  if (!scheduler) {
    // Not ours: give the fault back to whoever handled it before, by re-raising under
    // their action.
    sigaction(signal, &previousActions[signal], nullptr);
    return;
  }
  const EmuLaunch &launch = scheduler->currentLaunch();
  Dim3 block = scheduler->blockId(), thread = scheduler->threadId();
  std::string why = scheduler->describeFault(info->si_addr);
  char message[1024];
  int n = std::snprintf(message, sizeof(message),
                        "cuda-emu: kernel '%s' block (%u,%u,%u) thread (%u,%u,%u): %s at address "
                        "%p%s%s\n",
                        launch.kernelName, block.x, block.y, block.z, thread.x, thread.y,
                        thread.z, strsignal(signal), info->si_addr, why.empty() ? "" : ": ",
                        why.c_str());
  if (n > 0) (void)!write(2, message, static_cast<size_t>(n) < sizeof(message) ? n : sizeof(message) - 1);
  (void)context;
  // Back to the previous action: returning re-executes the access, which now ends the
  // process the way it would have without the emulator.
  sigaction(signal, &previousActions[signal], nullptr);
}

/// Installs the fault handler (once) and an alternate signal stack on this thread (a
/// fiber stack overflow leaves no stack to run the handler on).
void prepareFaultHandling() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction action {};
    action.sa_sigaction = onFault;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    for (int signal : {SIGSEGV, SIGBUS, SIGILL, SIGFPE})
      sigaction(signal, &action, &previousActions[signal]);
  });
  // A thread that already has one (a sanitizer runtime gives every thread its own, and
  // unmaps it at thread exit) keeps it; otherwise an mmap'd one, taken down at thread exit.
  struct AltStack {
    void *memory = nullptr;
    size_t bytes = 0;
    bool checked = false;
    ~AltStack() {
      if (!memory) return;
      stack_t off{};
      off.ss_flags = SS_DISABLE;
      sigaltstack(&off, nullptr);
      munmap(memory, bytes);
    }
  };
  thread_local AltStack altStack;
  if (altStack.checked) return;
  altStack.checked = true;
  stack_t current{};
  if (sigaltstack(nullptr, &current) == 0 && !(current.ss_flags & SS_DISABLE)) return;
  constexpr size_t kBytes = 64 * 1024;
  void *memory = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) return; // faults then run on the faulting stack, as without us
  stack_t stack{};
  stack.ss_sp = memory;
  stack.ss_size = kBytes;
  if (sigaltstack(&stack, nullptr) != 0) {
    munmap(memory, kBytes);
    return;
  }
  altStack.memory = memory;
  altStack.bytes = kBytes;
}

// --- the driver entry points ---------------------------------------------------------

CUresult init(unsigned int) { return CUDA_SUCCESS; }
CUresult driverGetVersion(int *version) {
  *version = 13000;
  return CUDA_SUCCESS;
}
CUresult getErrorString(CUresult rc, const char **text) {
  if (rc == lastErrorCode && !lastError.empty()) {
    *text = lastError.c_str();
    return CUDA_SUCCESS;
  }
  switch (rc) {
  case CUDA_SUCCESS: *text = "no error"; break;
  case CUDA_ERROR_INVALID_VALUE: *text = "invalid argument"; break;
  case CUDA_ERROR_OUT_OF_MEMORY: *text = "out of memory"; break;
  case CUDA_ERROR_NO_DEVICE: *text = "no CUDA-capable device is detected"; break;
  case CUDA_ERROR_INVALID_IMAGE: *text = "device kernel image is invalid"; break;
  case CUDA_ERROR_INVALID_HANDLE: *text = "invalid resource handle"; break;
  case CUDA_ERROR_NOT_FOUND: *text = "named symbol not found"; break;
  case CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES: *text = "too many resources requested for launch"; break;
  case CUDA_ERROR_LAUNCH_FAILED: *text = "unspecified launch failure"; break;
  case CUDA_ERROR_NOT_SUPPORTED: *text = "operation not supported"; break;
  default: *text = nullptr; return CUDA_ERROR_INVALID_VALUE;
  }
  return CUDA_SUCCESS;
}
CUresult deviceGetCount(int *count) {
  *count = 1;
  return CUDA_SUCCESS;
}
CUresult deviceGet(CUdevice *device, int ordinal) {
  if (ordinal != 0) return failWith(CUDA_ERROR_INVALID_VALUE, "the emulator has one device, 0");
  *device = 0;
  return CUDA_SUCCESS;
}
CUresult deviceGetName(char *name, int length, CUdevice) {
  std::snprintf(name, static_cast<size_t>(length), "mvc cuda-emu");
  return CUDA_SUCCESS;
}
CUresult deviceGetAttribute(int *value, int attribute, CUdevice) {
  switch (attribute) {
  case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: *value = 8; return CUDA_SUCCESS;
  case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: *value = 0; return CUDA_SUCCESS;
  }
  return failWith(CUDA_ERROR_INVALID_VALUE, absl::StrCat("device attribute ", attribute,
                                                         " is not emulated"));
}
CUresult primaryCtxRetain(CUcontext *context, CUdevice) {
  static CUctx_st primary;
  *context = &primary;
  return CUDA_SUCCESS;
}
CUresult primaryCtxRelease(CUdevice) { return CUDA_SUCCESS; }
CUresult ctxSetCurrent(CUcontext) { return CUDA_SUCCESS; }
CUresult ctxSynchronize() { return CUDA_SUCCESS; }
CUresult memGetInfo(size_t *freeBytes, size_t *totalBytes) {
  size_t total = static_cast<size_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE);
  size_t available = static_cast<size_t>(sysconf(_SC_AVPHYS_PAGES)) * sysconf(_SC_PAGESIZE);
  *freeBytes = available;
  *totalBytes = total;
  return CUDA_SUCCESS;
}
CUresult memAlloc(CUdeviceptr *pointer, size_t bytes) {
  if (bytes == 0) return failWith(CUDA_ERROR_INVALID_VALUE, "cuMemAlloc of 0 bytes");
  void *memory = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
  if (!memory)
    return failWith(CUDA_ERROR_OUT_OF_MEMORY, absl::StrCat("cannot allocate ", bytes, " bytes"));
  Allocations &all = allocations();
  std::lock_guard<std::mutex> lock(all.mutex);
  all.ranges[reinterpret_cast<uintptr_t>(memory)] = bytes;
  *pointer = reinterpret_cast<CUdeviceptr>(memory);
  return CUDA_SUCCESS;
}
CUresult memFree(CUdeviceptr pointer) {
  if (pointer == 0) return CUDA_SUCCESS;
  Allocations &all = allocations();
  std::lock_guard<std::mutex> lock(all.mutex);
  auto it = all.ranges.find(static_cast<uintptr_t>(pointer));
  if (it == all.ranges.end())
    return failWith(CUDA_ERROR_INVALID_VALUE,
                    absl::StrFormat("cuMemFree of 0x%llx, which is not an allocation", pointer));
  all.ranges.erase(it);
  std::free(reinterpret_cast<void *>(pointer));
  return CUDA_SUCCESS;
}
CUresult memAllocHost(void **pointer, size_t bytes) {
  *pointer = std::malloc(bytes ? bytes : 1);
  return *pointer ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}
CUresult memFreeHost(void *pointer) {
  std::free(pointer);
  return CUDA_SUCCESS;
}

CUresult copyAsync(void *dst, const void *src, size_t bytes, CUstream stream) {
  return enqueue(stream, [=] {
    std::memmove(dst, src, bytes);
    return CUDA_SUCCESS;
  });
}
void *host(CUdeviceptr pointer) { return reinterpret_cast<void *>(pointer); }

CUresult memcpyHtoDAsync(CUdeviceptr dst, const void *src, size_t bytes, CUstream stream) {
  if (CUresult rc = checkDevice(dst, bytes, "cuMemcpyHtoD destination")) return rc;
  return copyAsync(host(dst), src, bytes, stream);
}
CUresult memcpyDtoHAsync(void *dst, CUdeviceptr src, size_t bytes, CUstream stream) {
  if (CUresult rc = checkDevice(src, bytes, "cuMemcpyDtoH source")) return rc;
  return copyAsync(dst, host(src), bytes, stream);
}
CUresult memcpyDtoDAsync(CUdeviceptr dst, CUdeviceptr src, size_t bytes, CUstream stream) {
  if (CUresult rc = checkDevice(dst, bytes, "cuMemcpyDtoD destination")) return rc;
  if (CUresult rc = checkDevice(src, bytes, "cuMemcpyDtoD source")) return rc;
  return copyAsync(host(dst), host(src), bytes, stream);
}
CUresult memcpyHtoD(CUdeviceptr dst, const void *src, size_t bytes) {
  return memcpyHtoDAsync(dst, src, bytes, nullptr);
}
CUresult memcpyDtoH(void *dst, CUdeviceptr src, size_t bytes) {
  return memcpyDtoHAsync(dst, src, bytes, nullptr);
}
CUresult memcpyDtoD(CUdeviceptr dst, CUdeviceptr src, size_t bytes) {
  return memcpyDtoDAsync(dst, src, bytes, nullptr);
}
CUresult memsetD8Async(CUdeviceptr dst, unsigned char value, size_t bytes, CUstream stream) {
  if (CUresult rc = checkDevice(dst, bytes, "cuMemsetD8 destination")) return rc;
  return enqueue(stream, [=] {
    std::memset(host(dst), value, bytes);
    return CUDA_SUCCESS;
  });
}
CUresult memsetD8(CUdeviceptr dst, unsigned char value, size_t bytes) {
  return memsetD8Async(dst, value, bytes, nullptr);
}

CUresult streamCreate(CUstream *stream, unsigned int) {
  *stream = new CUstream_st;
  return CUDA_SUCCESS;
}
CUresult streamDestroy(CUstream stream) {
  delete stream;
  return CUDA_SUCCESS;
}
CUresult streamSynchronize(CUstream stream) {
  if (stream && stream->capturing)
    return failWith(CUDA_ERROR_INVALID_VALUE, "cuStreamSynchronize on a capturing stream");
  return CUDA_SUCCESS;
}
CUresult eventCreate(CUevent *event, unsigned int) {
  *event = new CUevent_st;
  return CUDA_SUCCESS;
}
CUresult eventRecord(CUevent event, CUstream stream) {
  return enqueue(stream, [=] {
    event->time = std::chrono::steady_clock::now();
    return CUDA_SUCCESS;
  });
}
CUresult eventSynchronize(CUevent) { return CUDA_SUCCESS; }
CUresult eventElapsedTime(float *milliseconds, CUevent start, CUevent end) {
  *milliseconds = std::chrono::duration<float, std::milli>(end->time - start->time).count();
  return CUDA_SUCCESS;
}
CUresult eventDestroy(CUevent event) {
  delete event;
  return CUDA_SUCCESS;
}

/// The byte size of an ELF image from its headers (cuModuleLoadData gets no size).
size_t elfSize(const uint8_t *image) {
  Elf64_Ehdr header;
  std::memcpy(&header, image, sizeof(header));
  size_t size = header.e_shoff + size_t{header.e_shnum} * header.e_shentsize;
  for (unsigned i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr segment;
    std::memcpy(&segment, image + header.e_phoff + i * sizeof(Elf64_Phdr), sizeof(segment));
    size = std::max<size_t>(size, segment.p_offset + segment.p_filesz);
  }
  return std::max(size, sizeof(header) + size_t{header.e_phnum} * sizeof(Elf64_Phdr));
}

CUresult moduleLoadData(CUmodule *module, const void *image) {
  auto *bytes = static_cast<const uint8_t *>(image);
  if (!image || std::memcmp(bytes, ELFMAG, SELFMAG) != 0)
    return failWith(CUDA_ERROR_INVALID_IMAGE,
                    "the module image is not a cuda-emu kernel library (host ELF): a cubin or "
                    "PTX needs a GPU");
  auto library = KernelLibrary::load(absl::MakeConstSpan(bytes, elfSize(bytes)), "module",
                                     "kernels.cuda-emu");
  if (!library.ok()) return failWith(CUDA_ERROR_INVALID_IMAGE, std::string(library.status().message()));
  auto version = reinterpret_cast<int (*)()>((*library)->symbol("mvc_emu_abi_version"));
  auto table = static_cast<void *const **>((*library)->symbol("mvc_emu_table"));
  auto info = reinterpret_cast<const char *(*)()>((*library)->symbol("mvc_emu_kernel_info"));
  if (!version || !table || !info)
    return failWith(CUDA_ERROR_INVALID_IMAGE,
                    "the kernel library lacks mvc_emu_abi_version, mvc_emu_table or "
                    "mvc_emu_kernel_info: not built for cuda-emu");
  if (version() != MVC_EMU_ABI_VERSION)
    return failWith(CUDA_ERROR_INVALID_IMAGE,
                    absl::StrCat("the kernel library has emulator ABI ", version(),
                                 ", this runtime implements ", MVC_EMU_ABI_VERSION));
  *table = runtimeTable();
  auto json = nlohmann::json::parse(info(), nullptr, /*allow_exceptions=*/false);
  if (!json.is_object())
    return failWith(CUDA_ERROR_INVALID_IMAGE, "mvc_emu_kernel_info() is not a JSON object");
  auto loaded = std::make_unique<CUmod_st>();
  for (const std::string &name : (*library)->kernelNames()) {
    const auto &entry = json.find(name);
    void *symbol = (*library)->symbol(name);
    if (entry == json.end() || !entry->is_array() || entry->size() != 2 ||
        !(*entry)[0].is_number_unsigned() || !(*entry)[1].is_number_unsigned() || !symbol)
      return failWith(CUDA_ERROR_INVALID_IMAGE,
                      absl::StrCat("kernel '", name,
                                   "': no [static shared bytes, parameter count] in "
                                   "mvc_emu_kernel_info() or no entry point"));
    CUfunc_st &function = loaded->functions[name];
    function.entry = reinterpret_cast<EmuKernelEntry>(symbol);
    function.name = name;
    function.staticShared = (*entry)[0].get<uint32_t>();
    function.params = (*entry)[1].get<uint32_t>();
  }
  loaded->library = std::move(*library);
  *module = loaded.release();
  return CUDA_SUCCESS;
}
CUresult moduleLoadDataEx(CUmodule *module, const void *image, unsigned int, int *, void **) {
  return moduleLoadData(module, image);
}
CUresult moduleUnload(CUmodule module) {
  delete module;
  return CUDA_SUCCESS;
}
CUresult moduleGetFunction(CUfunction *function, CUmodule module, const char *name) {
  auto it = module->functions.find(name);
  if (it == module->functions.end())
    return failWith(CUDA_ERROR_NOT_FOUND, absl::StrCat("the module has no kernel '", name, "'"));
  *function = &it->second;
  return CUDA_SUCCESS;
}
CUresult funcSetAttribute(CUfunction function, int attribute, int value) {
  if (attribute != CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES)
    return failWith(CUDA_ERROR_NOT_SUPPORTED,
                    absl::StrCat("function attribute ", attribute, " is not emulated"));
  if (value < 0 || function->staticShared + static_cast<uint32_t>(value) > kMaxSharedPerBlock)
    return failWith(CUDA_ERROR_INVALID_VALUE,
                    absl::StrCat("kernel '", function->name, "': ", value,
                                 " bytes of dynamic shared memory exceed the block's ",
                                 kMaxSharedPerBlock));
  function->maxDynamicShared = value;
  return CUDA_SUCCESS;
}

/// Runs every block of a launch, over the block pool's threads (BlockPool.h).
CUresult runGrid(const EmuLaunch &launch) {
  uint64_t perPlane = uint64_t{launch.grid.x} * launch.grid.y;
  std::string error = mvc::emu::runBlocksInParallel(launch.grid.count(), [&](uint64_t i) {
    prepareFaultHandling();
    thread_local BlockScheduler scheduler;
    Dim3 block{static_cast<uint32_t>(i % launch.grid.x),
               static_cast<uint32_t>(i % perPlane / launch.grid.x),
               static_cast<uint32_t>(i / perPlane)};
    std::string message = scheduler.run(launch, block);
    if (message.empty()) return message;
    return absl::StrFormat("kernel '%s' block (%u,%u,%u) %s", launch.kernelName, block.x, block.y,
                           block.z, message);
  });
  if (!error.empty()) return failWith(CUDA_ERROR_LAUNCH_FAILED, error);
  return CUDA_SUCCESS;
}

CUresult launchKernel(CUfunction function, unsigned int gx, unsigned int gy, unsigned int gz,
                      unsigned int bx, unsigned int by, unsigned int bz, unsigned int shared,
                      CUstream stream, void **params, void **extra) {
  if (!function) return failWith(CUDA_ERROR_INVALID_HANDLE, "cuLaunchKernel of a null function");
  std::string where = absl::StrCat("kernel '", function->name, "'");
  if (extra) return failWith(CUDA_ERROR_NOT_SUPPORTED, where + ": 'extra' launch parameters");
  if (!params && function->params)
    return failWith(CUDA_ERROR_INVALID_VALUE, where + ": no kernel parameters");
  if (bx == 0 || by == 0 || bz == 0 || bx > 1024 || by > 1024 || bz > 64 ||
      uint64_t{bx} * by * bz > 1024)
    return failWith(CUDA_ERROR_INVALID_VALUE,
                    absl::StrFormat("%s: block (%u,%u,%u) is outside 1..1024 threads", where,
                                    bx, by, bz));
  if (gx == 0 || gy == 0 || gz == 0 || gx > 0x7fffffffu || gy > 65535 || gz > 65535)
    return failWith(CUDA_ERROR_INVALID_VALUE,
                    absl::StrFormat("%s: grid (%u,%u,%u) is outside the limits", where, gx, gy, gz));
  if (shared > static_cast<unsigned>(function->maxDynamicShared))
    return failWith(CUDA_ERROR_INVALID_VALUE,
                    absl::StrCat(where, ": ", shared, " bytes of dynamic shared memory, above ",
                                 function->maxDynamicShared,
                                 " (raise it with cuFuncSetAttribute)"));
  if (function->staticShared + shared > kMaxSharedPerBlock)
    return failWith(CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES,
                    absl::StrCat(where, ": ", function->staticShared + shared,
                                 " bytes of shared memory exceed the block's ", kMaxSharedPerBlock));
  // Arguments are copied at launch, as the driver does: every parameter of the kernel
  // ABI is 8 bytes (a pointer or an i64).
  auto values = std::make_shared<std::vector<uint64_t>>(function->params);
  for (uint32_t i = 0; i < function->params; ++i) std::memcpy(&(*values)[i], params[i], 8);
  EmuLaunch launch;
  launch.entry = function->entry;
  launch.kernelName = function->name.c_str();
  launch.grid = {gx, gy, gz};
  launch.block = {bx, by, bz};
  launch.sharedBytes = function->staticShared + shared;
  return enqueue(stream, [launch, values]() mutable {
    std::vector<void *> pointers;
    for (uint64_t &value : *values) pointers.push_back(&value);
    launch.params = pointers.data();
    return runGrid(launch);
  });
}

CUresult streamBeginCapture(CUstream stream, int) {
  if (!stream) return failWith(CUDA_ERROR_NOT_SUPPORTED, "capture of the legacy default stream");
  stream->capturing = true;
  stream->captured.clear();
  return CUDA_SUCCESS;
}
CUresult streamEndCapture(CUstream stream, CUgraph *graph) {
  if (!stream || !stream->capturing)
    return failWith(CUDA_ERROR_INVALID_VALUE, "cuStreamEndCapture on a stream that is not capturing");
  stream->capturing = false;
  *graph = new CUgraph_st{std::move(stream->captured)};
  stream->captured.clear();
  return CUDA_SUCCESS;
}
CUresult graphInstantiate(CUgraphExec *exec, CUgraph graph, unsigned long long) {
  *exec = new CUgraphExec_st{graph->ops};
  return CUDA_SUCCESS;
}
std::atomic<uint64_t> graphLaunchCount{0};

CUresult graphLaunch(CUgraphExec exec, CUstream stream) {
  ++graphLaunchCount;
  for (EmuOp &op : exec->ops)
    if (CUresult rc = enqueue(stream, op)) return rc;
  return CUDA_SUCCESS;
}
CUresult graphExecDestroy(CUgraphExec exec) {
  delete exec;
  return CUDA_SUCCESS;
}
CUresult graphDestroy(CUgraph graph) {
  delete graph;
  return CUDA_SUCCESS;
}

} // namespace

uint64_t graphLaunches() { return graphLaunchCount.load(); }

const CudaDriverApi &driverApi() {
  static const CudaDriverApi api = [] {
    CudaDriverApi table;
    table.cuInit = init;
    table.cuDriverGetVersion = driverGetVersion;
    table.cuGetErrorString = getErrorString;
    table.cuDeviceGetCount = deviceGetCount;
    table.cuDeviceGet = deviceGet;
    table.cuDeviceGetName = deviceGetName;
    table.cuDeviceGetAttribute = deviceGetAttribute;
    table.cuDevicePrimaryCtxRetain = primaryCtxRetain;
    table.cuDevicePrimaryCtxRelease = primaryCtxRelease;
    table.cuCtxSetCurrent = ctxSetCurrent;
    table.cuCtxSynchronize = ctxSynchronize;
    table.cuMemGetInfo = memGetInfo;
    table.cuMemAlloc = memAlloc;
    table.cuMemFree = memFree;
    table.cuMemAllocHost = memAllocHost;
    table.cuMemFreeHost = memFreeHost;
    table.cuMemcpyHtoD = memcpyHtoD;
    table.cuMemcpyDtoH = memcpyDtoH;
    table.cuMemcpyDtoD = memcpyDtoD;
    table.cuMemcpyHtoDAsync = memcpyHtoDAsync;
    table.cuMemcpyDtoHAsync = memcpyDtoHAsync;
    table.cuMemcpyDtoDAsync = memcpyDtoDAsync;
    table.cuMemsetD8 = memsetD8;
    table.cuMemsetD8Async = memsetD8Async;
    table.cuStreamCreate = streamCreate;
    table.cuStreamDestroy = streamDestroy;
    table.cuStreamSynchronize = streamSynchronize;
    table.cuEventCreate = eventCreate;
    table.cuEventRecord = eventRecord;
    table.cuEventSynchronize = eventSynchronize;
    table.cuEventElapsedTime = eventElapsedTime;
    table.cuEventDestroy = eventDestroy;
    table.cuModuleLoadData = moduleLoadData;
    table.cuModuleLoadDataEx = moduleLoadDataEx;
    table.cuModuleUnload = moduleUnload;
    table.cuModuleGetFunction = moduleGetFunction;
    table.cuFuncSetAttribute = funcSetAttribute;
    table.cuLaunchKernel = launchKernel;
    table.cuStreamBeginCapture = streamBeginCapture;
    table.cuStreamEndCapture = streamEndCapture;
    table.cuGraphInstantiateWithFlags = graphInstantiate;
    table.cuGraphLaunch = graphLaunch;
    table.cuGraphExecDestroy = graphExecDestroy;
    table.cuGraphDestroy = graphDestroy;
    return table;
  }();
  return api;
}

} // namespace mvc::emu
