//===- BlockPool_test.cpp - blocks of a launch over several threads -------===//
#include "runtime/hal/emu/BlockPool.h"

#include <atomic>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace mvc::emu {
namespace {

TEST(BlockPool, RunsEveryBlockOnce) {
  std::vector<std::atomic<int>> runs(1000);
  std::string error = runBlocksInParallel(runs.size(), [&](uint64_t i) {
    runs[i].fetch_add(1);
    return std::string();
  });
  EXPECT_EQ(error, "");
  for (auto &count : runs) EXPECT_EQ(count.load(), 1);
}

TEST(BlockPool, ReportsTheLowestFailingBlock) {
  for (int repeat = 0; repeat < 20; ++repeat) {
    std::string error = runBlocksInParallel(500, [&](uint64_t i) {
      return i % 100 == 37 ? "block " + std::to_string(i) : std::string();
    });
    EXPECT_EQ(error, "block 37");
  }
}

TEST(BlockPool, NoBlocks) {
  EXPECT_EQ(runBlocksInParallel(0, [](uint64_t) { return std::string("never"); }), "");
}

} // namespace
} // namespace mvc::emu
