//===- Roofline.h - the machine's limits, measured in the same run -*- C++ -*-===//
#ifndef MVC_TOOLS_MVC_BENCH_ROOFLINE_H
#define MVC_TOOLS_MVC_BENCH_ROOFLINE_H

namespace mvc {

struct Roofline {
  double triadGBps = 0;       // a[i] = b[i] + s * c[i] over arrays far larger than the caches
  double f32Gflops = 0;       // register-resident FMAs, all threads
  double bf16Gflops = 0;      // register-resident vdpbf16ps (0 when the CPU lacks avx512_bf16)
  double amxGflops = 0;       // tile-resident tdpbf16ps (0 without AMX bf16 or its permission)
};

/// Measures with `threads` threads (the bench's own threads, not the model's pool).
Roofline measureRoofline(int threads);

} // namespace mvc

#endif
