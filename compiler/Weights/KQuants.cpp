//===- KQuants.cpp - ggml's k-quant reference quantizers ------------------===//
#include "compiler/Weights/KQuants.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace mvc {
namespace {

constexpr int kGroup = 256;

/// Round to nearest, ties to even, through the f32 bits as ggml's nearest_int does: adding
/// 1.5 * 2^23 leaves the rounded integer in the low mantissa bits (exact for |v| < 2^22;
/// larger values give the same bits ggml computes, then clamped by every caller).
int nearestInt(float v) {
  float biased = v + 12582912.0f;
  int32_t bits;
  std::memcpy(&bits, &biased, 4);
  return (bits & 0x007fffff) - 0x00400000;
}

void appendF16(std::string &out, float v) {
  _Float16 h = static_cast<_Float16>(v);  // round to nearest even, as FP32_TO_FP16
  out.append(reinterpret_cast<const char *>(&h), 2);
}

float f16Round(float v) { return float(static_cast<_Float16>(v)); }

/// The scale and min (returned negated in `negMin`, >= 0) of n values at levels 0..nmax
/// minimizing sum w (scale·l + min − x)²: the range's own scale, then nstep + 1 candidate
/// scales (nmax + rmin + rdelta·i over the range), each with the least-squares scale and
/// min for its levels (min clamped to <= 0). `levels` receives the best levels.
float searchScaleMin(int n, int nmax, const float *x, const float *w, uint8_t *levels,
                     float *negMin, float rmin, float rdelta, int nstep) {
  float lo = x[0], hi = x[0], sumW = w[0], sumX = w[0] * x[0];
  for (int i = 1; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
    sumW += w[i];
    sumX += w[i] * x[i];
  }
  if (lo > 0) lo = 0;
  if (hi == lo) {
    std::fill(levels, levels + n, 0);
    *negMin = -lo;
    return 0.0f;
  }
  float iscale = float(nmax) / (hi - lo);
  float scale = 1.0f / iscale;
  float bestError = 0;
  for (int i = 0; i < n; ++i) {
    levels[i] = uint8_t(std::clamp(nearestInt(iscale * (x[i] - lo)), 0, nmax));
    float diff = scale * float(levels[i]) + lo - x[i];
    bestError += w[i] * (diff * diff);
  }
  uint8_t trial[32];
  for (int step = 0; step <= nstep; ++step) {
    iscale = (rmin + rdelta * float(step) + float(nmax)) / (hi - lo);
    float sumL = 0, sumL2 = 0, sumXL = 0;
    for (int i = 0; i < n; ++i) {
      int l = std::clamp(nearestInt(iscale * (x[i] - lo)), 0, nmax);
      trial[i] = uint8_t(l);
      sumL += w[i] * float(l);
      sumL2 += w[i] * float(l) * float(l);
      sumXL += w[i] * float(l) * x[i];
    }
    float det = sumW * sumL2 - sumL * sumL;
    if (!(det > 0)) continue;
    float thisScale = (sumW * sumXL - sumX * sumL) / det;
    float thisMin = (sumL2 * sumX - sumL * sumXL) / det;
    if (thisMin > 0) {
      thisMin = 0;
      thisScale = sumXL / sumL2;
    }
    float error = 0;
    for (int i = 0; i < n; ++i) {
      float diff = thisScale * float(trial[i]) + thisMin - x[i];
      error += w[i] * (diff * diff);
    }
    if (error < bestError) {
      std::copy(trial, trial + n, levels);
      bestError = error;
      scale = thisScale;
      lo = thisMin;
    }
  }
  *negMin = -lo;
  return scale;
}

/// q4_k (nmax 15) and q5_k (nmax 31): 8 blocks of 32 under one f16 d and dmin, each with
/// 6-bit sc and m (value = d·sc·q − dmin·m).
void quantizeScaleMinGroup(int bits, const float *x, std::string &out) {
  const int nmax = (1 << bits) - 1;
  const float rmin = bits == 4 ? -1.0f : -0.5f;
  const int nstep = bits == 4 ? 20 : 15;
  uint8_t levels[kGroup];
  float scales[8], mins[8], weights[32];
  float maxScale = 0, maxMin = 0;
  for (int j = 0; j < 8; ++j) {
    const float *xb = x + 32 * j;
    float sumX2 = 0;
    for (int i = 0; i < 32; ++i) sumX2 += xb[i] * xb[i];
    float avX = std::sqrt(sumX2 / 32.0f);
    for (int i = 0; i < 32; ++i) weights[i] = avX + std::fabs(xb[i]);
    scales[j] = searchScaleMin(32, nmax, xb, weights, levels + 32 * j, &mins[j], rmin, 0.1f, nstep);
    maxScale = std::max(maxScale, scales[j]);
    maxMin = std::max(maxMin, mins[j]);
  }
  float invScale = maxScale > 0 ? 63.0f / maxScale : 0.0f;
  float invMin = maxMin > 0 ? 63.0f / maxMin : 0.0f;
  uint8_t sc[8], mn[8], packed[12] = {};
  for (int j = 0; j < 8; ++j) {
    sc[j] = std::min<uint8_t>(63, uint8_t(nearestInt(invScale * scales[j])));
    mn[j] = std::min<uint8_t>(63, uint8_t(nearestInt(invMin * mins[j])));
    // The 12 bytes: blocks 0..3 keep sc and m in the low 6 bits of bytes j and j + 4;
    // blocks 4..7 put their low nibbles in byte j + 4 and their top 2 bits above those.
    if (j < 4) {
      packed[j] = sc[j];
      packed[j + 4] = mn[j];
    } else {
      packed[j + 4] = uint8_t((sc[j] & 0xf) | ((mn[j] & 0xf) << 4));
      packed[j - 4] |= uint8_t((sc[j] >> 4) << 6);
      packed[j] |= uint8_t((mn[j] >> 4) << 6);
    }
  }
  float d = f16Round(maxScale / 63.0f), dmin = f16Round(maxMin / 63.0f);
  for (int j = 0; j < 8; ++j) {
    float dl = d * float(sc[j]);
    if (dl == 0.0f) continue;
    float ml = dmin * float(mn[j]);
    for (int i = 0; i < 32; ++i)
      levels[32 * j + i] = uint8_t(std::clamp(nearestInt((x[32 * j + i] + ml) / dl), 0, nmax));
  }
  appendF16(out, maxScale / 63.0f);
  appendF16(out, maxMin / 63.0f);
  out.append(reinterpret_cast<const char *>(packed), 12);
  if (bits == 5) {  // bit 4 of value 64·p + i (+ 32) is bit 2p (+ 1) of high byte i
    uint8_t high[32] = {};
    for (int p = 0; p < 4; ++p)
      for (int i = 0; i < 32; ++i) {
        high[i] |= uint8_t(((levels[64 * p + i] >> 4) & 1) << (2 * p));
        high[i] |= uint8_t(((levels[64 * p + 32 + i] >> 4) & 1) << (2 * p + 1));
      }
    out.append(reinterpret_cast<const char *>(high), 32);
  }
  for (int p = 0; p < 4; ++p)  // byte i of 64 values: value i (low nibble), i + 32 (high)
    for (int i = 0; i < 32; ++i)
      out.push_back(char((levels[64 * p + i] & 0xf) | ((levels[64 * p + 32 + i] & 0xf) << 4)));
}

/// The scale of 16 values at signed levels -nmax..nmax-1 (stored + nmax in `levels`) that
/// maximizes (Σ w·x·l)² / Σ w·l² with w = x², over 19 candidate scales around the one
/// mapping the largest magnitude to -nmax.
float searchSymmetricScale(int n, int nmax, const float *x, int8_t *levels) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i)
    if (std::fabs(x[i]) > amax) amax = std::fabs(x[i]), max = x[i];
  if (amax < 1e-15f) {
    std::fill(levels, levels + n, 0);
    return 0.0f;
  }
  auto level = [&](float iscale, int i) {
    return std::clamp(nearestInt(iscale * x[i]), -nmax, nmax - 1);
  };
  auto sums = [&](float iscale, float &sumLX, float &sumL2) {
    sumLX = sumL2 = 0;
    for (int i = 0; i < n; ++i) {
      int l = level(iscale, i);
      float w = x[i] * x[i];
      sumLX += w * x[i] * float(l);
      sumL2 += w * float(l) * float(l);
    }
  };
  float iscale = -float(nmax) / max;
  float sumLX, sumL2;
  sums(iscale, sumLX, sumL2);
  for (int i = 0; i < n; ++i) levels[i] = int8_t(level(iscale, i) + nmax);
  float scale = sumL2 != 0 ? sumLX / sumL2 : 0.0f;
  float best = scale * sumLX;
  for (int step = -9; step <= 9; ++step) {
    if (step == 0) continue;
    iscale = -(float(nmax) + 0.1f * float(step)) / max;
    sums(iscale, sumLX, sumL2);
    if (sumL2 > 0 && sumLX * sumLX > best * sumL2) {
      for (int i = 0; i < n; ++i) levels[i] = int8_t(level(iscale, i) + nmax);
      scale = sumLX / sumL2;
      best = scale * sumLX;
    }
  }
  return scale;
}

