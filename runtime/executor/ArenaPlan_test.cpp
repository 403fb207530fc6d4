#include "runtime/executor/ArenaPlan.h"

#include <random>

#include "gtest/gtest.h"

namespace mvc {
namespace {

void expectValid(const std::vector<ArenaRequest> &requests, const ArenaPlan &plan) {
  ASSERT_EQ(plan.offsets.size(), requests.size());
  for (size_t a = 0; a < requests.size(); ++a) {
    EXPECT_EQ(plan.offsets[a] % 64, 0u);
    EXPECT_LE(plan.offsets[a] + requests[a].size, plan.size);
    for (size_t b = a + 1; b < requests.size(); ++b) {
      bool liveTogether = requests[a].first <= requests[b].last &&
                          requests[b].first <= requests[a].last;
      bool bytesOverlap = plan.offsets[a] < plan.offsets[b] + requests[b].size &&
                          plan.offsets[b] < plan.offsets[a] + requests[a].size;
      EXPECT_FALSE(liveTogether && bytesOverlap) << "buffers " << a << " and " << b;
    }
  }
}

TEST(ArenaPlan, DisjointLifetimesShareMemory) {
  std::vector<ArenaRequest> requests = {{1000, 0, 1}, {1000, 2, 3}, {500, 4, 4}};
  ArenaPlan plan = planArena(requests);
  expectValid(requests, plan);
  EXPECT_EQ(plan.size, 1024u);
  EXPECT_EQ(plan.offsets, (std::vector<uint64_t>{0, 0, 0}));
}

TEST(ArenaPlan, OverlappingLifetimesAreSeparatedAndAligned) {
  std::vector<ArenaRequest> requests = {{100, 0, 2}, {10, 1, 2}, {1, 2, 3}};
  ArenaPlan plan = planArena(requests);
  expectValid(requests, plan);
  EXPECT_EQ(plan.offsets, (std::vector<uint64_t>{0, 128, 192}));
  EXPECT_EQ(plan.size, 256u);
}

TEST(ArenaPlan, HolesAreReused) {
  // d is born after b dies, so it takes b's bytes.
  std::vector<ArenaRequest> requests = {{256, 0, 5}, {128, 0, 1}, {256, 0, 5}, {128, 2, 5}};
  ArenaPlan plan = planArena(requests);
  expectValid(requests, plan);
  EXPECT_EQ(plan.offsets[3], plan.offsets[1]);
  EXPECT_EQ(plan.size, 640u);
}

TEST(ArenaPlan, RandomSchedulesNeverOverlapLiveBuffers) {
  std::mt19937 random(7);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<ArenaRequest> requests(random() % 20);
    for (ArenaRequest &r : requests) {
      r.size = random() % 5000;
      r.first = random() % 10;
      r.last = r.first + random() % 5;
    }
    expectValid(requests, planArena(requests));
  }
  EXPECT_EQ(planArena({}).size, 0u);
}

} // namespace
} // namespace mvc
