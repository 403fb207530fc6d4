//===- ArenaPlan.cpp ------------------------------------------------------===//
#include "runtime/executor/ArenaPlan.h"

#include <algorithm>
#include <numeric>

namespace mvc {

namespace {
constexpr uint64_t kAlignment = 64;
uint64_t alignUp(uint64_t value) { return (value + kAlignment - 1) / kAlignment * kAlignment; }
} // namespace

ArenaPlan planArena(const std::vector<ArenaRequest> &requests) {
  std::vector<size_t> order(requests.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return requests[a].size > requests[b].size;
  });

  ArenaPlan plan;
  plan.offsets.assign(requests.size(), 0);
  struct Interval {
    uint64_t begin, end;
  };
  std::vector<size_t> placed;
  std::vector<Interval> conflicts;
  for (size_t index : order) {
    const ArenaRequest &request = requests[index];
    conflicts.clear();
    for (size_t other : placed) {
      const ArenaRequest &o = requests[other];
      if (o.first <= request.last && request.first <= o.last && o.size != 0)
        conflicts.push_back({plan.offsets[other], plan.offsets[other] + o.size});
    }
    std::sort(conflicts.begin(), conflicts.end(),
              [](const Interval &a, const Interval &b) { return a.begin < b.begin; });
    // First fit: walk the occupied intervals in address order.
    uint64_t offset = 0;
    for (const Interval &interval : conflicts) {
      if (offset + request.size <= interval.begin)
        break;
      offset = std::max(offset, alignUp(interval.end));
    }
    plan.offsets[index] = offset;
    plan.size = std::max(plan.size, offset + request.size);
    placed.push_back(index);
  }
  plan.size = alignUp(plan.size);
  return plan;
}

} // namespace mvc
