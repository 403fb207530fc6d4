//===- Layers.cpp - layers shared by the architectures -------------------===//
#include "architectures/common/Layers.h"

using namespace mlir;

namespace mvc {

LanguageModelInputs beginLanguageModelProgram(GraphBuilder &gb, int64_t imageHidden,
                                              bool imageGroups,
                                              const std::vector<ProgramInput> &extra) {
  std::vector<ProgramInput> inputs = {{"tokens", {"T"}, gb.i32()},
                                      {"positions", {"T"}, gb.i32()},
                                      {"block_table", {"B", "P"}, gb.i32()},
                                      {"row_offsets", {"B1"}, gb.i32()},
                                      {"cache_lens", {"B"}, gb.i32()},
                                      {"logit_rows", {"N"}, gb.i32()}};
  if (imageHidden > 0) {
    inputs.push_back({"image_features", {"I", imageHidden}, gb.f32()});
    inputs.push_back({"embed_source", {"T"}, gb.i32()});
    if (imageGroups)
      inputs.push_back({"group_spans", {"T", 2}, gb.i32()});
  }
  size_t firstExtra = inputs.size();
  inputs.insert(inputs.end(), extra.begin(), extra.end());
  std::vector<Value> v = gb.beginProgram("forward", inputs);
  LanguageModelInputs in{v[0], v[1], v[2], v[3], v[4], v[5]};
  if (imageHidden > 0) {
    in.imageFeatures = v[6];
    in.embedSource = v[7];
    if (imageGroups)
      in.groupSpans = v[8];
  }
  for (size_t i = 0; i < extra.size(); ++i) in.extra[extra[i].name] = v[firstExtra + i];
  return in;
}

Value pagedSelfAttention(GraphBuilder &gb, const LanguageModelInputs &in, Value x,
                         const AttentionWeights &w, const AttentionSpec &s,
                         const GraphBuilder::AttentionOptions &options, const QkNorm &qkNorm,
                         Value ropeTable, const std::string &kvPrefix, Type kvType) {
  Value q = gb.reshape(gb.matmul(x, w.q), {-1, s.heads, s.headDim});
  Value k = gb.reshape(gb.matmul(x, w.k), {-1, s.kvHeads, s.headDim});
  Value v = gb.reshape(gb.matmul(x, w.v), {-1, s.kvHeads, s.headDim});
  if (w.qNorm) q = gb.rmsNorm(q, w.qNorm, qkNorm.eps, qkNorm.offset);
  if (w.kNorm) k = gb.rmsNorm(k, w.kNorm, qkNorm.eps, qkNorm.offset);
  q = gb.rope(q, ropeTable);
  k = gb.rope(k, ropeTable);
  SmallVector<int64_t> cacheShape = {ShapedType::kDynamic, s.pageSize, s.kvHeads, s.headDim};
  Value kCache = gb.kvWrite(k, gb.state(kvPrefix + ".k", cacheShape, kvType), in.blockTable,
                            in.rowOffsets, in.cacheLens);
  Value vCache = gb.kvWrite(v, gb.state(kvPrefix + ".v", cacheShape, kvType), in.blockTable,
                            in.rowOffsets, in.cacheLens);
  Value o = gb.attention(q, kCache, vCache, in.blockTable, in.rowOffsets, in.cacheLens, options);
  return gb.matmul(gb.reshape(o, {-1, s.heads * s.headDim}), w.o);
}

Value gatedMlp(GraphBuilder &gb, Value x, Value gate, Value up, Value down, Activation act) {
  // The activation comes before the up projection, so act(gate) · up fuses into the up
  // matmul's epilogue (its other operand is then defined before that region).
  Value g = gb.matmul(x, gate);
  Value a = act == Activation::Silu ? gb.silu(g) : gb.gelu(g, act == Activation::GeluTanh);
  Value u = gb.matmul(x, up);
  return gb.matmul(gb.mul(a, u), down);
}

} // namespace mvc
