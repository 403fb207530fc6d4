//===- BlockPool.h - the blocks of a launch over the host's cores -*- C++ -*-===//
//
// Blocks of a grid are independent (the kernels share nothing between blocks but global
// memory they do not race on), so the emulator runs them on several OS threads, each
// with its own BlockScheduler (fibers, shared-memory arena and race shadow). The threads
// persist across launches. MVC_EMU_THREADS sets their number (default: the host's cores;
// 1 runs every block on the launching thread, in order).
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_HAL_EMU_BLOCKPOOL_H
#define MVC_RUNTIME_HAL_EMU_BLOCKPOOL_H

#include <cstdint>
#include <functional>
#include <string>

namespace mvc::emu {

/// Runs runBlock(i) for i in [0, count) over the pool (the caller's thread included).
/// runBlock returns "" or what went wrong; the result is the error of the lowest failing
/// index (blocks past it are not started), so it does not depend on the thread count.
std::string runBlocksInParallel(uint64_t count, const std::function<std::string(uint64_t)> &runBlock);

/// The number of threads blocks run on (MVC_EMU_THREADS, read once).
unsigned blockThreads();

} // namespace mvc::emu

#endif // MVC_RUNTIME_HAL_EMU_BLOCKPOOL_H
