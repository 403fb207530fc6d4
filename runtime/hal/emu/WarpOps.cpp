//===- WarpOps.cpp - the mvc_emu_* functions emulated kernels call --------===//
//
// Each collective records this lane's operands and lets BlockScheduler gather the warp;
// the completion functions here compute every lane's result at once, following the PTX
// ISA's definitions (shfl.sync's lane arithmetic, the mma.sync fragment layouts, ldmatrix's
// row distribution). Numerics of mma.sync: products are exact (bf16/f16/tf32 operands
// have at most 11 significant bits), summed in double and rounded to f32 once with C;
// tensor cores also sum exactly enough for these shapes that the difference stays within
// f32 rounding. tf32 operands ignore their 13 low mantissa bits, as the hardware does.
//
// ldmatrix rows are reported to the race checker as 16-byte reads of the lanes that give
// their addresses (lanes of one warp are ordered by the collective anyway).
//
// cp.async copies at issue: the bytes are in shared memory when the call returns, and
// commit/wait only keep count. PTX lets the copy land any time before the wait, so this
// is one legal schedule; a kernel that reads the destination before waiting is racy on
// a GPU and not caught here.
//
//===----------------------------------------------------------------------===//
#include <cmath>
#include <cstring>

#include "absl/strings/str_format.h"
#include "runtime/hal/emu/BlockScheduler.h"
#include "runtime/hal/emu/EmuRuntime.h"

using mvc::emu::BlockScheduler;
using mvc::emu::Collective;
using mvc::emu::LaneSlot;
using mvc::emu::WarpState;

namespace {

BlockScheduler &scheduler() { return *BlockScheduler::current(); }

float bitsToFloat(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, 4);
  return value;
}

float bf16ToFloat(uint16_t bits) { return bitsToFloat(uint32_t{bits} << 16); }

float f16ToFloat(uint16_t bits) {
  uint32_t sign = uint32_t{bits} >> 15, exponent = bits >> 10 & 31, mantissa = bits & 1023;
  float magnitude;
  if (exponent == 0) magnitude = std::ldexp(static_cast<float>(mantissa), -24);
  else if (exponent == 31) magnitude = mantissa ? NAN : INFINITY;
  else magnitude = std::ldexp(static_cast<float>(mantissa | 1024), static_cast<int>(exponent) - 25);
  return sign ? -magnitude : magnitude;
}

/// Is [address, address + bytes) inside the running block's shared memory?
bool inShared(const void *address, size_t bytes) {
  auto *p = static_cast<const uint8_t *>(address);
  uint8_t *base = scheduler().sharedBase();
  return p >= base && bytes <= scheduler().sharedBytes() &&
         static_cast<size_t>(p - base) <= scheduler().sharedBytes() - bytes;
}

void completeNothing(WarpState &, uint32_t) {}

void completeShfl(WarpState &warp, uint32_t present) {
  for (uint32_t lane = 0; lane < 32; ++lane) {
    if (!(present >> lane & 1)) continue;
    const LaneSlot &slot = warp.lanes[lane];
    int32_t b = static_cast<int32_t>(slot.in[1] & 31);
    uint32_t c = slot.in[2];
    int32_t segmask = static_cast<int32_t>(c >> 8 & 31);
    int32_t clamp = static_cast<int32_t>(c & 31);
    int32_t self = static_cast<int32_t>(lane);
    int32_t maxLane = (self & segmask) | (clamp & ~segmask);
    int32_t minLane = self & segmask;
    int32_t source = self;
    bool valid = false;
    switch (warp.kind) {
    case MVC_EMU_SHFL_UP: source = self - b; valid = source >= maxLane; break;
    case MVC_EMU_SHFL_DOWN: source = self + b; valid = source <= maxLane; break;
    case MVC_EMU_SHFL_BFLY: source = self ^ b; valid = source <= maxLane; break;
    case MVC_EMU_SHFL_IDX: source = minLane | (b & ~segmask); valid = source <= maxLane; break;
    }
    if (!valid) source = self;
    // A source lane outside the participants is undefined in PTX: this lane's own value.
    uint32_t from = present >> source & 1 ? static_cast<uint32_t>(source) : lane;
    warp.lanes[lane].out[0] = warp.lanes[from].in[0];
    warp.lanes[lane].out[1] = valid;
  }
}

