/* Kernels for the runtime tests, written by hand against FORMAT.md's kernel ABI the way
 * mvc-compile generates them: one exported function per kernel, called once per workgroup,
 * plus mvc_kernel_library_info(). Built as a shared object at test-build time. */
#include <stdint.h>

#define EXPORT __attribute__((visibility("default")))

/* y[r, c] = 2 * x[r, c] + w[c] over rows [wg * R, min(T, (wg + 1) * R)).
 * bindings: x f32 [T, C], w f32 [C], y f32 [T, C]; push: T, C, R. */
EXPORT void scale_add_rows(void *const *bindings, const int64_t *push, int64_t wg,
                           int64_t wgCount) {
  (void)wgCount;
  const float *x = bindings[0], *w = bindings[1];
  float *y = bindings[2];
  int64_t rows = push[0], cols = push[1], block = push[2];
  int64_t end = (wg + 1) * block < rows ? (wg + 1) * block : rows;
  for (int64_t r = wg * block; r < end; ++r)
    for (int64_t c = 0; c < cols; ++c)
      y[r * cols + c] = 2.0f * x[r * cols + c] + w[c];
}

/* out[i] = a[i] + b[i] over elements [wg * B, min(N, (wg + 1) * B)).
 * bindings: a, b, out f32 [N]; push: N, B. */
EXPORT void add(void *const *bindings, const int64_t *push, int64_t wg, int64_t wgCount) {
  (void)wgCount;
  const float *a = bindings[0], *b = bindings[1];
  float *out = bindings[2];
  int64_t n = push[0], block = push[1];
  int64_t end = (wg + 1) * block < n ? (wg + 1) * block : n;
  for (int64_t i = wg * block; i < end; ++i)
    out[i] = a[i] + b[i];
}

/* state[i] += x[i]; y[i] = state[i], one element per workgroup.
 * bindings: x f32 [N], state f32 [>= N], y f32 [N]. */
EXPORT void accumulate(void *const *bindings, const int64_t *push, int64_t wg,
                       int64_t wgCount) {
  (void)push;
  (void)wgCount;
  const float *x = bindings[0];
  float *state = bindings[1], *y = bindings[2];
  state[wg] += x[wg];
  y[wg] = state[wg];
}

/* ids[wg] = wg * 1000 + count: shows every workgroup ran once with the right count.
 * bindings: ids i64 [count]. */
EXPORT void record_workgroups(void *const *bindings, const int64_t *push, int64_t wg,
                              int64_t wgCount) {
  (void)push;
  int64_t *ids = bindings[0];
  ids[wg] = wg * 1000 + wgCount;
}

EXPORT const char *mvc_kernel_library_info(void) {
  return "{\"abi\": 1, \"kernels\": [\"scale_add_rows\", \"add\", \"accumulate\", "
         "\"record_workgroups\", \"unlisted_typo\"]}";
}
