//===- ThreadPool.cpp -----------------------------------------------------===//
#include "runtime/hal/cpu/ThreadPool.h"

namespace mvc {

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
    stopping = true;
  }
  wake.notify_all();
  for (std::thread &worker : workers)
    worker.join();
}

void ThreadPool::runIndices() {
  for (int64_t i = nextIndex.fetch_add(1, std::memory_order_relaxed); i < jobCount;
       i = nextIndex.fetch_add(1, std::memory_order_relaxed))
    (*job)(i);
}

void ThreadPool::workerLoop() {
  uint64_t seen = 0;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mutex);
      wake.wait(lock, [&] { return stopping || generation != seen; });
      if (stopping)
        return;
      seen = generation;
    }
    runIndices();
    std::lock_guard<std::mutex> lock(mutex);
    if (--busyWorkers == 0)
      done.notify_one();
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
  {
    std::lock_guard<std::mutex> lock(mutex);
    job = &fn;
    jobCount = count;
    nextIndex.store(0, std::memory_order_relaxed);
    busyWorkers = static_cast<int>(workers.size());
    ++generation;
  }
  wake.notify_all();
  runIndices();
  std::unique_lock<std::mutex> lock(mutex);
  done.wait(lock, [&] { return busyWorkers == 0; });
  job = nullptr;
}

} // namespace mvc
