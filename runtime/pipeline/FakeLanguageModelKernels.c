/* A stand-in for a compiled language model's `forward` (FORMAT.md "Language-model
 * artifacts"), built at test time, so the Generator and mvc-run can be tested without the
 * compiler. It is trivial but uses every input the way a real model does:
 *   1. each new token is written into its KV slot: page block_table[b][position / S], slot
 *      position % S, at the position the caller passed in `positions`;
 *   2. for each logit row (sequence b, the i-th new row), it reads back from the cache every
 *      token of the sequence up to p = cache_lens[b] + i and outputs a one-hot logit row at
 *          next = (sum of tokens 0..p + p) mod V.
 * Any error in positions, cache_lens, row offsets or block tables changes the tokens. A
 * page index outside the cache or a row outside the batch gives NaN logits.
 * bindings: tokens [T], positions [T], block_table [B, P], row_offsets [B + 1],
 *   cache_lens [B], logit_rows [N] (all i32), kv i32 [num_pages, S], logits f32 [N, V].
 * push: T, B, P, N, V, S, num_pages. One workgroup. */
#include <math.h>
#include <stdint.h>

#define EXPORT __attribute__((visibility("default")))

/* The cache slot of position `pos` of sequence b, or -1 outside the pages. */
static int64_t slot(const int32_t *blockTable, int64_t b, int64_t P, int64_t S,
                    int64_t numPages, int64_t pos) {
  if (pos < 0 || pos / S >= P)
    return -1;
  int64_t page = blockTable[b * P + pos / S];
  return page < 0 || page >= numPages ? -1 : page * S + pos % S;
}

EXPORT void fake_forward(void *const *bindings, const int64_t *push, int64_t wg,
                         int64_t wgCount) {
  (void)wg;
  (void)wgCount;
  const int32_t *tokens = bindings[0], *positions = bindings[1], *blockTable = bindings[2],
                *rowOffsets = bindings[3], *cacheLens = bindings[4], *logitRows = bindings[5];
  int32_t *kv = bindings[6];
  float *logits = bindings[7];
  int64_t B = push[1], P = push[2], N = push[3], V = push[4], S = push[5], pages = push[6];
  int bad = 0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t r = rowOffsets[b]; r < rowOffsets[b + 1]; ++r) {
      int64_t at = slot(blockTable, b, P, S, pages, positions[r]);
      if (at < 0)
        bad = 1;
      else
        kv[at] = tokens[r];
    }
  for (int64_t n = 0; n < N; ++n) {
    float *row = logits + n * V;
    int64_t r = logitRows[n], b = 0;
    while (b < B && r >= rowOffsets[b + 1])
      ++b;
    int64_t next = -1;
    if (!bad && b < B && r >= rowOffsets[b]) {
      int64_t p = cacheLens[b] + (r - rowOffsets[b]), sum = p;
      for (int64_t i = 0; i <= p && sum >= 0; ++i) {
        int64_t at = slot(blockTable, b, P, S, pages, i);
        sum = at < 0 ? -1 : sum + kv[at];
      }
      next = sum < 0 ? -1 : sum % V;
    }
    for (int64_t v = 0; v < V; ++v)
      row[v] = next < 0 ? NAN : (v == next ? 1.0f : 0.0f);
  }
}

EXPORT const char *mvc_kernel_library_info(void) {
  return "{\"abi\": 1, \"kernels\": [\"fake_forward\"]}";
}
