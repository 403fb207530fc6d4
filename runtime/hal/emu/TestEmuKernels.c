/* A kernel library in the cuda-emu ABI (EmuAbi.h), written by hand: what
 * compiler/Codegen/Emu generates from NVVM, for kernels simple enough to write in C. */
#include <stdint.h>

#include "runtime/hal/emu/EmuAbi.h"

#define EXPORT __attribute__((visibility("default")))

EXPORT void *const *mvc_emu_table;

#define MVC_SLOT(name) SLOT_##name,
enum { MVC_EMU_FUNCTIONS(MVC_SLOT) };

static uint32_t sreg(uint32_t which) {
  return ((uint32_t(*)(uint32_t))mvc_emu_table[SLOT_sreg])(which);
}
static void barrier(void) {
  ((uint32_t(*)(int32_t, int32_t, int32_t, uint32_t))mvc_emu_table[SLOT_barrier])(0, -1, -1, 0);
}
static void *shared(void) { return ((void *(*)(void))mvc_emu_table[SLOT_shared_base])(); }

EXPORT int mvc_emu_abi_version(void) { return MVC_EMU_ABI_VERSION; }
EXPORT const char *mvc_kernel_library_info(void) {
  return "{\"abi\": 1, \"kernels\": [\"add_one\", \"reverse\", \"shared_write\", "
         "\"scale_add_rows\", \"add\", \"accumulate\", \"record_workgroups\"]}";
}
/* [static shared bytes, parameter count] */
EXPORT const char *mvc_emu_kernel_info(void) {
  return "{\"add_one\": [0, 3], \"reverse\": [1024, 2], \"shared_write\": [64, 1], "
         "\"scale_add_rows\": [0, 6], \"add\": [0, 5], \"accumulate\": [0, 3], "
         "\"record_workgroups\": [0, 1]}";
}

/* The kernels of runtime/hal/cpu/TestKernels.c in the gpu kernel ABI (bindings, then
 * push constants, each a kernel parameter; one block per workgroup): the executor runs
 * the test artifact's programs on cuda-emu with them. */
static int64_t push(void **params, int i) { return *(int64_t *)params[i]; }
static uint32_t thread(void) { return sreg(MVC_EMU_SREG_TID_X); }
static uint32_t threads(void) { return sreg(MVC_EMU_SREG_NTID_X); }

/* y[r, c] = 2 x[r, c] + w[c] for the block's R rows; push: T, C, R */
EXPORT void scale_add_rows(void **params) {
  const float *x = *(const float **)params[0], *w = *(const float **)params[1];
  float *y = *(float **)params[2];
  int64_t rows = push(params, 3), cols = push(params, 4), block = push(params, 5);
  int64_t first = (int64_t)sreg(MVC_EMU_SREG_CTAID_X) * block;
  int64_t end = first + block < rows ? first + block : rows;
  for (int64_t i = first * cols + thread(); i < end * cols; i += threads())
    y[i] = 2.0f * x[i] + w[i % cols];
}

/* out[i] = a[i] + b[i] for the block's B elements; push: N, B */
EXPORT void add(void **params) {
  const float *a = *(const float **)params[0], *b = *(const float **)params[1];
  float *out = *(float **)params[2];
  int64_t n = push(params, 3), block = push(params, 4);
  int64_t first = (int64_t)sreg(MVC_EMU_SREG_CTAID_X) * block;
  int64_t end = first + block < n ? first + block : n;
  for (int64_t i = first + thread(); i < end; i += threads()) out[i] = a[i] + b[i];
}

/* state[wg] += x[wg]; y[wg] = state[wg] */
EXPORT void accumulate(void **params) {
  const float *x = *(const float **)params[0];
  float *state = *(float **)params[1], *y = *(float **)params[2];
  uint32_t wg = sreg(MVC_EMU_SREG_CTAID_X);
  if (thread() == 0) {
    state[wg] += x[wg];
    y[wg] = state[wg];
  }
}

/* ids[wg] = wg * 1000 + grid size */
EXPORT void record_workgroups(void **params) {
  int64_t *ids = *(int64_t **)params[0];
  uint32_t wg = sreg(MVC_EMU_SREG_CTAID_X);
  if (thread() == 0) ids[wg] = (int64_t)wg * 1000 + sreg(MVC_EMU_SREG_NCTAID_X);
}

/* out[i] = in[i] + 1 for i < n */
EXPORT void add_one(void **params) {
  const float *in = *(const float **)params[0];
  float *out = *(float **)params[1];
  int64_t n = *(int64_t *)params[2];
  int64_t i = (int64_t)sreg(MVC_EMU_SREG_CTAID_X) * sreg(MVC_EMU_SREG_NTID_X) + sreg(MVC_EMU_SREG_TID_X);
  if (i < n) out[i] = in[i] + 1;
}

/* Each block reverses its 256 floats through static shared memory. */
EXPORT void reverse(void **params) {
  const float *in = *(const float **)params[0];
  float *out = *(float **)params[1];
  uint32_t t = sreg(MVC_EMU_SREG_TID_X), base = sreg(MVC_EMU_SREG_CTAID_X) * 256;
  float *s = (float *)shared();
  s[t] = in[base + t];
  barrier();
  out[base + t] = s[255 - t];
}

/* Writes one byte at shared offset params[0] + thread id. */
EXPORT void shared_write(void **params) {
  int64_t offset = *(int64_t *)params[0];
  ((volatile uint8_t *)shared())[offset + sreg(MVC_EMU_SREG_TID_X)] = 1;
}
