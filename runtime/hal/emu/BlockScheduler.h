//===- BlockScheduler.h - one emulated thread block, run as fibers -*- C++ -*-===//
//
// Runs the threads of one block on one OS thread, each on its own fiber, round robin.
// A thread runs until it reaches a barrier or a warp-collective operation (shuffle,
// vote, mma, ldmatrix, warp sync), records its operands and suspends; the last thread
// to arrive completes the operation for all of them and they become runnable again.
// This is the Volta+ independent-thread-scheduling model the kernels are written for
// (sm_80 and up): lanes of a warp agree only at *.sync operations. Threads that have
// exited no longer count (bar.sync waits for the non-exited threads).
//
// No runnable thread while some wait is a deadlock (a barrier in divergent code, a
// collective whose mask names an exited lane): the block stops with an error naming
// where the threads wait.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_HAL_EMU_BLOCKSCHEDULER_H
#define MVC_RUNTIME_HAL_EMU_BLOCKSCHEDULER_H

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/hal/emu/Fiber.h"

namespace mvc::emu {

using EmuKernelEntry = void (*)(void **kernelParams);

struct Dim3 {
  uint32_t x = 1, y = 1, z = 1;
  uint64_t count() const { return uint64_t{x} * y * z; }
};

/// One launch, as the emulator's cuLaunchKernel received it.
struct EmuLaunch {
  EmuKernelEntry entry = nullptr;
  const char *kernelName = "";
  Dim3 grid, block;
  uint32_t sharedBytes = 0; // static + dynamic
  void **params = nullptr;
};

/// Operands of a warp-collective operation, per lane.
struct LaneSlot {
  uint32_t in[10];
  const void *address;
  uint32_t out[4];
};

enum class Collective { None, WarpSync, Shfl, Vote, Mma, Ldmatrix };

struct WarpState;
/// Completes a collective: reads lanes[l].in for l in `present`, writes lanes[l].out.
using CollectiveFn = void (*)(WarpState &warp, uint32_t present);

/// A warp's pending collective: which operation, which lanes must come, which came.
struct WarpState {
  Collective op = Collective::None;
  uint32_t kind = 0; // the operation's mode (shfl kind, mma shape, ...)
  uint32_t mask = 0, arrived = 0;
  uint32_t exited = 0; // lanes whose thread has returned (or never existed)
  CollectiveFn complete = nullptr;
  uint32_t generation = 0; // completed collectives: accesses on either side are ordered
  std::array<LaneSlot, 32> lanes;
};

/// What the emulator checks of plain shared-memory accesses (mvc_emu_shared_access):
/// nothing, bounds, or bounds and races. Read once from MVC_EMU_SHARED_CHECK
/// (off|bounds|races); races by default.
enum class SharedCheck { Off, Bounds, Races };
SharedCheck sharedCheckMode();

class BlockScheduler {
public:
  BlockScheduler();
  ~BlockScheduler();

  /// Runs block `blockId` of `launch` to completion. Returns "" or what went wrong.
  std::string run(const EmuLaunch &launch, Dim3 blockId);

  /// The scheduler running on this OS thread (inside a kernel), else null.
  static BlockScheduler *current();

  // What the mvc_emu_* functions see of the running thread.
  uint32_t sreg(uint32_t which) const;
  uint8_t *sharedBase() const { return arena; }
  uint32_t sharedBytes() const { return launch->sharedBytes; }
  const EmuLaunch &currentLaunch() const { return *launch; }
  Dim3 blockId() const { return block; }
  Dim3 threadId() const;
  uint32_t linearThread() const { return running; }

  /// bar.sync / bar.red for the running thread.
  uint32_t barrier(int32_t id, int32_t numThreads, int32_t reduction, uint32_t pred);
  /// Runs a warp collective for the running thread with its operands `mine`: suspends
  /// until every lane of `mask` arrived; returns this lane's slot (outputs set).
  const LaneSlot &collective(Collective op, uint32_t kind, uint32_t mask, const LaneSlot &mine,
                             CollectiveFn complete);
  /// Stops the block with `message` (called on the fiber of the offending thread).
  [[noreturn]] void fail(const std::string &message);

  /// Checks an access of `bytes` at `address` by the running thread (MvcEmuAccess `kind`):
  /// inside the block's shared memory, and, for plain reads and writes, not racing with
  /// another thread's access since the last barrier. Two threads are ordered by a barrier
  /// between them, or, in one warp, by a warp collective (shfl, vote, bar.warp.sync, ...).
  void checkShared(const void *address, uint32_t bytes, uint32_t kind);

  /// For the fault handler: is `address` in a fiber stack guard or past the arena?
  std::string describeFault(const void *address) const;

private:
  struct Thread;
  struct Barrier {
    uint32_t arrived = 0, expected = 0;
    uint32_t popc = 0, andAll = 1, orAny = 0;
    std::vector<uint32_t> waiting;
  };
  static void fiberMain(void *thread);
  void yieldToScheduler();
  void wake(uint32_t thread);
  void threadExited(uint32_t thread);
  void tryCompleteWarp(uint32_t warp);
  void tryCompleteBarrier(uint32_t id);
  uint32_t liveThreads() const { return static_cast<uint32_t>(threads.size()) - exitedCount; }
  std::string describeDeadlock() const;
  void prepareArena(uint32_t bytes);

  /// Who last wrote and read a 2-byte granule of shared memory (the smallest element the
  /// kernels share: bf16), and when (barrier epoch, warp generation). Entries of earlier
  /// epochs are stale: no reset between blocks.
  static constexpr size_t kShadowGranule = 2;
  struct ByteShadow {
    uint32_t writeEpoch = 0, readEpoch = 0;
    uint16_t writer = 0, reader = 0;
    uint16_t writerGeneration = 0, readerGeneration = 0;
    uint8_t readers = 0; // since readEpoch: 1 one thread, 2 several of one warp, 3 several warps
  };
  std::string threadName(uint32_t index) const;
  [[noreturn]] void reportRace(size_t offset, uint32_t kind, const ByteShadow &granule);

  const EmuLaunch *launch = nullptr;
  Dim3 block;
  uint32_t epoch = 0; // advances at every completed barrier and every block
  std::vector<ByteShadow> shadow;
  std::vector<std::unique_ptr<Thread>> threads;
  std::vector<std::unique_ptr<FiberStack>> stacks; // owned; free ones in freeStacks
  std::vector<FiberStack *> freeStacks;
  std::vector<WarpState> warps;
  std::array<Barrier, 16> barriers;
  std::deque<uint32_t> runnable;
  uint32_t running = 0;
  uint32_t exitedCount = 0;
  FiberContext schedulerContext;
  std::string error;
  // The shared-memory arena ends at a PROT_NONE page, so a store past the end faults.
  uint8_t *arenaMapping = nullptr;
  size_t arenaMapped = 0;
  uint8_t *arena = nullptr;
  uint8_t *arenaEnd = nullptr;
};

} // namespace mvc::emu

#endif // MVC_RUNTIME_HAL_EMU_BLOCKSCHEDULER_H
