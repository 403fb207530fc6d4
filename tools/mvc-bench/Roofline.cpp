//===- Roofline.cpp - the machine's limits, measured in the same run -----===//
//
// Not a model kernel: these loops measure the machine so benchmark numbers can be given
// as fractions of what it can do. Compiled with the tool's flags (-O3, the host ISA via
// GCC's target attribute for the FMA loop).
//
//===----------------------------------------------------------------------===//
#include "tools/mvc-bench/Roofline.h"

#include <immintrin.h>

#include "runtime/hal/cpu/CpuFeatures.h"

#include <algorithm>
#include <cstdint>
#include <chrono>
#include <thread>
#include <vector>

namespace mvc {
namespace {

double seconds(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

/// Best of 5 triads over 3 × 64 MB per thread.
double triad(int threads) {
  const size_t n = size_t(16) << 20;
  std::vector<std::vector<float>> a(threads, std::vector<float>(n, 1.0f)), b = a, c = a;
  double best = 1e30;
  for (int rep = 0; rep < 5; ++rep) {
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        float *x = a[t].data();
        const float *y = b[t].data(), *z = c[t].data();
        for (size_t i = 0; i < n; ++i) x[i] = y[i] + 1.5f * z[i];
      });
    for (auto &th : pool) th.join();
    best = std::min(best, seconds(t0, std::chrono::steady_clock::now()));
  }
  return 3.0 * n * sizeof(float) * threads / best / 1e9;
}

/// 16 independent 16-lane FMA chains per thread (enough to cover the FMA latency).
__attribute__((target("avx512f"))) double fmaLoopAvx512(long iterations) {
  typedef float v16 __attribute__((vector_size(64)));
  v16 acc[16];
  for (int i = 0; i < 16; ++i) acc[i] = (v16){} + float(i);
  v16 m = (v16){} + 0.9999f, s = (v16){} + 0.0001f;
  for (long it = 0; it < iterations; ++it)
    for (int i = 0; i < 16; ++i) acc[i] = acc[i] * m + s;
  float sum = 0;
  for (int i = 0; i < 16; ++i) sum += acc[i][0];
  return sum;
}

__attribute__((target("avx2,fma"))) double fmaLoopAvx2(long iterations) {
  typedef float v8 __attribute__((vector_size(32)));
  v8 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = (v8){} + float(i);
  v8 m = (v8){} + 0.9999f, s = (v8){} + 0.0001f;
  for (long it = 0; it < iterations; ++it)
    for (int i = 0; i < 12; ++i) acc[i] = acc[i] * m + s;
  float sum = 0;
  for (int i = 0; i < 12; ++i) sum += acc[i][0];
  return sum;
}

/// The bf16 dot-product peak: 16 independent vdpbf16ps chains (each instruction is 16
/// lanes x 2 products x 2 flops), the instruction the bf16 matmul microkernels use.
__attribute__((target("avx512f,avx512bf16"))) double dpbf16Loop(long iterations) {
  __m512 acc[16];
  for (int i = 0; i < 16; ++i) acc[i] = _mm512_set1_ps(float(i));
  __m512bh x = (__m512bh)_mm512_set1_epi32(0x3f803f80), y = (__m512bh)_mm512_set1_epi32(0x38003800);
  for (long it = 0; it < iterations; ++it)
    for (int i = 0; i < 16; ++i) acc[i] = _mm512_dpbf16_ps(acc[i], x, y);
  float sum = 0;
  for (int i = 0; i < 16; ++i) sum += _mm512_reduce_add_ps(acc[i]);
  return sum;
}

/// The AMX bf16 peak: four independent tdpbf16ps chains on 16x16 f32 accumulator tiles
/// (each instruction is 16 x 16 x 32 products x 2 flops) with operands that stay in tile
/// registers, the 2 x 2 tile blocking of the AMX matmul microkernel. Written in inline
/// assembly: GCC 12's _tile_loadconfig passes only 8 bytes of the configuration as its
/// operand, so the stores of the rest are dropped at -O2 (the whole struct is the operand
/// here). Needs the tile permission (requested by the caller).
double amxLoop(long iterations) {
  struct alignas(64) TileConfig {
    uint8_t palette = 1, startRow = 0, reserved[14] = {};
    uint16_t colsb[16] = {};
    uint8_t rows[16] = {};
  } config;
  for (int t = 0; t < 8; ++t) {
    config.rows[t] = 16;
    config.colsb[t] = 64;
  }
  alignas(64) uint16_t a[16 * 32], b[16 * 32];
  alignas(64) float out[16 * 16];
  for (int i = 0; i < 16 * 32; ++i) {
    a[i] = 0x3f80; // 1.0
    b[i] = 0x3800; // 2^-15: the sums stay far from overflow
  }
  asm volatile("ldtilecfg %0" ::"m"(config));
  asm volatile("tileloadd (%0,%1,1), %%tmm4\n\t"
               "tileloadd (%0,%1,1), %%tmm5\n\t"
               "tileloadd (%2,%1,1), %%tmm6\n\t"
               "tileloadd (%2,%1,1), %%tmm7\n\t"
               "tilezero %%tmm0\n\ttilezero %%tmm1\n\ttilezero %%tmm2\n\ttilezero %%tmm3"
               ::"r"(a), "r"(64L), "r"(b) : "memory");
  for (long it = 0; it < iterations; ++it)
    asm volatile("tdpbf16ps %%tmm6, %%tmm4, %%tmm0\n\t"
                 "tdpbf16ps %%tmm7, %%tmm4, %%tmm1\n\t"
                 "tdpbf16ps %%tmm6, %%tmm5, %%tmm2\n\t"
                 "tdpbf16ps %%tmm7, %%tmm5, %%tmm3" ::);
  asm volatile("tilestored %%tmm0, (%0,%1,1)\n\ttilerelease" ::"r"(out), "r"(64L) : "memory");
  return out[0];
}

/// Best of 3 runs of `loop` on every thread, in GFLOP/s.
template <typename Loop>
double peak(int threads, long iterations, double flopsPerIteration, Loop loop) {
  double best = 1e30;
  for (int rep = 0; rep < 3; ++rep) {
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    std::vector<double> sink(threads);
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] { sink[t] = loop(iterations); });
    for (auto &th : pool) th.join();
    best = std::min(best, seconds(t0, std::chrono::steady_clock::now()));
  }
  return flopsPerIteration * iterations * threads / best / 1e9;
}

double bf16Peak(int threads) {
  if (!__builtin_cpu_supports("avx512bf16"))
    return 0;
  return peak(threads, 20'000'000, 16 * 64.0, dpbf16Loop);
}

double amxPeak(int threads) {
  // The same permission request the runtime makes for an artifact that lists AMX.
  if (!CpuFeatures::host().has("amx-bf16") || !CpuFeatures::host().has("amx-tile") ||
      !CpuFeatures::host().check({"amx-tile", "amx-bf16"}).ok())
    return 0;
  return peak(threads, 2'000'000, 4 * 16 * 16 * 32 * 2.0, amxLoop);
}

double fmaPeak(int threads) {
  if (__builtin_cpu_supports("avx512f"))
    return peak(threads, 20'000'000, 2.0 * 16 * 16, fmaLoopAvx512);
  return peak(threads, 20'000'000, 2.0 * 8 * 12, fmaLoopAvx2);
}

} // namespace

Roofline measureRoofline(int threads) {
  return {triad(threads), fmaPeak(threads), bf16Peak(threads), amxPeak(threads)};
}

} // namespace mvc
