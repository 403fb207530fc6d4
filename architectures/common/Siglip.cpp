//===- Siglip.cpp - the SigLIP vision tower as an mvc graph --------------===//
#include "architectures/common/Siglip.h"

#include <cmath>

using namespace mlir;

namespace mvc {

Value buildSiglipVisionTower(GraphBuilder &gb, const SiglipVisionConfig &c,
                             const std::string &prefix, Value pixels, Type weightType,
                             const SiglipPatchInputs *patches) {
  const int64_t h = c.hiddenSize, p = c.patchSize, side = c.patchesPerSide();
  const int64_t n = c.numPatches(), ch = c.numChannels, hd = c.headDim();
  auto w = [&](const std::string &name, ArrayRef<int64_t> shape, Type type) {
    return gb.weight(prefix + name, shape, type);
  };
  auto vec = [&](const std::string &name, int64_t size) { return w(name, {size}, gb.f32()); };
  auto linear = [&](Value x, const std::string &name, int64_t out, int64_t in) {
    return gb.add(gb.matmul(x, w(name + ".weight", {out, in}, weightType)),
                  vec(name + ".bias", out));
  };
  auto layerNorm = [&](Value x, const std::string &name) {
    return gb.layerNorm(x, vec(name + ".weight", h), vec(name + ".bias", h),
                        float(c.layerNormEps));
  };

  // F frames, and F · k rows of k per frame: -1 when F is dynamic.
  const int64_t frames = mlir::cast<RankedTensorType>(pixels.getType()).getDimSize(0);
  auto per = [&](int64_t k) { return ShapedType::isDynamic(frames) ? -1 : frames * k; };

  // Unfold each frame into patches, row-major over the patch grid, each patch flattened
  // (channel, row, column) like the Conv2d kernel.
  Value x = gb.reshape(pixels, {per(1), ch, side, p, side, p});
  x = gb.reshape(gb.transpose(x, {0, 2, 4, 1, 3, 5}), {per(n), ch * p * p});
  Value patchKernel = gb.reshapedWeight(prefix + "embeddings.patch_embedding.weight",
                                        {h, ch * p * p}, {h, ch, p, p}, weightType);
  x = gb.add(gb.matmul(x, patchKernel), vec("embeddings.patch_embedding.bias", h));
  Value positions = w("embeddings.position_embedding.weight", {n, h}, gb.f32());
  if (patches)
    x = gb.add(x, gb.gather(positions, gb.reshape(patches->positionIds, {per(n)})));
  else
    x = gb.reshape(gb.add(gb.reshape(x, {per(1), n, h}), positions), {per(n), h});

  // Bidirectional attention within each frame: a segmented attention whose segments (the
  // "pages" of K and V) are the frames. A bf16 model's keys and values are bf16 (as
  // transformers' bf16 projections return them), so the kernel takes bf16 dot products.
  float scale = float(1.0 / std::sqrt(double(hd)));
  Type kvType = weightType.isBF16() ? weightType : gb.f32();

  for (int64_t i = 0; i < c.numLayers; ++i) {
    std::string l = "encoder.layers." + std::to_string(i) + ".";
    Value a = layerNorm(x, l + "layer_norm1");
    Value q = gb.reshape(linear(a, l + "self_attn.q_proj", h, h), {per(n), c.numHeads, hd});
    Value k = gb.reshape(gb.cast(linear(a, l + "self_attn.k_proj", h, h), kvType),
                         {per(1), n, c.numHeads, hd});
    Value v = gb.reshape(gb.cast(linear(a, l + "self_attn.v_proj", h, h), kvType),
                         {per(1), n, c.numHeads, hd});
    Value o = gb.segmentAttention(q, k, v, scale, patches ? patches->mask : Value());
    x = gb.add(x, linear(gb.reshape(o, {per(n), h}), l + "self_attn.out_proj", h, h));
    Value m = layerNorm(x, l + "layer_norm2");
    m = gb.gelu(linear(m, l + "mlp.fc1", c.intermediateSize, h), /*tanhApprox=*/true);
    x = gb.add(x, linear(m, l + "mlp.fc2", h, c.intermediateSize));
  }
  return layerNorm(x, "post_layernorm");
}

} // namespace mvc
