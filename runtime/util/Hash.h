//===- Hash.h - mvcHash64, the artifact checksum ---------------------------===//
//
// mvcHash64 is the checksum of the .mvc artifact (FORMAT.md): the writer and the reader
// must compute exactly this function, so its definition is part of the file format.
//
// Definition (all arithmetic mod 2^64, words read little-endian):
//   h = kSeed
//   for each full 8-byte word w:      h = rotl(h ^ (w * kMulA), 31) * kMulB
//   if 1..7 bytes remain, zero-pad them to a word and apply the same step
//   h ^= length in bytes
//   return fmix64(h)   (the MurmurHash3 64-bit finalizer)
//
// One multiply-rotate-multiply per 8 bytes runs at several GB/s, so a 1 GB weights section
// verifies in a fraction of a second. It detects corruption; it is not cryptographic.
// Hasher64 computes the same value incrementally, for sections written as a stream.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_UTIL_HASH_H
#define MVC_RUNTIME_UTIL_HASH_H

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace mvc {

class Hasher64 {
public:
  static constexpr uint64_t kSeed = 0x9E3779B97F4A7C15ull;
  static constexpr uint64_t kMulA = 0xC2B2AE3D27D4EB4Full;
  static constexpr uint64_t kMulB = 0x165667B19E3779F9ull;

  void update(const void *data, size_t size) {
    const auto *bytes = static_cast<const unsigned char *>(data);
    length += size;
    // Finish a word left partial by the previous update.
    if (pendingSize != 0 && size != 0) {
      size_t take = std::min(size, sizeof pending - pendingSize);
      std::memcpy(pending + pendingSize, bytes, take);
      pendingSize += take;
      bytes += take;
      size -= take;
      if (pendingSize != sizeof pending)
        return;
      state = step(state, load(pending));
      pendingSize = 0;
    }
    for (; size >= 8; bytes += 8, size -= 8)
      state = step(state, load(bytes));
    // Fewer than 8 bytes remain and no word is partial: keep them for the next update.
    if (size != 0) {
      std::memcpy(pending, bytes, size);
      pendingSize = size;
    }
  }

  uint64_t finish() const {
    uint64_t h = state;
    if (pendingSize != 0) {
      unsigned char word[8] = {};
      std::memcpy(word, pending, pendingSize);
      h = step(h, load(word));
    }
    h ^= length;
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDull;
    h ^= h >> 33;
    h *= 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 33;
    return h;
  }

private:
  static uint64_t load(const unsigned char *p) {
    uint64_t w;
    std::memcpy(&w, p, 8); // x86-64 only: little-endian, as the format requires.
    return w;
  }
  static uint64_t step(uint64_t h, uint64_t w) {
    h ^= w * kMulA;
    h = (h << 31) | (h >> 33);
    return h * kMulB;
  }

  uint64_t state = kSeed;
  uint64_t length = 0;
  unsigned char pending[8] = {};
  size_t pendingSize = 0;
};

/// The artifact checksum of `size` bytes at `data` (see the definition above).
inline uint64_t mvcHash64(const void *data, size_t size) {
  Hasher64 hasher;
  hasher.update(data, size);
  return hasher.finish();
}

} // namespace mvc

#endif // MVC_RUNTIME_UTIL_HASH_H
