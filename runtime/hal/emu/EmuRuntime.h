//===- EmuRuntime.h - the mvc_emu_* functions emulated kernels call --*- C++ -*-===//
//
// C signatures of the table slots of EmuAbi.h. Each is called on the fiber of one
// emulated GPU thread; the warp-collective ones (shfl, vote, mma, ldmatrix, warp_sync)
// and barrier suspend it until the other participants arrive.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_HAL_EMU_EMURUNTIME_H
#define MVC_RUNTIME_HAL_EMU_EMURUNTIME_H

#include <cstdint>

#include "runtime/hal/emu/EmuAbi.h"

extern "C" {
/// A special register (MvcEmuSreg).
uint32_t mvc_emu_sreg(uint32_t which);
/// bar.sync / bar.red: barrier `id` (0..15) for `numThreads` threads (< 0: all threads of
/// the block); with a reduction (MvcEmuBarrierReduction) returns it over `pred`.
uint32_t mvc_emu_barrier(int32_t id, int32_t numThreads, int32_t reduction, uint32_t pred);
/// bar.warp.sync over the lanes of `mask`.
void mvc_emu_warp_sync(uint32_t mask);
/// shfl.sync (MvcEmuShfl) of a 32-bit value; returns value | (valid << 32).
uint64_t mvc_emu_shfl(uint32_t kind, uint32_t mask, uint32_t value, uint32_t offset,
                      uint32_t clamp);
/// vote.sync (MvcEmuVote): the ballot, or 0/1 for any/all/uni.
uint32_t mvc_emu_vote(uint32_t kind, uint32_t mask, uint32_t pred);
/// mma.sync (MvcEmuMma): this lane's fragments in, its d fragment out.
void mvc_emu_mma(uint32_t shape, const uint32_t *a, const uint32_t *b, const float *c, float *d);
/// ldmatrix.sync.aligned.m8n8.x{num}[.trans].b16: `row` is this lane's row address;
/// writes `num` 32-bit registers to `out`.
void mvc_emu_ldmatrix(const void *row, uint32_t num, uint32_t trans, uint32_t *out);
/// cp.async of `size` bytes of which the first `srcSize` are copied, the rest zeroed.
void mvc_emu_cp_async(void *dst, const void *src, uint32_t size, uint32_t srcSize);
void mvc_emu_cp_async_commit(void);
void mvc_emu_cp_async_wait(uint32_t groups);
/// The current block's shared-memory arena (static then dynamic shared memory).
void *mvc_emu_shared_base(void);
/// cvt.rn.bf16.f32 (round to nearest even; NaN stays NaN), as its 16 bits.
uint16_t mvc_emu_f32_to_bf16(float value);
/// Called before every plain load/store/atomic on shared memory (MvcEmuAccess): stops the
/// block on an access outside its shared memory or a race (BlockScheduler::checkShared).
void mvc_emu_shared_access(const void *address, uint32_t bytes, uint32_t kind);
}

namespace mvc::emu {
/// The table a kernel library's mvc_emu_table points at, in MVC_EMU_FUNCTIONS order.
void *const *runtimeTable();
} // namespace mvc::emu

#endif // MVC_RUNTIME_HAL_EMU_EMURUNTIME_H
