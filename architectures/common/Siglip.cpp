//===- Siglip.cpp - the SigLIP vision tower as an mvc graph --------------===//
#include "architectures/common/Siglip.h"

#include <cmath>

using namespace mlir;

namespace mvc {

Value buildSiglipVisionTower(GraphBuilder &gb, const SiglipVisionConfig &c,
                             const std::string &prefix, Value pixels, Type weightType) {
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

  // Unfold the image into patches, row-major over the patch grid, each patch flattened
  // (channel, row, column) like the Conv2d kernel.
  Value x = gb.reshape(pixels, {ch, side, p, side, p});
  x = gb.reshape(gb.transpose(x, {1, 3, 0, 2, 4}), {n, ch * p * p});
  Value patchKernel = gb.reshapedWeight(prefix + "embeddings.patch_embedding.weight",
                                        {h, ch * p * p}, {h, ch, p, p}, weightType);
  x = gb.add(gb.matmul(x, patchKernel), vec("embeddings.patch_embedding.bias", h));
  x = gb.add(x, w("embeddings.position_embedding.weight", {n, h}, gb.f32()));

  // Bidirectional attention over the image's patches: the attention op over one "page"
  // holding all of them, every query in one group spanning the page.
  Value blockTable = gb.constantI32({0}, {1, 1});
  Value rowOffsets = gb.constantI32({0, int32_t(n)}, {2});
  Value cacheLens = gb.constantI32({0}, {1});
  std::vector<int32_t> spans;
  for (int64_t i = 0; i < n; ++i) spans.insert(spans.end(), {0, int32_t(n)});
  GraphBuilder::AttentionOptions attn;
  attn.scale = float(1.0 / std::sqrt(double(hd)));
  attn.groupSpans = gb.constantI32(spans, {n, 2});

  for (int64_t i = 0; i < c.numLayers; ++i) {
    std::string l = "encoder.layers." + std::to_string(i) + ".";
    Value a = layerNorm(x, l + "layer_norm1");
    Value q = gb.reshape(linear(a, l + "self_attn.q_proj", h, h), {n, c.numHeads, hd});
    Value k = gb.reshape(linear(a, l + "self_attn.k_proj", h, h), {1, n, c.numHeads, hd});
    Value v = gb.reshape(linear(a, l + "self_attn.v_proj", h, h), {1, n, c.numHeads, hd});
    Value o = gb.attention(q, k, v, blockTable, rowOffsets, cacheLens, attn);
    x = gb.add(x, linear(gb.reshape(o, {n, h}), l + "self_attn.out_proj", h, h));
    Value m = layerNorm(x, l + "layer_norm2");
    m = gb.gelu(linear(m, l + "mlp.fc1", c.intermediateSize, h), /*tanhApprox=*/true);
    x = gb.add(x, linear(m, l + "mlp.fc2", h, c.intermediateSize));
  }
  return layerNorm(x, "post_layernorm");
}

} // namespace mvc
