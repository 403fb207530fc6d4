//===- ThreadPool.h - workers that run the workgroups of a dispatch --------===//
//
// numThreads threads of execution: the caller of parallelFor plus numThreads - 1 workers.
// parallelFor hands out indices from an atomic counter, so uneven workgroups balance
// themselves; it returns when every index has run (the barrier between dispatches).
//
// A decode step is a few hundred dispatches of tens of microseconds each, so waking a
// sleeping worker through the kernel on every dispatch would cost as much as the work.
// Workers therefore spin on the job word for a while after each job (kSpinMicros; after
// the first tens of microseconds each try yields the core, so a loaded machine loses
// little) and only then sleep on a condition variable; the caller waits for completion
// the same way.
// A job is done when all its indices have run, not when every worker has looked at it:
// a worker that lost its core (a loaded machine) never holds the caller up. Indices are
// claimed with a compare-and-swap on one word holding (job generation, next index), so a
// worker that wakes late cannot claim an index of a job it did not read.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_HAL_CPU_THREADPOOL_H
#define MVC_RUNTIME_HAL_CPU_THREADPOOL_H

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/functional/function_ref.h"

namespace mvc {

class ThreadPool {
public:
  /// `numThreads` <= 0 means one per hardware thread.
  explicit ThreadPool(int numThreads);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  int numThreads() const { return static_cast<int>(workers.size()) + 1; }
  /// Runs fn(i) for every i in [0, count) across the pool, the caller included. Calls from
  /// several threads are serialized.
  void parallelFor(int64_t count, absl::FunctionRef<void(int64_t)> fn);

  static int hardwareThreads();

  /// How long a worker spins waiting for the next job before it sleeps: long enough to
  /// bridge the gap between dispatches of one step and between decode steps.
  static constexpr int64_t kSpinMicros = 1000;

private:
  void workerLoop();
  /// Claims and runs indices of generation `gen` until none is left.
  void runIndices(uint64_t gen, const absl::FunctionRef<void(int64_t)> &fn, int64_t count);

  std::vector<std::thread> workers;
  std::mutex callMutex; // one parallelFor at a time
  // Sleeping: workers that gave up spinning wait on `wake` under `mutex`.
  std::mutex mutex;
  std::condition_variable wake;
  int sleepers = 0;
  // The job. `claim` = generation << 32 | next index. parallelFor closes the previous
  // generation (index kClosed), then writes fn and count (release), then opens the new
  // generation at index 0; a worker reads fn and count (acquire) after seeing a new
  // generation and claims indices only while the generation is still the one it read.
  static constexpr uint64_t kClosed = 0xffffffffu;
  std::atomic<uint64_t> claim{0};
  std::atomic<const absl::FunctionRef<void(int64_t)> *> job{nullptr};
  std::atomic<int64_t> jobCount{0};
  std::atomic<int64_t> finished{0}; // indices of the current job that have run
  std::atomic<bool> stopping{false};
};

} // namespace mvc

#endif // MVC_RUNTIME_HAL_CPU_THREADPOOL_H
