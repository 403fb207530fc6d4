#include "runtime/hal/cpu/ThreadPool.h"

#include <chrono>
#include <mutex>
#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace mvc {
namespace {

TEST(ThreadPool, RunsEveryIndexExactlyOnce) {
  for (int threads : {1, 2, 4}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.numThreads(), threads);
    for (int64_t count : {0, 1, 3, 1000}) {
      std::vector<std::atomic<int>> hits(count);
      pool.parallelFor(count, [&](int64_t i) { hits[i].fetch_add(1); });
      for (int64_t i = 0; i < count; ++i)
        ASSERT_EQ(hits[i].load(), 1) << threads << " threads, index " << i;
    }
  }
}

TEST(ThreadPool, WorkersAndCallerShareTheWork) {
  ThreadPool pool(3);
  std::mutex mutex;
  std::set<std::thread::id> seen;
  // Enough slow indices that a worker must wake before the caller finishes them all.
  pool.parallelFor(64, [&](int64_t) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    std::lock_guard<std::mutex> lock(mutex);
    seen.insert(std::this_thread::get_id());
  });
  EXPECT_GT(seen.size(), 1u);
  EXPECT_TRUE(seen.count(std::this_thread::get_id()));
}

TEST(ThreadPool, ManyBackToBackCallsComplete) {
  ThreadPool pool(4);
  int64_t total = 0;
  std::atomic<int64_t> sum{0};
  for (int round = 0; round < 2000; ++round) {
    pool.parallelFor(5, [&](int64_t i) { sum.fetch_add(i); });
    total += 10;
  }
  EXPECT_EQ(sum.load(), total);
}

TEST(ThreadPool, WorkersThatWentToSleepWakeForTheNextJob) {
  ThreadPool pool(3);
  for (int round = 0; round < 3; ++round) {
    // Idle for longer than the spin: every worker is asleep on the condition variable.
    std::this_thread::sleep_for(std::chrono::microseconds(4 * ThreadPool::kSpinMicros));
    std::mutex mutex;
    std::set<std::thread::id> seen;
    std::vector<std::atomic<int>> hits(48);
    pool.parallelFor(48, [&](int64_t i) {
      hits[i].fetch_add(1);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      std::lock_guard<std::mutex> lock(mutex);
      seen.insert(std::this_thread::get_id());
    });
    for (auto &h : hits)
      ASSERT_EQ(h.load(), 1);
    EXPECT_GT(seen.size(), 1u) << "round " << round;
  }
}

TEST(ThreadPool, DefaultIsTheHardwareThreadCount) {
  ThreadPool pool(0);
  EXPECT_EQ(pool.numThreads(), ThreadPool::hardwareThreads());
}

} // namespace
} // namespace mvc
