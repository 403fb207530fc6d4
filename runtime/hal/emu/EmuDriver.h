//===- EmuDriver.h - the CUDA driver API, emulated on the host ---*- C++ -*-===//
//
// The cuda-emu device: a CudaDriverApi table whose entry points run on the host. Device
// memory is host memory (a CUdeviceptr is a host address), modules are cuda-emu kernel
// libraries (host ELF, runtime/hal/emu/EmuAbi.h), launches run every block's threads as
// fibers (BlockScheduler). Work runs when it is enqueued: streams are in order, so that
// is a legal schedule, and stream/event synchronization has nothing left to wait for.
// Stream capture records the work into a graph instead; launching the graph replays it.
//
// The emulated driver checks what a GPU's would (copies inside allocations, dynamic
// shared memory above 48 KB only after cuFuncSetAttribute, block shape limits) and
// its cuGetErrorString names what failed in the last call on this thread (which kernel,
// block and thread, and why), not just the error code.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_HAL_EMU_EMUDRIVER_H
#define MVC_RUNTIME_HAL_EMU_EMUDRIVER_H

#include "runtime/hal/cuda/CudaDriverApi.h"

namespace mvc::emu {

/// The emulator's driver table; the device reports compute capability 8.0.
const CudaDriverApi &driverApi();

/// How many graphs cuGraphLaunch has replayed in this process (for tests of the HAL).
uint64_t graphLaunches();

} // namespace mvc::emu

#endif // MVC_RUNTIME_HAL_EMU_EMUDRIVER_H