/// q6_k: 16 blocks of 16 values with int8 scales under one f16 d (value = d·sc·(q − 32)).
void quantizeQ6KGroup(const float *x, std::string &out) {
  int8_t levels[kGroup];
  float scales[16];
  float maxScale = 0, maxAbsScale = 0;
  for (int b = 0; b < 16; ++b) {
    scales[b] = searchSymmetricScale(16, 32, x + 16 * b, levels + 16 * b);
    if (std::fabs(scales[b]) > maxAbsScale) maxAbsScale = std::fabs(scales[b]), maxScale = scales[b];
  }
  if (maxAbsScale < 1e-15f) {  // all zero: every byte zero
    out.append(210, '\0');
    return;
  }
  float iscale = -128.0f / maxScale;
  float d = f16Round(1.0f / iscale);
  int8_t sc[16];
  for (int b = 0; b < 16; ++b) sc[b] = int8_t(std::min(127, nearestInt(iscale * scales[b])));
  for (int b = 0; b < 16; ++b) {
    float dl = d * float(sc[b]);
    if (dl == 0.0f) continue;
    for (int i = 0; i < 16; ++i)
      levels[16 * b + i] = int8_t(std::clamp(nearestInt(x[16 * b + i] / dl), -32, 31) + 32);
  }
  // Per 128 values h: 64 bytes of low nibbles (byte i: value i | value i + 64 << 4, byte
  // 32 + i: value 32 + i | value 96 + i << 4), 32 bytes of high bit pairs (byte i: values
  // i, 32 + i, 64 + i, 96 + i at bits 0, 2, 4, 6).
  uint8_t low[128], high[64];
  for (int h = 0; h < 2; ++h) {
    const int8_t *l = levels + 128 * h;
    for (int i = 0; i < 32; ++i) {
      low[64 * h + i] = uint8_t((l[i] & 0xf) | ((l[i + 64] & 0xf) << 4));
      low[64 * h + 32 + i] = uint8_t((l[i + 32] & 0xf) | ((l[i + 96] & 0xf) << 4));
      high[32 * h + i] = uint8_t((l[i] >> 4) | ((l[i + 32] >> 4) << 2) | ((l[i + 64] >> 4) << 4) |
                                 ((l[i + 96] >> 4) << 6));
    }
  }
  out.append(reinterpret_cast<const char *>(low), 128);
  out.append(reinterpret_cast<const char *>(high), 64);
  out.append(reinterpret_cast<const char *>(sc), 16);
  appendF16(out, 1.0f / iscale);
}

} // namespace

void quantizeKQuantGroup(const BlockFormat &format, const float *x, std::string &out) {
  if (format.bits == 6)
    quantizeQ6KGroup(x, out);
  else
    quantizeScaleMinGroup(format.bits, x, out);
}

} // namespace mvc