void completeVote(WarpState &warp, uint32_t present) {
  uint32_t ballot = 0;
  for (uint32_t lane = 0; lane < 32; ++lane)
    if (present >> lane & 1 && warp.lanes[lane].in[0]) ballot |= 1u << lane;
  uint32_t result = 0;
  switch (warp.kind) {
  case MVC_EMU_VOTE_ANY: result = ballot != 0; break;
  case MVC_EMU_VOTE_ALL: result = ballot == present; break;
  case MVC_EMU_VOTE_BALLOT: result = ballot; break;
  case MVC_EMU_VOTE_UNI: result = ballot == 0 || ballot == present; break;
  }
  for (uint32_t lane = 0; lane < 32; ++lane) warp.lanes[lane].out[0] = result;
}

/// A 16x8 D = A(16xK) B(Kx8) + C tile of one warp, A and B gathered from the fragments
/// (as doubles: every product is exact in double).
struct MmaTile {
  double a[16][16], b[16][8];
  float c[16][8];
};

/// One 16-bit operand element of a packed register: low half first.
uint16_t half(uint32_t reg, int which) { return static_cast<uint16_t>(reg >> (16 * which)); }

void completeMma(WarpState &warp, uint32_t present) {
  if (present != ~0u)
    scheduler().fail(absl::StrFormat("mma.sync needs all 32 lanes of the warp, lanes 0x%08x came",
                                     present));
  MmaTile tile;
  int k = warp.kind == MVC_EMU_MMA_M16N8K16_BF16 || warp.kind == MVC_EMU_MMA_M16N8K16_F16 ? 16 : 8;
  auto element = [&](uint16_t bits) {
    return warp.kind == MVC_EMU_MMA_M16N8K16_F16 ? f16ToFloat(bits) : bf16ToFloat(bits);
  };
  for (int lane = 0; lane < 32; ++lane) {
    const uint32_t *in = warp.lanes[lane].in;
    const uint32_t *a = in, *b = in + 4;
    int group = lane >> 2, t = lane & 3;
    if (warp.kind == MVC_EMU_MMA_M16N8K8_TF32) {
      // A: a0 (g, t), a1 (g+8, t), a2 (g, t+4), a3 (g+8, t+4); B: b0 (t, g), b1 (t+4, g).
      auto tf32 = [](uint32_t bits) { return bitsToFloat(bits & 0xffffe000u); };
      tile.a[group][t] = tf32(a[0]);
      tile.a[group + 8][t] = tf32(a[1]);
      tile.a[group][t + 4] = tf32(a[2]);
      tile.a[group + 8][t + 4] = tf32(a[3]);
      tile.b[t][group] = tf32(b[0]);
      tile.b[t + 4][group] = tf32(b[1]);
    } else {
      // 16-bit A: register r holds (row g or g+8, cols 2t, 2t+1, +8 for r >= 2);
      // B: register r holds (k = 2t, 2t+1, +8 for r = 1; n = g).
      int aRegs = k == 16 ? 4 : 2;
      for (int r = 0; r < aRegs; ++r)
        for (int h = 0; h < 2; ++h)
          tile.a[group + 8 * (r & 1)][2 * t + h + 8 * (r >> 1)] = element(half(a[r], h));
      for (int r = 0; r < k / 8; ++r)
        for (int h = 0; h < 2; ++h) tile.b[2 * t + h + 8 * r][group] = element(half(b[r], h));
    }
    // C/D: c0 (g, 2t), c1 (g, 2t+1), c2 (g+8, 2t), c3 (g+8, 2t+1).
    const float *c = reinterpret_cast<const float *>(in + 6);
    for (int i = 0; i < 4; ++i) tile.c[group + 8 * (i >> 1)][2 * t + (i & 1)] = c[i];
  }
  // Each sum runs over k in order, then adds C: k outermost per row so the 8 columns of a
  // row accumulate side by side (vectorized), in the same order as one sum at a time.
  double sums[16][8] = {};
  for (int row = 0; row < 16; ++row)
    for (int kk = 0; kk < k; ++kk)
      for (int col = 0; col < 8; ++col) sums[row][col] += tile.a[row][kk] * tile.b[kk][col];
  for (int lane = 0; lane < 32; ++lane) {
    int group = lane >> 2, t = lane & 3;
    for (int i = 0; i < 4; ++i) {
      int row = group + 8 * (i >> 1), col = 2 * t + (i & 1);
      float d = static_cast<float>(sums[row][col] + double(tile.c[row][col]));
      std::memcpy(&warp.lanes[lane].out[i], &d, 4);
    }
  }
}

