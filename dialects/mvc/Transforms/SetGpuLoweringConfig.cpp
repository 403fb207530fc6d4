//===- SetGpuLoweringConfig.cpp - gpu tiling of each dispatch region -----===//
//
// The one place that decides how the cuda templates tile a matmul or an attention (the
// cpu's is SetLoweringConfig.cpp). The templates read `lowering_config` and check that
// the values fit what they can emit (warps tile the block exactly, whole mma steps).
//
//===----------------------------------------------------------------------===//
#include "dialects/mvc/Transforms/Passes.h"
#include "runtime/artifact/BlockFormat.h"

#include "mlir/IR/Builders.h"

namespace mvc {
#define GEN_PASS_DEF_SETGPULOWERINGCONFIG
#include "dialects/mvc/Transforms/Passes.h.inc"
} // namespace mvc

using namespace mlir;
using namespace mvc;

namespace {

struct SetGpuLoweringConfigPass
    : public mvc::impl::SetGpuLoweringConfigBase<SetGpuLoweringConfigPass> {
  using SetGpuLoweringConfigBase::SetGpuLoweringConfigBase;

  void runOnOperation() override {
    if (tileM <= 0 || tileN <= 0 || tileK <= 0 || stages <= 0 || warpTileM <= 0 ||
        warpTileN <= 0 || tileM % warpTileM != 0 || tileN % warpTileN != 0) {
      getOperation().emitError("mvc-set-gpu-lowering-config: tiles must be positive and "
                               "whole multiples of the warp tiles");
      return signalPassFailure();
    }
    MLIRContext *context = &getContext();
    getOperation().walk([&](DispatchRegionOp region) {
      // Row, copy and kv_write kernels size their blocks from the row width: no config.
      if (region.getKind() == DispatchKind::matmul) {
        int64_t warps = (tileM / warpTileM) * (tileN / warpTileN);
        // A weight in a block format steps through K one 32-value block at a time.
        auto matmul = cast<MatmulOp>(region.getBody().front().front());
        int64_t k = weightFormat(matmul.getRhs()) ? BlockFormat::kValues : tileK;
        region->setAttr("lowering_config",
                        GpuMatmulConfigAttr::get(context, tileM, tileN, k, stages, warpTileM,
                                                 warpTileN, 32 * warps));
      } else if (region.getKind() == DispatchKind::attention) {
        region->setAttr("lowering_config",
                        GpuAttentionConfigAttr::get(context, attentionThreads, queryVectors));
      }
    });
  }
};

} // namespace
