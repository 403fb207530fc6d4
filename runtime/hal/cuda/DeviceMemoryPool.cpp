//===- DeviceMemoryPool.cpp -----------------------------------------------===//
#include "runtime/hal/cuda/DeviceMemoryPool.h"

#include "absl/strings/str_cat.h"

namespace mvc {

namespace {
constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kSmallest = 256;
} // namespace

DeviceMemoryPool::~DeviceMemoryPool() {
  for (auto &[size, blocks] : freeBlocks)
    for (CUdeviceptr block : blocks) driver.api().cuMemFree(block);
}

uint64_t DeviceMemoryPool::sizeClass(uint64_t bytes) {
  if (bytes >= kMiB) return (bytes + kMiB - 1) / kMiB * kMiB;
  uint64_t size = kSmallest;
  while (size < bytes) size *= 2;
  return size;
}

absl::StatusOr<CUdeviceptr> DeviceMemoryPool::allocate(uint64_t bytes) {
  uint64_t size = sizeClass(bytes ? bytes : 1);
  auto it = freeBlocks.find(size);
  if (it != freeBlocks.end() && !it->second.empty()) {
    CUdeviceptr block = it->second.back();
    it->second.pop_back();
    return block;
  }
  CUdeviceptr block = 0;
  CUresult rc = driver.api().cuMemAlloc(&block, size);
  if (rc != CUDA_SUCCESS && !freeBlocks.empty()) {
    // Out of memory with blocks cached for other sizes: give them back and retry once.
    for (auto &[cachedSize, blocks] : freeBlocks)
      for (CUdeviceptr cached : blocks) {
        driver.api().cuMemFree(cached);
        allocated -= cachedSize;
      }
    freeBlocks.clear();
    rc = driver.api().cuMemAlloc(&block, size);
  }
  if (absl::Status status = driver.check(rc, absl::StrCat("cuMemAlloc(", size, " bytes)"));
      !status.ok())
    return status;
  allocated += size;
  return block;
}

void DeviceMemoryPool::release(CUdeviceptr pointer, uint64_t bytes) {
  if (pointer) freeBlocks[sizeClass(bytes ? bytes : 1)].push_back(pointer);
}

uint64_t DeviceMemoryPool::cachedBytes() const {
  uint64_t total = 0;
  for (const auto &[size, blocks] : freeBlocks) total += size * blocks.size();
  return total;
}

} // namespace mvc
