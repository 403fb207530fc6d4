//===- ThreadPool.cpp -----------------------------------------------------===//
#include "runtime/hal/cpu/ThreadPool.h"

#include <chrono>

namespace mvc {
namespace {

inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

/// Calls `ready` until it returns true or `micros` have passed (the clock is read every 64
/// tries), and returns whether it did. The first kPauseMicros relax the core between tries;
/// after that each try yields the core, so on a machine with more runnable threads than
/// cores a waiting thread gives its time to the others instead of burning it.
template <typename Ready>
bool spinUntil(Ready ready, int64_t micros) {
  constexpr int64_t kPauseMicros = 50;
  auto start = std::chrono::steady_clock::now();
  bool yielding = false;
  for (uint32_t tries = 1;; ++tries) {
    if (ready())
      return true;
    if (yielding)
      std::this_thread::yield();
    else
      cpuRelax();
    if (tries % 64 == 0) {
      auto elapsed = std::chrono::steady_clock::now() - start;
      if (elapsed > std::chrono::microseconds(micros))
        return false;
      yielding = elapsed > std::chrono::microseconds(kPauseMicros);
    }
  }
}

uint64_t generationOf(uint64_t claim) { return claim >> 32; }

} // namespace

int ThreadPool::hardwareThreads() {
  unsigned count = std::thread::hardware_concurrency();
  return count == 0 ? 1 : static_cast<int>(count);
}

ThreadPool::ThreadPool(int numThreads) {
  if (numThreads <= 0)
    numThreads = hardwareThreads();
  for (int i = 1; i < numThreads; ++i)
    workers.emplace_back([this] { workerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex);
    stopping.store(true, std::memory_order_release);
  }
  wake.notify_all();
  for (std::thread &worker : workers)
    worker.join();
}

void ThreadPool::runIndices(uint64_t gen, const absl::FunctionRef<void(int64_t)> &fn,
                            int64_t count) {
  uint64_t current = claim.load(std::memory_order_relaxed);
  while (generationOf(current) == gen) {
    uint64_t index = current & kClosed;
    if (index >= uint64_t(count))
      return;
    if (!claim.compare_exchange_weak(current, current + 1, std::memory_order_acq_rel,
                                     std::memory_order_relaxed))
      continue; // `current` was reloaded
    fn(int64_t(index));
    finished.fetch_add(1, std::memory_order_release);
    current = claim.load(std::memory_order_relaxed);
  }
}

void ThreadPool::workerLoop() {
  uint64_t seen = 0;
  while (true) {
    auto ready = [&] {
      return stopping.load(std::memory_order_acquire) ||
             generationOf(claim.load(std::memory_order_acquire)) != seen;
    };
    if (!spinUntil(ready, kSpinMicros)) {
      std::unique_lock<std::mutex> lock(mutex);
      ++sleepers;
      wake.wait(lock, ready);
      --sleepers;
    }
    if (stopping.load(std::memory_order_acquire))
      return;
    seen = generationOf(claim.load(std::memory_order_acquire));
    const absl::FunctionRef<void(int64_t)> *fn = job.load(std::memory_order_acquire);
    int64_t count = jobCount.load(std::memory_order_acquire);
    // If fn and count already belong to a later job, `seen` is closed and nothing is claimed.
    runIndices(seen, *fn, count);
  }
}

void ThreadPool::parallelFor(int64_t count, absl::FunctionRef<void(int64_t)> fn) {
  if (count <= 0)
    return;
  std::lock_guard<std::mutex> call(callMutex);
  if (workers.empty() || count == 1) {
    for (int64_t i = 0; i < count; ++i)
      fn(i);
    return;
  }
  uint64_t previous = generationOf(claim.load(std::memory_order_relaxed));
  uint64_t gen = (previous + 1) & kClosed; // wraps after 2^32 jobs; only inequality matters
  claim.store(previous << 32 | kClosed, std::memory_order_relaxed);
  finished.store(0, std::memory_order_relaxed);
  job.store(&fn, std::memory_order_release);
  jobCount.store(count, std::memory_order_release);
  claim.store(gen << 32, std::memory_order_release);
  {
    // Under the mutex, so a worker going to sleep either sees the new generation in its
    // wait predicate or is counted in `sleepers` before we look.
    std::lock_guard<std::mutex> lock(mutex);
    if (sleepers > 0)
      wake.notify_all();
  }
  runIndices(gen, fn, count);
  auto done = [&] { return finished.load(std::memory_order_acquire) == count; };
  // Longer than the spin only when a worker running an index lost its core: keep yielding.
  while (!spinUntil(done, kSpinMicros))
    continue;
}

} // namespace mvc
