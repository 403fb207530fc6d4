//===- ThreadPool.h - workers that run the workgroups of a dispatch --------===//
//
// numThreads threads of execution: the caller of parallelFor plus numThreads - 1 workers.
// parallelFor hands out indices from an atomic counter, so uneven workgroups balance
// themselves; it returns when every index has run (the barrier between dispatches).
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

private:
  void workerLoop();
  void runIndices();

  std::vector<std::thread> workers;
  std::mutex callMutex; // one parallelFor at a time
  std::mutex mutex;
  std::condition_variable wake, done;
  uint64_t generation = 0; // bumped per parallelFor; workers wait for a new one
  bool stopping = false;
  int busyWorkers = 0;
  const absl::FunctionRef<void(int64_t)> *job = nullptr;
  int64_t jobCount = 0;
  std::atomic<int64_t> nextIndex{0};
};

} // namespace mvc

#endif // MVC_RUNTIME_HAL_CPU_THREADPOOL_H
