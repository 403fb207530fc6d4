//===- BlockPool.cpp - the blocks of a launch over the host's cores ------===//
#include "runtime/hal/emu/BlockPool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace mvc::emu {
namespace {

/// Threads that run one task at a time, each calling it once; the caller runs it too.
class WorkerPool {
public:
  explicit WorkerPool(unsigned extra) {
    for (unsigned i = 0; i < extra; ++i) workers.emplace_back([this] { loop(); });
  }
  ~WorkerPool() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping = true;
    }
    wake.notify_all();
    for (std::thread &worker : workers) worker.join();
  }

  /// Runs `work` on every worker and on the caller; returns when all have returned.
  void runEverywhere(const std::function<void()> &work) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      task = &work;
      pending = static_cast<unsigned>(workers.size());
      ++generation;
    }
    wake.notify_all();
    work();
    std::unique_lock<std::mutex> lock(mutex);
    done.wait(lock, [&] { return pending == 0; });
    task = nullptr;
  }

private:
  void loop() {
    uint64_t seen = 0;
    for (;;) {
      const std::function<void()> *work;
      {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait(lock, [&] { return stopping || generation != seen; });
        if (stopping) return;
        seen = generation;
        work = task;
      }
      (*work)();
      std::lock_guard<std::mutex> lock(mutex);
      if (--pending == 0) done.notify_one();
    }
  }

  std::mutex mutex;
  std::condition_variable wake, done;
  const std::function<void()> *task = nullptr;
  uint64_t generation = 0;
  unsigned pending = 0;
  bool stopping = false;
  std::vector<std::thread> workers;
};

} // namespace

unsigned blockThreads() {
  static const unsigned threads = [] {
    if (const char *env = std::getenv("MVC_EMU_THREADS")) {
      long n = std::strtol(env, nullptr, 10);
      if (n >= 1 && n <= 1024) return static_cast<unsigned>(n);
    }
    return std::max(1u, std::thread::hardware_concurrency());
  }();
  return threads;
}

std::string runBlocksInParallel(uint64_t count, const std::function<std::string(uint64_t)> &runBlock) {
  if (blockThreads() == 1 || count <= 1) {
    for (uint64_t i = 0; i < count; ++i)
      if (std::string error = runBlock(i); !error.empty()) return error;
    return "";
  }
  static WorkerPool pool(blockThreads() - 1);
  std::atomic<uint64_t> next{0}, failedAt{UINT64_MAX};
  std::mutex errorMutex;
  std::string error;
  pool.runEverywhere([&] {
    for (;;) {
      uint64_t i = next.fetch_add(1);
      if (i >= count || i > failedAt.load()) return;
      std::string message = runBlock(i);
      if (message.empty()) continue;
      std::lock_guard<std::mutex> lock(errorMutex);
      if (i < failedAt.load()) {
        failedAt.store(i);
        error = std::move(message);
      }
    }
  });
  return error;
}

} // namespace mvc::emu
