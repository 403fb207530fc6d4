//===- WeightPacking.cpp - weights in the layouts kernels read -----------===//
#include "compiler/Weights/WeightPacking.h"

#include <algorithm>
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

std::string quantizeQ8_0(const std::vector<float> &values, int64_t k) {
  std::string out;
  out.reserve(values.size() / kQ8_0Block * kQ8_0BlockBytes);
  (void)k; // rows are whole blocks: the blocks of consecutive rows are consecutive
  for (size_t begin = 0; begin + kQ8_0Block <= values.size(); begin += kQ8_0Block) {
    const float *x = values.data() + begin;
    float amax = 0.0f;
    for (int64_t i = 0; i < kQ8_0Block; ++i) amax = std::max(amax, std::fabs(x[i]));
    float d = amax / 127.0f;
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    _Float16 h = static_cast<_Float16>(d); // round to nearest even, as ggml's FP32_TO_FP16
    out.append(reinterpret_cast<const char *>(&h), 2);
    for (int64_t i = 0; i < kQ8_0Block; ++i) {
      auto q = static_cast<int8_t>(std::roundf(x[i] * id));
      out.push_back(static_cast<char>(q));
    }
  }
  return out;
}

int64_t q8_0PanelsBytes(int64_t n, int64_t k) {
  return (n + 15) / 16 * (k / kQ8_0Block) * 16 * kQ8_0BlockBytes;
}

std::string packQ8_0Panels(const std::string &blocks, int64_t n, int64_t k) {
  const int64_t panel = 16, perRow = k / kQ8_0Block;
  std::string out(q8_0PanelsBytes(n, k), '\0');
  char *dst = out.data();
  for (int64_t p = 0; p < (n + panel - 1) / panel; ++p)
    for (int64_t b = 0; b < perRow; ++b) {
      for (int64_t j = 0; j < panel; ++j) {
        int64_t row = p * panel + j;
        if (row >= n) continue; // padding: zero scale, zero values
        const char *block = blocks.data() + (row * perRow + b) * kQ8_0BlockBytes;
        std::memcpy(dst + 2 * j, block, 2);
        for (int64_t i = 0; i < kQ8_0Block; ++i) dst[2 * panel + i * panel + j] = block[2 + i];
      }
      dst += panel * kQ8_0BlockBytes;
    }
  return out;
}

} // namespace mvc
