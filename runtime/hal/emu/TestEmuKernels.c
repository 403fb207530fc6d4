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
  return "{\"abi\": 1, \"kernels\": [\"add_one\", \"reverse\", \"shared_write\"]}";
}
/* [static shared bytes, parameter count] */
EXPORT const char *mvc_emu_kernel_info(void) {
  return "{\"add_one\": [0, 3], \"reverse\": [1024, 2], \"shared_write\": [64, 1]}";
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