void completeLdmatrix(WarpState &warp, uint32_t present) {
  if (present != ~0u)
    scheduler().fail(absl::StrFormat("ldmatrix needs all 32 lanes of the warp, lanes 0x%08x came",
                                     present));
  uint32_t num = warp.kind & 7;
  bool trans = warp.kind >> 4 & 1;
  // Matrix i's 8 rows come from the addresses of lanes 8i..8i+7, 16 bytes each.
  for (uint32_t source = 0; source < 8 * num; ++source)
    if (!inShared(warp.lanes[source].address, 16) ||
        reinterpret_cast<uintptr_t>(warp.lanes[source].address) % 16)
      scheduler().fail(absl::StrFormat(
          "ldmatrix: row address of lane %u is not a 16-byte aligned row of shared memory", source));
  auto row = [&](uint32_t matrix, uint32_t r) {
    return static_cast<const uint8_t *>(warp.lanes[8 * matrix + r].address);
  };
  for (uint32_t lane = 0; lane < 32; ++lane)
    for (uint32_t i = 0; i < num; ++i) {
      uint32_t value;
      if (!trans) {
        std::memcpy(&value, row(i, lane / 4) + 4 * (lane % 4), 4);
      } else {
        uint16_t lo, hi;
        std::memcpy(&lo, row(i, 2 * (lane % 4)) + 2 * (lane / 4), 2);
        std::memcpy(&hi, row(i, 2 * (lane % 4) + 1) + 2 * (lane / 4), 2);
        value = lo | uint32_t{hi} << 16;
      }
      warp.lanes[lane].out[i] = value;
    }
}

LaneSlot slotWith(std::initializer_list<uint32_t> in, const void *address = nullptr) {
  LaneSlot slot{};
  std::copy(in.begin(), in.end(), slot.in);
  slot.address = address;
  return slot;
}

} // namespace

