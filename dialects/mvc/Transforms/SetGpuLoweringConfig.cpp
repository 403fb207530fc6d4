//===- SetGpuLoweringConfig.cpp - gpu tiling of each dispatch region -----===//
//
// The one place that decides how the cuda templates tile a matmul or an attention (the
// cpu's is SetLoweringConfig.cpp). The templates read `lowering_config` and check that
// the values fit what they can emit (warps tile the block exactly, whole mma steps).
//
//===----------------------------------------------------------------------===//
#include "dialects/mvc/Transforms/Passes.h"

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
    Builder b(&getContext());
    auto entry = [&](StringRef key, int64_t value) {
      return b.getNamedAttr(key, b.getI64IntegerAttr(value));
    };
    getOperation().walk([&](DispatchRegionOp region) {
      SmallVector<NamedAttribute> config;
      if (region.getKind() == DispatchKind::matmul) {
        int64_t warps = (tileM / warpTileM) * (tileN / warpTileN);
        config = {entry("tile_m", tileM),           entry("tile_n", tileN),
                  entry("tile_k", tileK),           entry("stages", stages),
                  entry("warp_tile_m", warpTileM),  entry("warp_tile_n", warpTileN),
                  entry("threads", 32 * warps)};
      } else if (region.getKind() == DispatchKind::attention) {
        config = {entry("threads", attentionThreads), entry("query_vectors", queryVectors)};
      }
      region->setAttr("lowering_config", b.getDictionaryAttr(config));
    });
  }
};

} // namespace
