//===- BlockScheduler.cpp -------------------------------------------------===//
#include "runtime/hal/emu/BlockScheduler.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "runtime/hal/emu/EmuAbi.h"

namespace mvc::emu {

namespace {
/// Big enough for kernels with fragment arrays and unrolled loops at -O3; untouched
/// pages cost nothing (MAP_NORESERVE).
constexpr size_t kFiberStackBytes = 256 * 1024;
/// sm_90's largest block arena (227 KB) rounded up; the driver refuses larger launches.
constexpr size_t kArenaCapacity = 256 * 1024;
constexpr uintptr_t kArenaAlignment = 128;

thread_local BlockScheduler *currentScheduler = nullptr;

const char *collectiveName(Collective op) {
  switch (op) {
  case Collective::None: return "nothing";
  case Collective::WarpSync: return "bar.warp.sync";
  case Collective::Shfl: return "shfl.sync";
  case Collective::Vote: return "vote.sync";
  case Collective::Mma: return "mma.sync";
  case Collective::Ldmatrix: return "ldmatrix";
  }
  return "?";
}
} // namespace

struct BlockScheduler::Thread {
  BlockScheduler *owner = nullptr;
  uint32_t index = 0;
  FiberContext context;
  FiberStack *stack = nullptr;
  bool waiting = false, exited = false;
  uint32_t barrierPopc = 0, barrierAnd = 0, barrierOr = 0; // of its last bar.red
};

BlockScheduler::BlockScheduler() = default;

BlockScheduler::~BlockScheduler() {
  if (arenaMapping) munmap(arenaMapping, arenaMapped);
}

BlockScheduler *BlockScheduler::current() { return currentScheduler; }

void BlockScheduler::prepareArena(uint32_t bytes) {
  if (!arenaMapping) {
    size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    arenaMapped = kArenaCapacity + page;
    void *memory = mmap(nullptr, arenaMapped, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (memory == MAP_FAILED) {
      arenaMapping = nullptr;
      return;
    }
    arenaMapping = static_cast<uint8_t *>(memory);
    arenaEnd = arenaMapping + kArenaCapacity;
    mprotect(arenaEnd, page, PROT_NONE);
  }
  // End-aligned: an access past the block's shared memory lands in the guard page,
  // within the alignment slack.
  uintptr_t start = (reinterpret_cast<uintptr_t>(arenaEnd) - bytes) & ~(kArenaAlignment - 1);
  arena = reinterpret_cast<uint8_t *>(start);
  // Shared memory starts undefined on a GPU; all-ones bytes (NaN as f32 and bf16) make a
  // read before the first write show up in results instead of reading a stale zero.
  std::memset(arena, 0xff, arenaEnd - arena);
}

std::string BlockScheduler::run(const EmuLaunch &config, Dim3 blockId) {
  launch = &config;
  block = blockId;
  error.clear();
  if (config.sharedBytes > kArenaCapacity)
    return absl::StrCat("the block needs ", config.sharedBytes, " bytes of shared memory, more than ",
                        kArenaCapacity);
  prepareArena(config.sharedBytes);
  if (!arena) return "cannot map the shared-memory arena";

  uint32_t count = static_cast<uint32_t>(config.block.count());
  while (threads.size() < count) threads.push_back(std::make_unique<Thread>());
  threads.resize(count);
  runnable.clear();
  for (uint32_t i = 0; i < count; ++i) {
    Thread &thread = *threads[i];
    thread = Thread();
    thread.owner = this;
    thread.index = i;
    runnable.push_back(i);
  }
  exitedCount = 0;
  ++epoch;
  size_t granules = (config.sharedBytes + kShadowGranule - 1) / kShadowGranule;
  if (shadow.size() < granules) shadow.resize(granules);
  warps.assign((count + 31) / 32, WarpState());
  if (count % 32) warps.back().exited = ~0u << (count % 32); // lanes that do not exist
  for (Barrier &barrier : barriers) barrier = Barrier();

  BlockScheduler *outer = currentScheduler;
  currentScheduler = this;
  while (!runnable.empty() && error.empty()) {
    running = runnable.front();
    runnable.pop_front();
    Thread &thread = *threads[running];
    if (!thread.stack) {
      if (freeStacks.empty()) {
        stacks.push_back(std::make_unique<FiberStack>(kFiberStackBytes));
        if (!stacks.back()->valid()) {
          error = "cannot map a fiber stack";
          break;
        }
        freeStacks.push_back(stacks.back().get());
      }
      thread.stack = freeStacks.back();
      freeStacks.pop_back();
      initFiber(thread.context, *thread.stack, &BlockScheduler::fiberMain, &thread);
    }
    switchFiber(schedulerContext, thread.context);
    // Back from `running`: threads hand over to each other directly (yieldToScheduler),
    // so it need not be the thread this loop started.
    Thread &last = *threads[running];
    if (last.exited) {
      freeStacks.push_back(last.stack);
      last.stack = nullptr;
    }
  }
  currentScheduler = outer;
  if (error.empty() && exitedCount < count) error = describeDeadlock();
  // Threads abandoned by an error give their stacks back; their frames are dropped
  // (kernel code has no destructors to run).
  for (uint32_t i = 0; i < count; ++i)
    if (threads[i]->stack) {
      freeStacks.push_back(threads[i]->stack);
      threads[i]->stack = nullptr;
    }
  launch = nullptr;
  return error;
}

void BlockScheduler::fiberMain(void *arg) {
  auto *thread = static_cast<Thread *>(arg);
  BlockScheduler *self = thread->owner;
  self->launch->entry(self->launch->params);
  thread->exited = true;
  self->threadExited(thread->index);
  switchFiber(thread->context, self->schedulerContext);
  __builtin_unreachable();
}

void BlockScheduler::yieldToScheduler() {
  // The next runnable thread, if it has started, is resumed straight from this fiber: the
  // same round-robin order as through the scheduler loop, with half the switches.
  if (error.empty() && !runnable.empty() && threads[runnable.front()]->stack) {
    uint32_t self = running;
    running = runnable.front();
    runnable.pop_front();
    switchFiber(threads[self]->context, threads[running]->context);
    return; // resumed by whoever set `running` back to this thread
  }
  switchFiber(threads[running]->context, schedulerContext);
}

void BlockScheduler::wake(uint32_t index) {
  Thread &thread = *threads[index];
  thread.waiting = false;
  if (index != running) runnable.push_back(index);
}

void BlockScheduler::fail(const std::string &message) {
  Dim3 tid = threadId();
  error = absl::StrFormat("thread (%u,%u,%u): %s", tid.x, tid.y, tid.z, message);
  yieldToScheduler();
  __builtin_unreachable();
}

Dim3 BlockScheduler::threadId() const {
  const Dim3 &dims = launch->block;
  return {running % dims.x, (running / dims.x) % dims.y, running / (dims.x * dims.y)};
}

uint32_t BlockScheduler::sreg(uint32_t which) const {
  Dim3 tid = threadId();
  uint32_t lane = running % 32;
  switch (which) {
  case MVC_EMU_SREG_TID_X: return tid.x;
  case MVC_EMU_SREG_TID_Y: return tid.y;
  case MVC_EMU_SREG_TID_Z: return tid.z;
  case MVC_EMU_SREG_NTID_X: return launch->block.x;
  case MVC_EMU_SREG_NTID_Y: return launch->block.y;
  case MVC_EMU_SREG_NTID_Z: return launch->block.z;
  case MVC_EMU_SREG_CTAID_X: return block.x;
  case MVC_EMU_SREG_CTAID_Y: return block.y;
  case MVC_EMU_SREG_CTAID_Z: return block.z;
  case MVC_EMU_SREG_NCTAID_X: return launch->grid.x;
  case MVC_EMU_SREG_NCTAID_Y: return launch->grid.y;
  case MVC_EMU_SREG_NCTAID_Z: return launch->grid.z;
  case MVC_EMU_SREG_LANEID: return lane;
  case MVC_EMU_SREG_WARPID: return running / 32;
  case MVC_EMU_SREG_NWARPID: return static_cast<uint32_t>(warps.size());
  case MVC_EMU_SREG_WARPSIZE: return 32;
  case MVC_EMU_SREG_LANEMASK_EQ: return 1u << lane;
  case MVC_EMU_SREG_LANEMASK_LE: return lane == 31 ? ~0u : (2u << lane) - 1;
  case MVC_EMU_SREG_LANEMASK_LT: return (1u << lane) - 1;
  case MVC_EMU_SREG_LANEMASK_GE: return ~0u << lane;
  case MVC_EMU_SREG_LANEMASK_GT: return lane == 31 ? 0u : ~0u << (lane + 1);
  }
  return 0;
}

uint32_t BlockScheduler::barrier(int32_t id, int32_t numThreads, int32_t reduction, uint32_t pred) {
  if (id < 0 || id >= static_cast<int32_t>(barriers.size()))
    fail(absl::StrCat("barrier id ", id, " is outside 0..15"));
  if (numThreads >= 0 && (numThreads == 0 || numThreads % 32 != 0))
    fail(absl::StrCat("barrier ", id, " for ", numThreads,
                      " threads: the count must be a positive multiple of 32"));
  Barrier &b = barriers[id];
  uint32_t expected = numThreads < 0 ? ~0u : static_cast<uint32_t>(numThreads);
  if (b.arrived == 0) b.expected = expected;
  else if (b.expected != expected)
    fail(absl::StrCat("barrier ", id, " reached with thread count ", numThreads,
                      " while others wait there with another count"));
  ++b.arrived;
  b.popc += pred != 0;
  b.andAll &= pred != 0;
  b.orAny |= pred != 0;
  b.waiting.push_back(running);
  Thread &thread = *threads[running];
  thread.waiting = true;
  tryCompleteBarrier(static_cast<uint32_t>(id));
  if (thread.waiting) yieldToScheduler();
  switch (reduction) {
  case MVC_EMU_BARRIER_POPC: return thread.barrierPopc;
  case MVC_EMU_BARRIER_AND: return thread.barrierAnd;
  case MVC_EMU_BARRIER_OR: return thread.barrierOr;
  default: return 0;
  }
}

void BlockScheduler::tryCompleteBarrier(uint32_t id) {
  Barrier &b = barriers[id];
  if (b.arrived == 0) return;
  uint32_t expected = b.expected == ~0u ? liveThreads() : b.expected;
  if (b.arrived < expected) return;
  Barrier done = std::move(b);
  b = Barrier();
  ++epoch;
  for (uint32_t index : done.waiting) {
    Thread &thread = *threads[index];
    thread.barrierPopc = done.popc;
    thread.barrierAnd = done.andAll;
    thread.barrierOr = done.orAny;
    wake(index);
  }
}

const LaneSlot &BlockScheduler::collective(Collective op, uint32_t kind, uint32_t mask,
                                           const LaneSlot &mine, CollectiveFn complete) {
  uint32_t w = running / 32, lane = running % 32;
  WarpState &warp = warps[w];
  if (!(mask >> lane & 1))
    fail(absl::StrFormat("%s with member mask 0x%08x that does not include lane %u",
                         collectiveName(op), mask, lane));
  if (warp.arrived == 0) {
    warp.op = op;
    warp.kind = kind;
    warp.mask = mask;
  } else if (warp.op != op || warp.kind != kind || warp.mask != mask) {
    fail(absl::StrFormat("lane %u reached %s (mode %u, mask 0x%08x) while lanes 0x%08x of its "
                         "warp wait at %s (mode %u, mask 0x%08x)",
                         lane, collectiveName(op), kind, mask, warp.arrived,
                         collectiveName(warp.op), warp.kind, warp.mask));
  }
  LaneSlot &slot = warp.lanes[lane];
  std::memcpy(slot.in, mine.in, sizeof(slot.in));
  slot.address = mine.address;
  warp.arrived |= 1u << lane;
  Thread &thread = *threads[running];
  thread.waiting = true;
  warp.complete = complete; // the same for every lane of one (op, kind)
  tryCompleteWarp(w);
  if (thread.waiting) yieldToScheduler();
  return slot;
}

void BlockScheduler::tryCompleteWarp(uint32_t w) {
  WarpState &warp = warps[w];
  if (warp.arrived == 0) return;
  uint32_t needed = warp.mask & ~warp.exited;
  if ((warp.arrived & needed) != needed) return;
  uint32_t present = warp.arrived;
  warp.complete(warp, present);
  ++warp.generation;
  warp.arrived = 0;
  warp.op = Collective::None;
  for (uint32_t lane = 0; lane < 32; ++lane)
    if (present >> lane & 1) wake(w * 32 + lane);
}

void BlockScheduler::threadExited(uint32_t index) {
  ++exitedCount;
  warps[index / 32].exited |= 1u << (index % 32);
  tryCompleteWarp(index / 32);
  for (uint32_t id = 0; id < barriers.size(); ++id) tryCompleteBarrier(id);
}

SharedCheck sharedCheckMode() {
  static const SharedCheck mode = [] {
    const char *value = std::getenv("MVC_EMU_SHARED_CHECK");
    if (!value) return SharedCheck::Races;
    std::string text(value);
    if (text == "off") return SharedCheck::Off;
    if (text == "bounds") return SharedCheck::Bounds;
    return SharedCheck::Races;
  }();
  return mode;
}

std::string BlockScheduler::threadName(uint32_t index) const {
  const Dim3 &dims = launch->block;
  return absl::StrFormat("thread (%u,%u,%u)", index % dims.x, (index / dims.x) % dims.y,
                         index / (dims.x * dims.y));
}

void BlockScheduler::reportRace(size_t offset, uint32_t kind, const ByteShadow &granule) {
  uint32_t self = running, warp = self / 32;
  uint16_t generation = static_cast<uint16_t>(warps[warp].generation);
  bool wrote = granule.writeEpoch == epoch && granule.writer != self &&
               !(granule.writer / 32 == warp && granule.writerGeneration != generation);
  fail(absl::StrFormat("shared memory race at byte %zu: this thread %s it, which %s %s with no "
                       "barrier in between",
                       offset, kind == MVC_EMU_ACCESS_WRITE ? "writes" : "reads",
                       threadName(wrote ? granule.writer : granule.reader),
                       wrote ? "wrote" : granule.readers == 1 ? "read" : "read (with other threads)"));
}

void BlockScheduler::checkShared(const void *address, uint32_t bytes, uint32_t kind) {
  SharedCheck mode = sharedCheckMode();
  if (mode == SharedCheck::Off) return;
  auto *p = static_cast<const uint8_t *>(address);
  uint32_t size = launch->sharedBytes;
  if (p < arena || bytes > size || static_cast<size_t>(p - arena) > size - bytes)
    fail(absl::StrFormat("shared memory access of %u bytes at byte %lld of the block's %u "
                         "bytes of shared memory",
                         bytes, static_cast<long long>(p - arena), size));
  if (mode != SharedCheck::Races || kind == MVC_EMU_ACCESS_ATOMIC || bytes == 0) return;
  uint32_t self = running, warp = self / 32;
  uint16_t generation = static_cast<uint16_t>(warps[warp].generation);
  // Ordered with the running thread: itself, or a lane of its warp before a collective.
  auto ordered = [&](uint32_t other, uint16_t otherGeneration) {
    return other == self || (other / 32 == warp && otherGeneration != generation);
  };
  size_t offset = static_cast<size_t>(p - arena);
  size_t first = offset / kShadowGranule, last = (offset + bytes - 1) / kShadowGranule;
  for (size_t g = first; g <= last; ++g) {
    ByteShadow &granule = shadow[g];
    bool race = granule.writeEpoch == epoch && !ordered(granule.writer, granule.writerGeneration);
    if (kind == MVC_EMU_ACCESS_WRITE && granule.readEpoch == epoch)
      race |= (granule.readers == 1 && !ordered(granule.reader, granule.readerGeneration)) ||
              (granule.readers == 2 &&
               !(granule.reader / 32 == warp && granule.readerGeneration != generation)) ||
              granule.readers == 3;
    if (__builtin_expect(race, 0)) reportRace(std::max(offset, g * kShadowGranule), kind, granule);
    if (kind == MVC_EMU_ACCESS_WRITE) {
      granule.writeEpoch = epoch;
      granule.writer = static_cast<uint16_t>(self);
      granule.writerGeneration = generation;
    } else if (granule.readEpoch != epoch) {
      granule.readEpoch = epoch;
      granule.readers = 1;
      granule.reader = static_cast<uint16_t>(self);
      granule.readerGeneration = generation;
    } else if (granule.reader != self) {
      granule.readers = granule.reader / 32 == warp && granule.readers < 3 ? 2 : 3;
      granule.reader = static_cast<uint16_t>(self);
      granule.readerGeneration = generation;
    }
  }
}

std::string BlockScheduler::describeDeadlock() const {
  std::string where;
  for (uint32_t id = 0; id < barriers.size(); ++id)
    if (barriers[id].arrived)
      absl::StrAppend(&where, "; ", barriers[id].arrived, " threads wait at barrier ", id,
                      " for ", barriers[id].expected == ~0u ? liveThreads() : barriers[id].expected);
  for (uint32_t w = 0; w < warps.size(); ++w)
    if (warps[w].arrived)
      absl::StrAppend(&where, absl::StrFormat(
                                  "; warp %u: lanes 0x%08x wait at %s for lanes 0x%08x", w,
                                  warps[w].arrived, collectiveName(warps[w].op),
                                  warps[w].mask & ~warps[w].arrived));
  return absl::StrCat("deadlock: ", threads.size() - exitedCount, " of ", threads.size(),
                      " threads never finished", where);
}

std::string BlockScheduler::describeFault(const void *address) const {
  for (const auto &stack : stacks)
    if (stack->inGuard(address)) return "fiber stack overflow";
  auto *p = static_cast<const uint8_t *>(address);
  if (arena && p >= arenaEnd && p < arenaMapping + arenaMapped)
    return absl::StrCat("shared memory access at byte ", p - arena,
                        " of a block arena of ", launch ? launch->sharedBytes : 0, " bytes");
  return "";
}

} // namespace mvc::emu