extern "C" {

uint32_t mvc_emu_sreg(uint32_t which) { return scheduler().sreg(which); }

uint32_t mvc_emu_barrier(int32_t id, int32_t numThreads, int32_t reduction, uint32_t pred) {
  return scheduler().barrier(id, numThreads, reduction, pred);
}

void mvc_emu_warp_sync(uint32_t mask) {
  scheduler().collective(Collective::WarpSync, 0, mask, LaneSlot{}, completeNothing);
}

uint64_t mvc_emu_shfl(uint32_t kind, uint32_t mask, uint32_t value, uint32_t offset,
                      uint32_t clamp) {
  const LaneSlot &slot = scheduler().collective(Collective::Shfl, kind, mask,
                                                slotWith({value, offset, clamp}), completeShfl);
  return slot.out[0] | uint64_t{slot.out[1]} << 32;
}

uint32_t mvc_emu_vote(uint32_t kind, uint32_t mask, uint32_t pred) {
  return scheduler().collective(Collective::Vote, kind, mask, slotWith({pred != 0}), completeVote)
      .out[0];
}

void mvc_emu_mma(uint32_t shape, const uint32_t *a, const uint32_t *b, const float *c, float *d) {
  if (shape > MVC_EMU_MMA_M16N8K8_BF16)
    scheduler().fail(absl::StrFormat("mma.sync: unknown shape code %u", shape));
  LaneSlot mine{};
  int aRegs = shape == MVC_EMU_MMA_M16N8K8_BF16 ? 2 : 4;
  int bRegs = shape == MVC_EMU_MMA_M16N8K8_BF16 ? 1 : 2;
  std::memcpy(mine.in, a, 4 * aRegs);
  std::memcpy(mine.in + 4, b, 4 * bRegs);
  std::memcpy(mine.in + 6, c, 16);
  const LaneSlot &slot = scheduler().collective(Collective::Mma, shape, ~0u, mine, completeMma);
  std::memcpy(d, slot.out, 16);
}

void mvc_emu_ldmatrix(const void *row, uint32_t num, uint32_t trans, uint32_t *out) {
  if (num != 1 && num != 2 && num != 4)
    scheduler().fail(absl::StrFormat("ldmatrix: %u matrices (expected 1, 2 or 4)", num));
  // The lanes that give a row read it: the race checker sees the warp's 16-byte reads
  // (a row outside shared memory is the collective's error, naming the lane).
  if (scheduler().sreg(MVC_EMU_SREG_LANEID) < 8 * num && inShared(row, 16))
    scheduler().checkShared(row, 16, MVC_EMU_ACCESS_READ);
  const LaneSlot &slot = scheduler().collective(Collective::Ldmatrix, num | (trans ? 16 : 0), ~0u,
                                                slotWith({}, row), completeLdmatrix);
  std::memcpy(out, slot.out, 4 * num);
}

void mvc_emu_cp_async(void *dst, const void *src, uint32_t size, uint32_t srcSize) {
  if (size != 4 && size != 8 && size != 16)
    scheduler().fail(absl::StrFormat("cp.async of %u bytes (expected 4, 8 or 16)", size));
  if (!inShared(dst, size) || reinterpret_cast<uintptr_t>(dst) % size)
    scheduler().fail(absl::StrFormat(
        "cp.async destination %p is not a %u-byte aligned location in shared memory", dst, size));
  scheduler().checkShared(dst, size, MVC_EMU_ACCESS_WRITE);
  uint32_t copied = srcSize < size ? srcSize : size;
  std::memcpy(dst, src, copied);
  std::memset(static_cast<uint8_t *>(dst) + copied, 0, size - copied);
}

void mvc_emu_cp_async_commit(void) {}

void mvc_emu_cp_async_wait(uint32_t) {}

void *mvc_emu_shared_base(void) { return scheduler().sharedBase(); }

void mvc_emu_shared_access(const void *address, uint32_t bytes, uint32_t kind) {
  scheduler().checkShared(address, bytes, kind);
}

uint16_t mvc_emu_f32_to_bf16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>(bits >> 16 | 0x40);
  bits += 0x7fff + (bits >> 16 & 1);
  return static_cast<uint16_t>(bits >> 16);
}

} // extern "C"

namespace mvc::emu {

void *const *runtimeTable() {
  static void *table[] = {
#define MVC_EMU_SLOT(name) reinterpret_cast<void *>(&mvc_emu_##name),
      MVC_EMU_FUNCTIONS(MVC_EMU_SLOT)
#undef MVC_EMU_SLOT
  };
  // Checks off: the kernels skip the call (a void slot may be null, EmuAbi.h).
  static bool adjusted = [] {
#define MVC_EMU_INDEX(name) SLOT_##name,
    enum { MVC_EMU_FUNCTIONS(MVC_EMU_INDEX) };
#undef MVC_EMU_INDEX
    if (sharedCheckMode() == SharedCheck::Off) table[SLOT_shared_access] = nullptr;
    return true;
  }();
  (void)adjusted;
  return table;
}

} // namespace mvc::emu
