//===- SetLoweringConfig.cpp - tile sizes of each dispatch region --------===//
//
// The one place that decides how kernels are tiled. Templates in compiler/Codegen read
// the `lowering_config` attribute and nothing else, so a tile choice can be inspected
// (--compile-to dispatch) and tested on its own.
//
//===----------------------------------------------------------------------===//
#include "dialects/mvc/Transforms/Passes.h"

#include <algorithm>

#include "mlir/IR/Builders.h"

namespace mvc {
#define GEN_PASS_DEF_SETLOWERINGCONFIG
#include "dialects/mvc/Transforms/Passes.h.inc"
} // namespace mvc

using namespace mlir;
using namespace mvc;

namespace {

/// Widest last dimension among the region's values: the row length a row kernel walks.
int64_t widestRow(DispatchRegionOp region) {
  int64_t widest = 1;
  region.getBody().walk([&](Operation *op) {
    for (Value r : op->getResults())
      if (auto t = dyn_cast<RankedTensorType>(r.getType()))
        if (t.getRank() && !t.isDynamicDim(t.getRank() - 1))
          widest = std::max(widest, t.getShape().back());
  });
  return widest;
}

struct SetLoweringConfigPass
    : public mvc::impl::SetLoweringConfigBase<SetLoweringConfigPass> {
  using SetLoweringConfigBase::SetLoweringConfigBase;

  void runOnOperation() override {
    MLIRContext *context = &getContext();
    if (amxRows != 0 && amxRows != 16 && amxRows != 32) {
      getOperation().emitError() << "--mvc-set-lowering-config: amx-rows must be 0, 16 or 32, got "
                                 << amxRows;
      return signalPassFailure();
    }
    if (int8Rows < 0 || int8Rows > 16) {
      getOperation().emitError() << "--mvc-set-lowering-config: int8-rows must be 0 to 16, got "
                                 << int8Rows;
      return signalPassFailure();
    }
    getOperation().walk([&](DispatchRegionOp region) {
      Attribute config;
      if (region.getKind() == DispatchKind::matmul) {
        // A small batch (decode) streams each weight panel once for all its rows: 16 rows x
        // one panel is 16 accumulators, and each 64-byte weight load feeds 16 dot products.
        // Every panel reads all of those rows again, so they must stay in L1 (32 KiB of it,
        // the rest for the weight stream): the kernel holds a row as 2 bytes per element
        // when the weights are bf16 (dot-product pairs) and reads f32 rows otherwise.
        auto matmul = cast<MatmulOp>(region.getBody().front().front());
        auto lhs = cast<RankedTensorType>(matmul.getLhs().getType());
        auto rhs = cast<RankedTensorType>(matmul.getRhs().getType());
        int64_t rowBytes = lhs.getShape().back() * (rhs.getElementType().isBF16() ? 2 : 4);
        int64_t smallBatch = std::min<int64_t>(smallBatchRows, 32768 / std::max<int64_t>(rowBytes, 1));
        // Eight microkernel tiles of rows per workgroup: the weight panels stay in L2
        // across them.
        int64_t rows = 8 * microkernelRows;
        // AMX (bf16 weights): four tile microkernels of rows (128) per workgroup over 8
        // panels (128 columns): the workgroup's weight panels (8 x 32 x K bytes) stay in L2
        // while its row tiles pass over them. The rows come in as bf16 (rounded by their
        // producer, --mvc-narrow-matmul-inputs), so a workgroup no longer converts its rows
        // and more column blocks per row cost nothing. tools/scripts/bench_matmul.py,
        // 2 threads, GFLOP/s, MxKxN 4096x1152x4304 / 4096x4304x1152 / 4096x1152x1152
        // (SigLIP's fc1, fc2, projections), rows x panels:
        //   64 x 16: 1629 / 1634 / 1951;  128 x 8: 1587-1771 / 1894-1970 / 1974-2043;
        //   256 x 8: 1837 / 1957 / 2082;  128 x 32: 1894 / 1606 / 2094.
        // 512x576x1536, 512x640x2048 and 100x640x2048 measure the same at 64 x 16 and 128 x 8
        // within this machine's noise; 256 rows would leave small prompts with too few
        // workgroups.
        int64_t amx = rhs.getElementType().isBF16() ? amxRows : 0;
        int64_t panels = panelsPerWorkgroup;
        int64_t tileRows = microkernelRows, microPanels = 0;
        bool blocks = weightFormat(matmul.getRhs()).has_value();
        if (blocks) {
          // Block formats decode each panel's values once per microkernel: more rows over
          // fewer panels (12 x 2: the same 24 accumulators) share each decode twice as much.
          // Gemma 3 270M Q4_K_M, prefill 512, 2 threads, tokens/s in alternating runs:
          // 6 x 4: 560-566; 12 x 2: 630-713; 24 x 1: 578-621. The workgroup keeps its 4
          // panels: decode quantizes its row once per workgroup (int8_rows), and 2 panels per
          // workgroup cost Gemma's decode 20% (62-64 against 80-82 tokens/s).
          tileRows = 2 * microkernelRows;
          microPanels = std::max<int64_t>(1, panelsPerWorkgroup / 2);
          rows = 8 * tileRows;
        }
        if (amx) {
          rows = 4 * amx;
          panels = 2 * panelsPerWorkgroup;
        }
        // Decode over block-format weights: integer dot products on int8 activations, up
        // to int8Rows rows (their quantized rows stay in L1 beside the weight stream).
        int64_t int8 = blocks ? int8Rows : 0;
        config = CpuMatmulConfigAttr::get(context, tileRows, panels, rows, smallBatch, amx, int8,
                                          microPanels);
      } else if (region.getKind() == DispatchKind::attention) {
        // Query rows of one sequence share each key and value row a workgroup loads: as many
        // as keep their accumulators (rows x heads per KV head x head_dim f32) within 16 KiB
        // of L1, at most 16.
        auto attn = cast<AttentionOp>(region.getBody().front().front());
        auto q = cast<RankedTensorType>(attn.getQuery().getType());
        auto cache = cast<RankedTensorType>(attn.getKeyCache().getType());
        // A decode step has one query row: its workgroups are the KV heads, one for a model
        // like Gemma 3 270M, so one thread would stream the whole cache. The query heads
        // sharing a KV head are split among up to kDecodeWorkgroups / kv_heads workgroups
        // (each reads all of the KV head's rows). Gemma 3 270M Q4_K_M, decode at 512, 2
        // threads, attention per step: one workgroup 1.83-2.1 ms, two 1.0-1.17 ms, four
        // 1.38-1.46 ms (each thread then reads the rows twice).
        constexpr int64_t kDecodeWorkgroups = 2;
        int64_t kvHeads = cache.getDimSize(2), group = q.getDimSize(1) / kvHeads;
        int64_t headSplits = 1;
        while (kvHeads * headSplits < kDecodeWorkgroups && group % (2 * headSplits) == 0)
          headSplits *= 2;
        int64_t perRow = group / headSplits * q.getDimSize(2);
        int64_t queryRows = std::clamp<int64_t>(4096 / std::max<int64_t>(perRow, 1), 1, 16);
        // An encoder's segmented attention (vision towers) with bf16 keys and values takes
        // AMX tiles where the target has them: segments in whole 32-row blocks, an even
        // head dimension. Up to 2048 query rows per workgroup: each workgroup packs the
        // segment's keys and values once for its rows (SmolVLM's tower, 2 threads: 0.78 s
        // per image with 256, 0.74 s with 512; Gemma 3 4B's tower, attention per image:
        // 2.18 s with 512, 2.00-2.12 s with 1024, 1.94 s with 2048), as long as the rows'
        // stack scratch (f32 outputs and bf16 queries, padded) stays within 1 MiB. Keys
        // packed 256 at a time (64 KiB of K and V per 64 head dims, in L2 while every
        // query block uses them).
        int64_t segment = cache.getDimSize(1);
        bool amx = amxRows && attn.isSegmented() && cache.getElementType().isBF16() &&
                   cast<RankedTensorType>(attn.getValueCache().getType())
                       .getElementType()
                       .isBF16() &&
                   segment % 32 == 0 && q.getDimSize(2) % 2 == 0;
        auto largestDivisor = [&](int64_t most) {
          int64_t rows = most;
          while (segment % rows) rows /= 2;
          return rows;
        };
        int64_t hd = q.getDimSize(2);
        int64_t scratchPerRow = (hd + 15) / 16 * 16 * 4 + (hd + 31) / 32 * 32 * 2;
        int64_t mostRows = 2048;
        while (mostRows > 32 && mostRows * scratchPerRow > (int64_t(1) << 20)) mostRows /= 2;
        config = CpuAttentionConfigAttr::get(context, queryRows,
                                             amx ? largestDivisor(mostRows) : 0,
                                             amx ? largestDivisor(256) : 0, amx ? 1 : headSplits);
      } else if (region.getKind() == DispatchKind::row || region.getKind() == DispatchKind::copy) {
        config = CpuRowsConfigAttr::get(context, std::max<int64_t>(1, 8192 / widestRow(region)));
      }
      if (config) region->setAttr("lowering_config", config);
    });
  }
};

} // namespace
