//===- FeatureCache.h - vision-encoder outputs kept by image content ------===//
//
// A repeated image (the same frame in another request, a chat that resends its history
// with a different system prompt) need not go through the vision program again: its
// features are kept under the frame's content hash (ImageFrame::contentHash), least
// recently used first out when the cache holds more than its byte budget. The prefix
// cache (PrefixCache.h) skips whole prefixes; this one covers an image whose prefix
// differs. Thread-safe (the run half that owns it is shared).
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_PIPELINE_FEATURECACHE_H
#define MVC_RUNTIME_PIPELINE_FEATURECACHE_H

#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "mvc/Runtime.h"

namespace mvc {

class FeatureCache {
public:
  explicit FeatureCache(uint64_t capacityBytes) : capacity(capacityBytes) {}

  /// The features kept for `key`, if any (a copy; counts a hit or a miss).
  std::optional<HostTensor> find(uint64_t key);
  /// Keeps `features` for `key`, evicting the least recently used beyond the budget (a
  /// tensor larger than the whole budget is not kept).
  void insert(uint64_t key, const HostTensor &features);

  int64_t hits() const;
  int64_t misses() const;
  uint64_t bytes() const;

private:
  struct Entry {
    uint64_t key;
    HostTensor features;
  };
  mutable std::mutex mutex;
  uint64_t capacity;
  uint64_t used = 0;
  std::list<Entry> order; // most recently used first
  std::unordered_map<uint64_t, std::list<Entry>::iterator> byKey;
  int64_t hitCount = 0, missCount = 0;
};

} // namespace mvc

#endif // MVC_RUNTIME_PIPELINE_FEATURECACHE_H
