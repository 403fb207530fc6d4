#include "runtime/pipeline/FeatureCache.h"

namespace mvc {

std::optional<HostTensor> FeatureCache::find(uint64_t key) {
  std::lock_guard<std::mutex> lock(mutex);
  auto it = byKey.find(key);
  if (it == byKey.end()) {
    ++missCount;
    return std::nullopt;
  }
  ++hitCount;
  order.splice(order.begin(), order, it->second);
  return it->second->features;
}

void FeatureCache::insert(uint64_t key, const HostTensor &features) {
  const uint64_t size = features.byteSize();
  std::lock_guard<std::mutex> lock(mutex);
  if (size > capacity || byKey.count(key))
    return;
  while (used + size > capacity && !order.empty()) {
    used -= order.back().features.byteSize();
    byKey.erase(order.back().key);
    order.pop_back();
  }
  order.push_front({key, features});
  byKey[key] = order.begin();
  used += size;
}

int64_t FeatureCache::hits() const {
  std::lock_guard<std::mutex> lock(mutex);
  return hitCount;
}

int64_t FeatureCache::misses() const {
  std::lock_guard<std::mutex> lock(mutex);
  return missCount;
}

uint64_t FeatureCache::bytes() const {
  std::lock_guard<std::mutex> lock(mutex);
  return used;
}

} // namespace mvc
