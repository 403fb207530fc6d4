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

namespace {

void appendF16(std::string &out, float v) {
  _Float16 h = static_cast<_Float16>(v); // round to nearest even, as ggml's FP32_TO_FP16
  out.append(reinterpret_cast<const char *>(&h), 2);
}

/// One block of 32 values, as ggml's quantize_row_<format>_ref.
void quantizeBlock(const BlockFormat &format, const float *x, std::string &out) {
  constexpr int64_t n = BlockFormat::kValues;
  if (format.bits == 8) {
    float amax = 0.0f;
    for (int64_t i = 0; i < n; ++i) amax = std::max(amax, std::fabs(x[i]));
    float d = amax / 127.0f;
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    appendF16(out, d);
    for (int64_t i = 0; i < n; ++i) out.push_back(char(int8_t(std::roundf(x[i] * id))));
    return;
  }
  int levels = (1 << format.bits) - 1;  // 15 or 31
  std::vector<int> q(n);
  if (format.hasMin) {
    float lo = x[0], hi = x[0];
    for (int64_t i = 1; i < n; ++i) lo = std::min(lo, x[i]), hi = std::max(hi, x[i]);
    float d = (hi - lo) / float(levels);
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    appendF16(out, d);
    appendF16(out, lo);
    for (int64_t i = 0; i < n; ++i)
      q[i] = std::min(levels, int(uint8_t((x[i] - lo) * id + 0.5f)));
  } else {
    float amax = 0.0f, max = 0.0f;
    for (int64_t i = 0; i < n; ++i)
      if (amax < std::fabs(x[i])) amax = std::fabs(x[i]), max = x[i];
    float d = max / -float(format.offset);
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    appendF16(out, d);
    for (int64_t i = 0; i < n; ++i)
      q[i] = std::min(levels, int(int8_t(x[i] * id + (float(format.offset) + 0.5f))));
  }
  if (format.hasHigh()) {
    uint32_t qh = 0;
    for (int64_t i = 0; i < n; ++i) qh |= uint32_t((q[i] >> 4) & 1) << i;
    out.append(reinterpret_cast<const char *>(&qh), 4);
  }
  for (int64_t i = 0; i < n / 2; ++i) out.push_back(char((q[i] & 0xf) | ((q[i + n / 2] & 0xf) << 4)));
}

} // namespace

std::string quantizeBlocks(const BlockFormat &format, const std::vector<float> &values) {
  std::string out;
  out.reserve(values.size() / BlockFormat::kValues * format.blockBytes);
  for (size_t begin = 0; begin + BlockFormat::kValues <= values.size(); begin += BlockFormat::kValues)
    quantizeBlock(format, values.data() + begin, out);
  return out;
}

std::string packBlockPanels(const BlockFormat &format, const std::string &blocks, int64_t n,
                            int64_t k) {
  const int64_t panel = BlockFormat::kRows, perRow = k / BlockFormat::kValues;
  std::string out(format.panelsBytes(n, k), '\0');
  // Where each field starts in a GGUF block: d, then m, then qh (5-bit), then the quants.
  int64_t srcHigh = format.hasMin ? 4 : 2;
  int64_t srcQuants = srcHigh + (format.hasHigh() ? 4 : 0);
  char *dst = out.data();
  for (int64_t p = 0; p < (n + panel - 1) / panel; ++p)
    for (int64_t b = 0; b < perRow; ++b) {
      for (int64_t j = 0; j < panel; ++j) {
        int64_t row = p * panel + j;
        if (row >= n) continue; // padding: zero fields
        const char *block = blocks.data() + (row * perRow + b) * format.blockBytes;
        std::memcpy(dst + 2 * j, block, 2);
        if (format.hasMin) std::memcpy(dst + format.minOffset() + 2 * j, block + 2, 2);
        if (format.hasHigh()) std::memcpy(dst + format.highOffset() + 4 * j, block + srcHigh, 4);
        char *quants = dst + format.quantOffset();
        int64_t count = format.bits == 8 ? BlockFormat::kValues : BlockFormat::kValues / 2;
        for (int64_t i = 0; i < count; ++i) quants[i * panel + j] = block[srcQuants + i];
      }
      dst += format.panelBlockBytes();
    }
  return out;
}

} // namespace mvc
