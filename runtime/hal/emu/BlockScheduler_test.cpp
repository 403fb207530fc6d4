// The emulator's semantics, checked with kernels written in C++ against the mvc_emu_*
// functions (what compiled kernels call): barriers, shuffles, votes, mma.sync and ldmatrix
// fragments, cp.async, and the errors for deadlocks and misuse.
#include "runtime/hal/emu/BlockScheduler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "runtime/hal/emu/EmuRuntime.h"

namespace mvc::emu {
namespace {

template <typename T> T arg(void **params, int i) { return *static_cast<T *>(params[i]); }
uint32_t tid() { return mvc_emu_sreg(MVC_EMU_SREG_TID_X); }
uint32_t lane() { return mvc_emu_sreg(MVC_EMU_SREG_LANEID); }

/// Runs one block of `threads` threads of `kernel` with `args` (pointers to the values).
std::string runBlock(EmuKernelEntry kernel, uint32_t threads, std::vector<void *> args,
                     uint32_t sharedBytes = 0) {
  static BlockScheduler scheduler;
  EmuLaunch launch;
  launch.entry = kernel;
  launch.kernelName = "test";
  launch.block = {threads, 1, 1};
  launch.sharedBytes = sharedBytes;
  launch.params = args.data();
  return scheduler.run(launch, {0, 0, 0});
}

void rotateThroughShared(void **params) {
  auto *out = arg<uint32_t *>(params, 0);
  auto *shared = static_cast<uint32_t *>(mvc_emu_shared_base());
  uint32_t n = mvc_emu_sreg(MVC_EMU_SREG_NTID_X);
  shared[tid()] = tid() * 3;
  mvc_emu_barrier(0, -1, MVC_EMU_BARRIER_NONE, 0);
  out[tid()] = shared[(tid() + 1) % n];
}

TEST(BlockScheduler, BarrierOrdersSharedMemory) {
  std::vector<uint32_t> out(128);
  uint32_t *outPtr = out.data();
  ASSERT_EQ(runBlock(rotateThroughShared, 128, {&outPtr}, 128 * 4), "");
  for (uint32_t i = 0; i < 128; ++i) EXPECT_EQ(out[i], (i + 1) % 128 * 3) << i;
}

void barrierAfterEarlyExit(void **params) {
  auto *out = arg<uint32_t *>(params, 0);
  if (tid() % 2) return; // exited threads no longer count at bar.sync
  auto *shared = static_cast<uint32_t *>(mvc_emu_shared_base());
  shared[tid()] = tid();
  uint32_t count = mvc_emu_barrier(0, -1, MVC_EMU_BARRIER_POPC, tid() < 10);
  out[tid()] = shared[(tid() + 2) % 64] + 1000 * count;
}

TEST(BlockScheduler, ExitedThreadsDoNotHoldABarrier) {
  std::vector<uint32_t> out(64, 0);
  uint32_t *outPtr = out.data();
  ASSERT_EQ(runBlock(barrierAfterEarlyExit, 64, {&outPtr}, 64 * 4), "");
  for (uint32_t i = 0; i < 64; i += 2) EXPECT_EQ(out[i], (i + 2) % 64 + 5000) << i;
}

void shuffles(void **params) {
  auto *out = arg<uint32_t *>(params, 0);
  uint32_t n = mvc_emu_sreg(MVC_EMU_SREG_NTID_X), t = tid();
  uint32_t value = t * 10 + 7;
  uint32_t *row = out + 0 * n;
  row[t] = static_cast<uint32_t>(mvc_emu_shfl(MVC_EMU_SHFL_BFLY, ~0u, value, 5, 31));
  row = out + 1 * n;
  row[t] = static_cast<uint32_t>(mvc_emu_shfl(MVC_EMU_SHFL_IDX, ~0u, value, 9, 31));
  row = out + 2 * n;
  uint64_t down = mvc_emu_shfl(MVC_EMU_SHFL_DOWN, ~0u, value, 3, 31);
  row[t] = static_cast<uint32_t>(down) + 100000 * static_cast<uint32_t>(down >> 32);
  row = out + 3 * n;
  // width 8, as __shfl_up_sync(mask, v, 2, 8) encodes it
  uint64_t up = mvc_emu_shfl(MVC_EMU_SHFL_UP, ~0u, value, 2, (32 - 8) << 8);
  row[t] = static_cast<uint32_t>(up) + 100000 * static_cast<uint32_t>(up >> 32);
  row = out + 4 * n;
  row[t] = mvc_emu_vote(MVC_EMU_VOTE_BALLOT, ~0u, lane() % 3 == 0 || t >= 32);
  row = out + 5 * n;
  row[t] = mvc_emu_vote(MVC_EMU_VOTE_ALL, ~0u, t >= 32) + 2 * mvc_emu_vote(MVC_EMU_VOTE_ANY, ~0u, t == 3);
}

TEST(BlockScheduler, ShufflesAndVotesFollowPtx) {
  const uint32_t n = 64;
  std::vector<uint32_t> out(6 * n);
  uint32_t *outPtr = out.data();
  ASSERT_EQ(runBlock(shuffles, n, {&outPtr}), "");
  for (uint32_t t = 0; t < n; ++t) {
    uint32_t warp = t / 32 * 32, l = t % 32;
    auto value = [&](uint32_t srcLane) { return (warp + srcLane) * 10 + 7; };
    EXPECT_EQ(out[t], value(l ^ 5)) << t;
    EXPECT_EQ(out[n + t], value(9)) << t;
    EXPECT_EQ(out[2 * n + t], l + 3 <= 31 ? value(l + 3) + 100000 : value(l)) << t;
    uint32_t segmentStart = l & ~7u;
    EXPECT_EQ(out[3 * n + t], l >= segmentStart + 2 ? value(l - 2) + 100000 : value(l)) << t;
    EXPECT_EQ(out[4 * n + t], warp ? ~0u : 0x49249249u) << t;
    EXPECT_EQ(out[5 * n + t], warp ? 1u : 2u) << t;
  }
}

// --- mma.sync ------------------------------------------------------------------------

uint16_t toBf16(float value) { return mvc_emu_f32_to_bf16(value); }
float fromBf16(uint16_t bits) {
  uint32_t wide = uint32_t{bits} << 16;
  float value;
  std::memcpy(&value, &wide, 4);
  return value;
}

/// A (16x16, row major) and Bt (8x16: B column major) bf16, C 16x8 f32, D 16x8.
struct Bf16Tile {
  uint16_t a[16 * 16], bt[8 * 16], b[16 * 8];
  float c[16 * 8], d[16 * 8];
};

/// Loads the fragments with ldmatrix from shared memory, as CUTLASS-style kernels do:
/// A with x4 (lane l gives row l % 16, column 8 * (l / 16)); B with x2, either from Bt
/// rows or, transposed, from B's rows.
void mmaBf16ViaLdmatrix(void **params) {
  auto *tile = arg<Bf16Tile *>(params, 0);
  bool transposedB = arg<uint32_t>(params, 1);
  auto *shared = static_cast<uint16_t *>(mvc_emu_shared_base());
  uint16_t *sa = shared, *sb = shared + 256;
  for (uint32_t i = lane(); i < 256; i += 32) sa[i] = tile->a[i];
  for (uint32_t i = lane(); i < 128; i += 32) sb[i] = transposedB ? tile->b[i] : tile->bt[i];
  mvc_emu_warp_sync(~0u);
  uint32_t a[4], b[2], l = lane();
  mvc_emu_ldmatrix(sa + (l % 16) * 16 + (l / 16) * 8, 4, 0, a);
  if (transposedB) mvc_emu_ldmatrix(sb + (l % 16) * 8, 2, 1, b);
  else mvc_emu_ldmatrix(sb + (l % 8) * 16 + (l / 8 % 2) * 8, 2, 0, b);
  uint32_t g = l / 4, t = l % 4;
  float c[4], d[4];
  for (int i = 0; i < 4; ++i) c[i] = tile->c[(g + 8 * (i / 2)) * 8 + 2 * t + i % 2];
  mvc_emu_mma(MVC_EMU_MMA_M16N8K16_BF16, a, b, c, d);
  for (int i = 0; i < 4; ++i) tile->d[(g + 8 * (i / 2)) * 8 + 2 * t + i % 2] = d[i];
}

TEST(BlockScheduler, MmaBf16MatchesAHostMatmul) {
  for (uint32_t transposedB : {0u, 1u}) {
    Bf16Tile tile;
    for (int i = 0; i < 256; ++i) tile.a[i] = toBf16(std::sin(0.37f * i) * 2);
    for (int k = 0; k < 16; ++k)
      for (int n = 0; n < 8; ++n) {
        tile.b[k * 8 + n] = toBf16(std::cos(0.11f * (k * 8 + n)) - 0.25f);
        tile.bt[n * 16 + k] = tile.b[k * 8 + n];
      }
    for (int i = 0; i < 128; ++i) tile.c[i] = 0.5f * i - 7;
    Bf16Tile *tilePtr = &tile;
    ASSERT_EQ(runBlock(mmaBf16ViaLdmatrix, 32, {&tilePtr, &transposedB}, 1024), "");
    for (int m = 0; m < 16; ++m)
      for (int n = 0; n < 8; ++n) {
        double expected = tile.c[m * 8 + n];
        for (int k = 0; k < 16; ++k)
          expected += double(fromBf16(tile.a[m * 16 + k])) * fromBf16(tile.b[k * 8 + n]);
        EXPECT_NEAR(tile.d[m * 8 + n], expected, 1e-5 * std::fabs(expected) + 1e-6)
            << "m " << m << " n " << n << " transposedB " << transposedB;
      }
  }
}

struct Tf32Tile {
  float a[16 * 8], b[8 * 8], c[16 * 8], d[16 * 8];
};

/// tf32 fragments straight from global memory, laid out as the PTX ISA's m16n8k8 .tf32
/// figures: a0 (g, t), a1 (g + 8, t), a2 (g, t + 4), a3 (g + 8, t + 4); b0 (t, g),
/// b1 (t + 4, g).
void mmaTf32(void **params) {
  auto *tile = arg<Tf32Tile *>(params, 0);
  uint32_t l = lane(), g = l / 4, t = l % 4;
  auto bits = [](float value) {
    uint32_t word;
    std::memcpy(&word, &value, 4);
    return word;
  };
  uint32_t a[4] = {bits(tile->a[g * 8 + t]), bits(tile->a[(g + 8) * 8 + t]),
                   bits(tile->a[g * 8 + t + 4]), bits(tile->a[(g + 8) * 8 + t + 4])};
  uint32_t b[2] = {bits(tile->b[t * 8 + g]), bits(tile->b[(t + 4) * 8 + g])};
  float c[4], d[4];
  for (int i = 0; i < 4; ++i) c[i] = tile->c[(g + 8 * (i / 2)) * 8 + 2 * t + i % 2];
  mvc_emu_mma(MVC_EMU_MMA_M16N8K8_TF32, a, b, c, d);
  for (int i = 0; i < 4; ++i) tile->d[(g + 8 * (i / 2)) * 8 + 2 * t + i % 2] = d[i];
}

TEST(BlockScheduler, MmaTf32MatchesAHostMatmul) {
  Tf32Tile tile;
  auto truncate = [](float value) {
    uint32_t word;
    std::memcpy(&word, &value, 4);
    word &= 0xffffe000u;
    std::memcpy(&value, &word, 4);
    return value;
  };
  for (int i = 0; i < 128; ++i) tile.a[i] = std::sin(0.3f * i + 1);
  for (int i = 0; i < 64; ++i) tile.b[i] = std::cos(0.7f * i);
  for (int i = 0; i < 128; ++i) tile.c[i] = i * 0.25f;
  Tf32Tile *tilePtr = &tile;
  ASSERT_EQ(runBlock(mmaTf32, 32, {&tilePtr}), "");
  for (int m = 0; m < 16; ++m)
    for (int n = 0; n < 8; ++n) {
      double expected = tile.c[m * 8 + n];
      for (int k = 0; k < 8; ++k)
        expected += double(truncate(tile.a[m * 8 + k])) * truncate(tile.b[k * 8 + n]);
      EXPECT_NEAR(tile.d[m * 8 + n], expected, 1e-5 * std::fabs(expected) + 1e-6)
          << "m " << m << " n " << n;
    }
}

void cpAsyncStaged(void **params) {
  auto *in = arg<const float *>(params, 0);
  auto *out = arg<float *>(params, 1);
  auto *shared = static_cast<float *>(mvc_emu_shared_base());
  // 16-byte copies, the last lane's source cut to 8 bytes (the rest reads as zero).
  mvc_emu_cp_async(shared + 4 * tid(), in + 4 * tid(), 16, tid() == 31 ? 8 : 16);
  mvc_emu_cp_async_commit();
  mvc_emu_cp_async_wait(0);
  mvc_emu_barrier(0, -1, MVC_EMU_BARRIER_NONE, 0);
  for (int i = 0; i < 4; ++i) out[4 * tid() + i] = shared[(4 * tid() + i + 4) % 128];
}

TEST(BlockScheduler, CpAsyncCopiesAndZeroFills) {
  std::vector<float> in(128), out(128);
  for (int i = 0; i < 128; ++i) in[i] = i + 0.5f;
  const float *inPtr = in.data();
  float *outPtr = out.data();
  ASSERT_EQ(runBlock(cpAsyncStaged, 32, {&inPtr, &outPtr}, 512), "");
  for (int i = 0; i < 128; ++i) {
    int source = (i + 4) % 128;
    EXPECT_EQ(out[i], source >= 126 ? 0.0f : in[source]) << i;
  }
}

// --- what goes wrong is named ---------------------------------------------------------

void divergentCollectives(void **) {
  if (lane() < 16) mvc_emu_shfl(MVC_EMU_SHFL_BFLY, ~0u, 1, 1, 31);
  else mvc_emu_barrier(0, -1, MVC_EMU_BARRIER_NONE, 0);
}

TEST(BlockScheduler, ADeadlockNamesWhereThreadsWait) {
  std::string error = runBlock(divergentCollectives, 32, {});
  EXPECT_NE(error.find("deadlock: 32 of 32 threads never finished"), std::string::npos) << error;
  EXPECT_NE(error.find("16 threads wait at barrier 0 for 32"), std::string::npos) << error;
  EXPECT_NE(error.find("lanes 0x0000ffff wait at shfl.sync for lanes 0xffff0000"),
            std::string::npos) << error;
}

void mismatchedCollectives(void **) {
  uint32_t a[4] = {}, b[2] = {};
  float c[4] = {}, d[4];
  if (lane() == 5) mvc_emu_vote(MVC_EMU_VOTE_BALLOT, ~0u, 1);
  else mvc_emu_mma(MVC_EMU_MMA_M16N8K16_BF16, a, b, c, d);
}

TEST(BlockScheduler, LanesAtDifferentCollectivesAreAnError) {
  std::string error = runBlock(mismatchedCollectives, 32, {});
  EXPECT_NE(error.find("thread (5,0,0): lane 5 reached vote.sync"), std::string::npos) << error;
  EXPECT_NE(error.find("wait at mma.sync"), std::string::npos) << error;
}

void ldmatrixOutsideShared(void **) {
  static uint16_t global[256];
  uint32_t out[1];
  mvc_emu_ldmatrix(global + 8 * (lane() % 8), 1, 0, out);
}

TEST(BlockScheduler, LdmatrixOutsideSharedMemoryIsAnError) {
  std::string error = runBlock(ldmatrixOutsideShared, 32, {}, 256);
  EXPECT_NE(error.find("ldmatrix: row address of lane 0 is not a 16-byte aligned row of shared "
                       "memory"), std::string::npos) << error;
}

// --- the shared-memory checker (instrumented accesses call mvc_emu_shared_access) ---

/// params: [0] mode: 0 no sync, 1 barrier, 2 warp sync; [1] the reading thread.
void writeThenRead(void **params) {
  uint32_t mode = arg<uint32_t>(params, 0), reader = arg<uint32_t>(params, 1);
  auto *shared = static_cast<uint32_t *>(mvc_emu_shared_base());
  if (tid() == 0) {
    mvc_emu_shared_access(shared, 4, MVC_EMU_ACCESS_WRITE);
    shared[0] = 42;
  }
  if (mode == 1) mvc_emu_barrier(0, -1, MVC_EMU_BARRIER_NONE, 0);
  if (mode == 2 && tid() < 32) mvc_emu_warp_sync(~0u);
  if (tid() == reader) mvc_emu_shared_access(shared, 4, MVC_EMU_ACCESS_READ);
}

TEST(BlockScheduler, SharedMemoryRacesAreNamed) {
  struct Case {
    uint32_t mode, reader;
    const char *error;
  } cases[] = {
      {0, 33, "thread (33,0,0): shared memory race at byte 0: this thread reads it, which "
              "thread (0,0,0) wrote with no barrier in between"},
      {0, 5, "thread (5,0,0): shared memory race at byte 0"},
      {1, 33, ""},
      {2, 5, ""},  // ordered by the warp's bar.warp.sync
      {2, 33, "thread (33,0,0): shared memory race at byte 0"}, // another warp: not ordered
  };
  for (const Case &c : cases) {
    uint32_t mode = c.mode, reader = c.reader;
    std::string error = runBlock(writeThenRead, 64, {&mode, &reader}, 64);
    if (*c.error == 0) EXPECT_EQ(error, "") << "mode " << mode << " reader " << reader;
    else EXPECT_NE(error.find(c.error), std::string::npos) << error;
  }
}

void readThenWrite(void **) {
  auto *shared = static_cast<uint32_t *>(mvc_emu_shared_base());
  mvc_emu_shared_access(shared + 1, 4, MVC_EMU_ACCESS_READ); // every thread reads
  if (tid() == 40) mvc_emu_shared_access(shared + 1, 4, MVC_EMU_ACCESS_WRITE);
  mvc_emu_shared_access(shared + 2, 4, MVC_EMU_ACCESS_ATOMIC); // atomics do not race
}

TEST(BlockScheduler, AWriteAfterOtherThreadsReadsIsARace) {
  std::string error = runBlock(readThenWrite, 64, {}, 64);
  EXPECT_NE(error.find("thread (40,0,0): shared memory race at byte 4: this thread writes it"),
            std::string::npos) << error;
}

void outOfBounds(void **) {
  auto *shared = static_cast<uint8_t *>(mvc_emu_shared_base());
  mvc_emu_shared_access(shared + 62, 4, MVC_EMU_ACCESS_READ);
}

TEST(BlockScheduler, AnAccessPastSharedMemoryIsNamed) {
  std::string error = runBlock(outOfBounds, 32, {}, 64);
  EXPECT_NE(error.find("thread (0,0,0): shared memory access of 4 bytes at byte 62 of the "
                       "block's 64 bytes of shared memory"), std::string::npos) << error;
}

} // namespace
} // namespace mvc::emu
