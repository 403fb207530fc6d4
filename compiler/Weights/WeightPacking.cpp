//===- WeightPacking.cpp - weights in the layouts kernels read -----------===//
#include "compiler/Weights/WeightPacking.h"

#include "compiler/Weights/KQuants.h"

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
  if (format.highBits() == 1) {
    uint32_t qh = 0;
    for (int64_t i = 0; i < n; ++i) qh |= uint32_t((q[i] >> 4) & 1) << i;
    out.append(reinterpret_cast<const char *>(&qh), 4);
  }
  for (int64_t i = 0; i < n / 2; ++i) out.push_back(char((q[i] & 0xf) | ((q[i + n / 2] & 0xf) << 4)));
}

} // namespace

std::string quantizeBlocks(const BlockFormat &format, const std::vector<float> &values) {
  std::string out;
  size_t step = size_t(format.groupValues);
  out.reserve(values.size() / step * format.groupBytes);
  for (size_t begin = 0; begin + step <= values.size(); begin += step) {
    if (format.kQuant())
      quantizeKQuantGroup(format, values.data() + begin, out);
    else
      quantizeBlock(format, values.data() + begin, out);
  }
  return out;
}

namespace {

/// One GGUF block (group) of a row as its 32-value blocks: per block the f16 d and m
/// fields (k-quants: d and dmin, the same for all 8), the k-quants' sc and m, and each
/// value's integer q (0..255 for q8_0's int8 bits).
struct Unpacked {
  uint16_t d = 0, m = 0;
  uint8_t sc[16] = {}, mn[8] = {};  // q6_k: 16 int8 scales (one per 16 values)
  int q[256] = {};                  // q6_k: 0..63, before its offset
};

void unpackGroup(const BlockFormat &f, const uint8_t *b, Unpacked &u) {
  if (f.bits == 6) {  // q6_k: ql[128], qh[64], scales[16], d
    const uint8_t *ql = b, *qh = b + 128;
    std::memcpy(u.sc, b + 192, 16);
    std::memcpy(&u.d, b + 208, 2);
    for (int e = 0; e < 256; ++e) {
      int g = e / 128, p = (e % 128) / 32, l = e % 32;
      int low = (ql[64 * g + 32 * (p % 2) + l] >> (4 * (p / 2))) & 0xF;
      int high = (qh[32 * g + l] >> (2 * p)) & 3;
      u.q[e] = low | high << 4;
    }
    return;
  }
  std::memcpy(&u.d, b, 2);
  if (f.kQuant()) {
    std::memcpy(&u.m, b + 2, 2);
    const uint8_t *s = b + 4; // 12 bytes: 8 six-bit scales and mins
    for (int j = 0; j < 8; ++j) {
      if (j < 4) {
        u.sc[j] = s[j] & 63;
        u.mn[j] = s[j + 4] & 63;
      } else {
        u.sc[j] = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
        u.mn[j] = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
      }
    }
    const uint8_t *qh = f.highBits() ? b + 16 : nullptr;
    const uint8_t *qs = b + (f.highBits() ? 48 : 16);
    for (int e = 0; e < 256; ++e) {
      int j = e / 32, l = e % 32;
      int q = (qs[32 * (e / 64) + l] >> (4 * (j % 2))) & 0xF;
      if (qh) q |= ((qh[l] >> j) & 1) << 4;
      u.q[e] = q;
    }
    return;
  }
  if (f.hasMin) std::memcpy(&u.m, b + 2, 2);
  const uint8_t *after = b + (f.hasMin ? 4 : 2);
  if (f.bits == 8) {
    for (int i = 0; i < 32; ++i) u.q[i] = after[i];
    return;
  }
  uint32_t qh = 0;
  if (f.highBits()) std::memcpy(&qh, after, 4);
  const uint8_t *qs = after + (f.highBits() ? 4 : 0);
  for (int i = 0; i < 16; ++i) {
    u.q[i] = (qs[i] & 0xF) | int((qh >> i) & 1) << 4;
    u.q[i + 16] = (qs[i] >> 4) | int((qh >> (i + 16)) & 1) << 4;
  }
}

} // namespace

std::string packBlockPanels(const BlockFormat &format, const std::string &blocks, int64_t n,
                            int64_t k) {
  const BlockFormat &f = format;
  const int64_t panel = BlockFormat::kRows, groups = k / f.groupValues;
  std::string out(f.panelsBytes(n, k), '\0');
  char *dst = out.data();
  Unpacked u;
  for (int64_t p = 0; p < (n + panel - 1) / panel; ++p)
    for (int64_t g = 0; g < groups; ++g) {
      for (int64_t lane = 0; lane < panel; ++lane) {
        int64_t row = p * panel + lane;
        if (row >= n) continue; // padding: zero fields
        unpackGroup(f, reinterpret_cast<const uint8_t *>(blocks.data()) + (row * groups + g) * f.groupBytes, u);
        std::memcpy(dst + 2 * lane, &u.d, 2);
        if (f.hasMin) std::memcpy(dst + f.minOffset() + 2 * lane, &u.m, 2);
        for (int64_t j = 0; j < f.blocksPerGroup(); ++j) {
          if (f.bits == 6) {
            dst[f.subScaleOffset(j) + lane] = char(u.sc[2 * j]);
            dst[f.subScaleOffset(j) + BlockFormat::kRows + lane] = char(u.sc[2 * j + 1]);
          } else if (f.kQuant()) {
            dst[f.subScaleOffset(j) + lane] = char(u.sc[j]);
            dst[f.subMinOffset(j) + lane] = char(u.mn[j]);
          }
          const int *q = u.q + 32 * j;
          if (f.highBits() == 1) {
            uint32_t qh = 0;
            for (int i = 0; i < 32; ++i) qh |= uint32_t((q[i] >> 4) & 1) << i;
            std::memcpy(dst + f.highOffset(j) + 4 * lane, &qh, 4);
          } else if (f.highBits() == 2) {  // word h: values 16h .. 16h + 15, two bits each
            for (int h = 0; h < 2; ++h) {
              uint32_t qh = 0;
              for (int i = 0; i < 16; ++i) qh |= uint32_t((q[16 * h + i] >> 4) & 3) << (2 * i);
              std::memcpy(dst + f.highOffset(j) + 4 * BlockFormat::kRows * h + 4 * lane, &qh, 4);
            }
          }
          char *quants = dst + f.quantOffset(j);
          if (f.bits == 8) {
            for (int i = 0; i < 32; ++i) quants[i * panel + lane] = char(q[i]);
          } else {
            for (int i = 0; i < 16; ++i)
              quants[i * panel + lane] = char((q[i] & 0xF) | ((q[i + 16] & 0xF) << 4));
          }
        }
      }
      dst += f.panelGroupBytes();
    }
  return out;
}

} // namespace mvc
