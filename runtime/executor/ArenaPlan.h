//===- ArenaPlan.h - pack transient buffers into one arena -----------------===//
//
// Transients whose live ranges (step indices, inclusive) overlap must not share bytes;
// the others may. planArena places them greedily: largest first, each at the lowest
// 64-byte aligned offset that clears every already placed buffer it is live with.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_EXECUTOR_ARENAPLAN_H
#define MVC_RUNTIME_EXECUTOR_ARENAPLAN_H

#include <cstdint>
#include <vector>

namespace mvc {

struct ArenaRequest {
  uint64_t size = 0;
  int64_t first = 0, last = 0;
};

struct ArenaPlan {
  std::vector<uint64_t> offsets; // one per request, 64-byte aligned
  uint64_t size = 0;             // bytes the arena needs
};

ArenaPlan planArena(const std::vector<ArenaRequest> &requests);

} // namespace mvc

#endif // MVC_RUNTIME_EXECUTOR_ARENAPLAN_H
