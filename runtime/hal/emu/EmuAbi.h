/*===- EmuAbi.h - what an emulated kernel calls (cuda-emu kernel ABI) ------===*
 *
 * A cuda-emu kernel library is the cuda path's NVVM kernels with every NVVM operation
 * rewritten into a call of an mvc_emu_* function (compiler/Codegen/Emu). The library
 * has no undefined symbols beyond libc/libm: it defines each mvc_emu_* function as a
 * thunk that calls slot i of a table, through the pointer
 *
 *     void *const *mvc_emu_table;      (defined, null, in the kernel library)
 *
 * which the emulator stores right after dlopen (EmuDriver.cpp, cuModuleLoadData), before
 * any kernel runs. A slot of a void function may be null: the call is then skipped (the
 * runtime does so for shared_access when its checks are off). Slot order is
 * MVC_EMU_FUNCTIONS below; the C signatures are in
 * EmuRuntime.h. Changing either changes MVC_EMU_ABI_VERSION, which the library reports
 * through mvc_emu_abi_version() and the loader checks.
 *
 * Kernels: each `NAME` is exported as `void NAME(void **kernelParams)`, kernelParams as
 * cuLaunchKernel takes it (one pointer per argument value). The emulator calls it once
 * per thread, on that thread's fiber. mvc_emu_kernel_info() returns the static shared
 * memory of each kernel as JSON, {"NAME": BYTES, ...}: the arena of a block is that plus
 * the launch's dynamic shared memory. The arena is 128-byte aligned.
 *
 * C, not C++: the compiler (which must not include runtime code) reads only the names.
 *===----------------------------------------------------------------------===*/
#ifndef MVC_RUNTIME_HAL_EMU_EMUABI_H
#define MVC_RUNTIME_HAL_EMU_EMUABI_H

#define MVC_EMU_ABI_VERSION 3

/* X(name): slot order of the table. */
#define MVC_EMU_FUNCTIONS(X)                                                                   \
  X(sreg)                                                                                      \
  X(barrier)                                                                                   \
  X(warp_sync)                                                                                 \
  X(shfl)                                                                                      \
  X(vote)                                                                                      \
  X(mma)                                                                                       \
  X(ldmatrix)                                                                                  \
  X(cp_async)                                                                                  \
  X(cp_async_commit)                                                                           \
  X(cp_async_wait)                                                                             \
  X(shared_base)                                                                               \
  X(f32_to_bf16)                                                                               \
  X(shared_access)

/* mvc_emu_sreg(which): the special registers. */
enum MvcEmuSreg {
  MVC_EMU_SREG_TID_X, MVC_EMU_SREG_TID_Y, MVC_EMU_SREG_TID_Z,
  MVC_EMU_SREG_NTID_X, MVC_EMU_SREG_NTID_Y, MVC_EMU_SREG_NTID_Z,
  MVC_EMU_SREG_CTAID_X, MVC_EMU_SREG_CTAID_Y, MVC_EMU_SREG_CTAID_Z,
  MVC_EMU_SREG_NCTAID_X, MVC_EMU_SREG_NCTAID_Y, MVC_EMU_SREG_NCTAID_Z,
  MVC_EMU_SREG_LANEID, MVC_EMU_SREG_WARPID, MVC_EMU_SREG_NWARPID, MVC_EMU_SREG_WARPSIZE,
  MVC_EMU_SREG_LANEMASK_EQ, MVC_EMU_SREG_LANEMASK_LE, MVC_EMU_SREG_LANEMASK_LT,
  MVC_EMU_SREG_LANEMASK_GE, MVC_EMU_SREG_LANEMASK_GT,
  MVC_EMU_SREG_COUNT
};

/* mvc_emu_shfl(kind, ...): PTX shfl.sync modes. */
enum MvcEmuShfl { MVC_EMU_SHFL_UP, MVC_EMU_SHFL_DOWN, MVC_EMU_SHFL_BFLY, MVC_EMU_SHFL_IDX };

/* mvc_emu_vote(kind, ...): PTX vote.sync modes (NVVM's VoteSyncKind order). */
enum MvcEmuVote { MVC_EMU_VOTE_ANY, MVC_EMU_VOTE_ALL, MVC_EMU_VOTE_BALLOT, MVC_EMU_VOTE_UNI };

/* mvc_emu_barrier(..., reduction, ...): none or PTX bar.red's operations. */
enum MvcEmuBarrierReduction {
  MVC_EMU_BARRIER_NONE = -1, MVC_EMU_BARRIER_POPC, MVC_EMU_BARRIER_AND, MVC_EMU_BARRIER_OR
};

/* mvc_emu_mma(shape, ...): the mma.sync forms emulated (all row.col, f32 accumulators). */
enum MvcEmuMma {
  MVC_EMU_MMA_M16N8K16_BF16, /* a: 4 x b32 (bf16x2), b: 2 x b32, c/d: 4 x f32 */
  MVC_EMU_MMA_M16N8K8_TF32,  /* a: 4 x b32 (tf32),   b: 2 x b32, c/d: 4 x f32 */
  MVC_EMU_MMA_M16N8K16_F16,  /* a: 4 x b32 (f16x2),  b: 2 x b32, c/d: 4 x f32 */
  MVC_EMU_MMA_M16N8K8_BF16   /* a: 2 x b32 (bf16x2), b: 1 x b32, c/d: 4 x f32 */
};

/* mvc_emu_shared_access(address, bytes, kind): what a plain shared-memory access is. */
enum MvcEmuAccess { MVC_EMU_ACCESS_READ, MVC_EMU_ACCESS_WRITE, MVC_EMU_ACCESS_ATOMIC };

#endif /* MVC_RUNTIME_HAL_EMU_EMUABI_H */
