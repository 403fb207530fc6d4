//===- GgufDequant.cpp - ggml block formats to f32 ------------------------===//
//
// Block layouts (ggml-common.h), all little-endian, `d`/`m`/`dmin` are f16:
//   Q4_0  d, qs[16]                  value j: nibble j of qs (low nibbles first) - 8, times d
//   Q4_1  d, m, qs[16]               d * nibble + m
//   Q5_0  d, qh(u32), qs[16]         5-bit q = nibble | bit j of qh << 4, minus 16, times d
//   Q5_1  d, m, qh(u32), qs[16]      d * q + m
//   Q8_0  d, qs[32] (int8)           d * q
// K-quants, 256 values in 16 or 8 sub-blocks with their own scales:
//   Q2_K  scales[16] (4-bit scale | 4-bit min << 4), qs[64], d, dmin
//   Q3_K  hmask[32], qs[64], scales[12] (16 six-bit scales, biased by 32), d
//   Q4_K  d, dmin, scales[12] (8 six-bit scales and 8 six-bit mins), qs[128]
//   Q5_K  d, dmin, scales[12], qh[32], qs[128]
//   Q6_K  ql[128], qh[64], scales[16] (int8), d
// In the K-quants the low bits of value e come from byte e % 32 (or % 64) of a 32- or
// 64-byte group, shifted by how many groups of 32 values precede it in its 128-value half;
// the per-type loops below spell out each mapping.
//
//===----------------------------------------------------------------------===//
#include "runtime/weights/GgufDequant.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "runtime/weights/SafetensorsReader.h"

