//===- WeightPacking.cpp - weights in the layouts kernels read -----------===//
#include "compiler/Weights/WeightPacking.h"

#include <cmath>
#include <cstring>

namespace mvc {

uint16_t floatToBf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if (std::isnan(f)) return uint16_t((bits >> 16) | 0x40);
  uint32_t rounding = 0x7fff + ((bits >> 16) & 1);
  return uint16_t((bits + rounding) >> 16);
}

namespace {
void appendValue(std::string &out, float v, StoredType type) {
  if (type == StoredType::F32) {
    out.append(reinterpret_cast<const char *>(&v), 4);
  } else if (type == StoredType::BF16) {
    uint16_t h = floatToBf16(v);
    out.append(reinterpret_cast<const char *>(&h), 2);
  } else {
    int32_t i = int32_t(v);
    out.append(reinterpret_cast<const char *>(&i), 4);
  }
}
} // namespace

static int64_t bytesPerValue(StoredType type) { return type == StoredType::BF16 ? 2 : 4; }

int64_t rowMajorBytes(int64_t count, StoredType type) { return count * bytesPerValue(type); }

int64_t matmulPanelsBytes(int64_t n, int64_t k, StoredType type, bool pairK) {
  int64_t np = (n + 15) / 16 * 16;
  int64_t kp = pairK ? (k + 1) / 2 * 2 : k;
  return np * kp * bytesPerValue(type);
}

std::string packRowMajor(const std::vector<float> &values, StoredType type) {
  std::string out;
  out.reserve(rowMajorBytes(int64_t(values.size()), type));
  for (float v : values) appendValue(out, v, type);
  return out;
}

std::string packMatmulPanels(const std::vector<float> &values, int64_t n, int64_t k,
                             bool transposed, StoredType type, bool pairK) {
  const int64_t panel = 16;
  int64_t np = (n + panel - 1) / panel * panel;
  int64_t kp = pairK ? (k + 1) / 2 * 2 : k;
  auto at = [&](int64_t row, int64_t col) -> float {
    if (row >= n || col >= k) return 0.0f;
    return transposed ? values[col * n + row] : values[row * k + col];
  };
  std::string out;
  out.reserve(matmulPanelsBytes(n, k, type, pairK));
  for (int64_t p = 0; p < np / panel; ++p) {
    if (pairK) {
      for (int64_t kk = 0; kk < kp; kk += 2)
        for (int64_t j = 0; j < panel; ++j) {
          appendValue(out, at(p * panel + j, kk), type);
          appendValue(out, at(p * panel + j, kk + 1), type);
        }
    } else {
      for (int64_t kk = 0; kk < kp; ++kk)
        for (int64_t j = 0; j < panel; ++j) appendValue(out, at(p * panel + j, kk), type);
    }
  }
  return out;
}

} // namespace mvc