namespace mvc {

namespace {

constexpr int kQK = 256; // values in a K-quant super-block

float half(const uint8_t *p) { return f16ToF32(uint16_t(p[0] | (p[1] << 8))); }

void q4_0(const uint8_t *b, float *y) {
  float d = half(b);
  const uint8_t *qs = b + 2;
  for (int j = 0; j < 16; ++j) {
    y[j] = d * float(int(qs[j] & 0xF) - 8);
    y[j + 16] = d * float(int(qs[j] >> 4) - 8);
  }
}

void q4_1(const uint8_t *b, float *y) {
  float d = half(b), m = half(b + 2);
  const uint8_t *qs = b + 4;
  for (int j = 0; j < 16; ++j) {
    y[j] = d * float(qs[j] & 0xF) + m;
    y[j + 16] = d * float(qs[j] >> 4) + m;
  }
}

uint32_t u32(const uint8_t *p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

/// The 32 five-bit values of a Q5_0/Q5_1 block: nibbles of qs, fifth bit from qh.
void fiveBit(uint32_t qh, const uint8_t *qs, int *q) {
  for (int j = 0; j < 16; ++j) {
    q[j] = (qs[j] & 0xF) | int((qh >> j) & 1) << 4;
    q[j + 16] = (qs[j] >> 4) | int((qh >> (j + 16)) & 1) << 4;
  }
}

void q5_0(const uint8_t *b, float *y) {
  float d = half(b);
  int q[32];
  fiveBit(u32(b + 2), b + 6, q);
  for (int j = 0; j < 32; ++j)
    y[j] = d * float(q[j] - 16);
}

void q5_1(const uint8_t *b, float *y) {
  float d = half(b), m = half(b + 2);
  int q[32];
  fiveBit(u32(b + 4), b + 8, q);
  for (int j = 0; j < 32; ++j)
    y[j] = d * float(q[j]) + m;
}

void q8_0(const uint8_t *b, float *y) {
  float d = half(b);
  for (int j = 0; j < 32; ++j)
    y[j] = d * float(int8_t(b[2 + j]));
}

/// Bits `shift`.. of value e's byte, for layouts that store 128 values per 32 bytes as four
/// 2-bit planes: value e = 128 * half + 32 * plane + l sits in byte 32 * half + l.
int twoBits(const uint8_t *qs, int e) {
  int halfIndex = e / 128, plane = (e % 128) / 32, l = e % 32;
  return (qs[32 * halfIndex + l] >> (2 * plane)) & 3;
}

void q2_k(const uint8_t *b, float *y) {
  const uint8_t *scales = b, *qs = b + 16;
  float d = half(b + 80), dmin = half(b + 82);
  for (int sub = 0; sub < 16; ++sub) {
    float dl = d * float(scales[sub] & 0xF);
    float ml = dmin * float(scales[sub] >> 4);
    for (int i = 0; i < 16; ++i) {
      int e = 16 * sub + i;
      y[e] = dl * float(twoBits(qs, e)) - ml;
    }
  }
}

void q3_k(const uint8_t *b, float *y) {
  const uint8_t *hmask = b, *qs = b + 32, *packed = b + 96;
  float d = half(b + 108);
  for (int sub = 0; sub < 16; ++sub) {
    // Low 4 bits: nibble (sub / 8) of byte sub % 8; high 2 bits: bits 2 * (sub / 4) of
    // byte 8 + sub % 4.
    int low = (packed[sub % 8] >> (4 * (sub / 8))) & 0xF;
    int high = (packed[8 + sub % 4] >> (2 * (sub / 4))) & 3;
    float dl = d * float((low | high << 4) - 32);
    for (int i = 0; i < 16; ++i) {
      int e = 16 * sub + i;
      // The high bit (bit e / 32 of hmask[e % 32]) set means no offset; clear means -4.
      int h = (hmask[e % 32] >> (e / 32)) & 1;
      y[e] = dl * float(twoBits(qs, e) - (h ? 0 : 4));
    }
  }
}

/// The 8 six-bit scales and mins of Q4_K/Q5_K: bytes 0-3 hold scales 0-3 (low 6 bits),
/// 4-7 mins 0-3; bytes 8-11 the low nibbles of scales/mins 4-7, whose top 2 bits are the
/// top bits of bytes 0-3 (scales) and 4-7 (mins).
void scaleMinK4(const uint8_t *s, int sub, int &scale, int &min) {
  if (sub < 4) {
    scale = s[sub] & 63;
    min = s[sub + 4] & 63;
  } else {
    scale = (s[sub + 4] & 0xF) | ((s[sub - 4] >> 6) << 4);
    min = (s[sub + 4] >> 4) | ((s[sub] >> 6) << 4);
  }
}

/// Q4_K and Q5_K: 8 sub-blocks of 32; value e's low nibble is nibble (e % 64) / 32 of byte
/// 32 * (e / 64) + e % 32 of qs; Q5_K's fifth bit is bit e / 32 of qh[e % 32].
void kQuant45(const uint8_t *b, const uint8_t *qh, const uint8_t *qs, float *y) {
  float d = half(b), dmin = half(b + 2);
  const uint8_t *scales = b + 4;
  for (int sub = 0; sub < 8; ++sub) {
    int scale, min;
    scaleMinK4(scales, sub, scale, min);
    float dl = d * float(scale), ml = dmin * float(min);
    for (int l = 0; l < 32; ++l) {
      int e = 32 * sub + l;
      int q = (qs[32 * (e / 64) + l] >> (4 * (sub % 2))) & 0xF;
      if (qh)
        q |= ((qh[l] >> sub) & 1) << 4;
      y[e] = dl * float(q) - ml;
    }
  }
}

void q4_k(const uint8_t *b, float *y) { kQuant45(b, nullptr, b + 16, y); }
void q5_k(const uint8_t *b, float *y) { kQuant45(b, b + 16, b + 48, y); }

void q6_k(const uint8_t *b, float *y) {
  const uint8_t *ql = b, *qh = b + 128;
  const int8_t *scales = reinterpret_cast<const int8_t *>(b + 192);
  float d = half(b + 208);
  for (int e = 0; e < kQK; ++e) {
    // Value e = 128 * g + 32 * p + l: low nibble (p / 2) of ql[64 * g + 32 * (p % 2) + l],
    // high 2 bits p of qh[32 * g + l].
    int g = e / 128, p = (e % 128) / 32, l = e % 32;
    int low = (ql[64 * g + 32 * (p % 2) + l] >> (4 * (p / 2))) & 0xF;
    int high = (qh[32 * g + l] >> (2 * p)) & 3;
    float dl = d * float(scales[e / 16]);
    y[e] = dl * float((low | high << 4) - 32);
  }
}

using BlockFn = void (*)(const uint8_t *, float *);

BlockFn blockFunction(GgmlType type) {
  switch (type) {
  case GgmlType::Q4_0: return q4_0;
  case GgmlType::Q4_1: return q4_1;
  case GgmlType::Q5_0: return q5_0;
  case GgmlType::Q5_1: return q5_1;
  case GgmlType::Q8_0: return q8_0;
  case GgmlType::Q2_K: return q2_k;
  case GgmlType::Q3_K: return q3_k;
  case GgmlType::Q4_K: return q4_k;
  case GgmlType::Q5_K: return q5_k;
  case GgmlType::Q6_K: return q6_k;
  case GgmlType::F32: return [](const uint8_t *b, float *y) { std::memcpy(y, b, 4); };
  case GgmlType::F16: return [](const uint8_t *b, float *y) { *y = half(b); };
  case GgmlType::BF16:
    return [](const uint8_t *b, float *y) { *y = bf16ToF32(uint16_t(b[0] | (b[1] << 8))); };
  default: return nullptr;
  }
}

} // namespace

bool canDequantize(GgmlType type) { return blockFunction(type) != nullptr; }

absl::Status dequantize(GgmlType type, absl::Span<const uint8_t> src, int64_t rowLength,
                        absl::Span<float> dst) {
  BlockFn fn = blockFunction(type);
  const GgmlTypeTraits *traits = ggmlTypeTraits(static_cast<uint32_t>(type));
  if (!fn || !traits)
    return absl::UnimplementedError(absl::StrCat(
        "unsupported GGUF tensor type ", ggmlTypeName(type),
        " (mvc dequantizes F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K-Q6_K)"));
  if (rowLength <= 0 || rowLength % traits->blockElements != 0)
    return absl::InvalidArgumentError(absl::StrCat("rows of ", rowLength,
                                                   " values are not a multiple of the ",
                                                   traits->name, " block of ",
                                                   traits->blockElements));
  uint64_t values = dst.size();
  uint64_t blocks = values / traits->blockElements;
  if (values % rowLength != 0 || src.size() / traits->blockBytes != blocks ||
      src.size() % traits->blockBytes != 0)
    return absl::InvalidArgumentError(absl::StrCat(
        src.size(), " bytes of ", traits->name, " do not hold ", values, " values in rows of ",
        rowLength));
  for (uint64_t i = 0; i < blocks; ++i)
    fn(src.data() + i * traits->blockBytes, dst.data() + i * traits->blockElements);
  return absl::OkStatus();
}

} // namespace mvc
