//===- GraphBuilder.cpp - the C++ API architectures build graphs with ----===//
#include "compiler/Builder/GraphBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;

namespace mvc {

GraphBuilder::GraphBuilder(ModuleOp module)
    : b(module.getContext()), loc(UnknownLoc::get(module.getContext())), module(module) {}

void GraphBuilder::setPart(StringRef part) {
  loc = part.empty() ? Location(UnknownLoc::get(b.getContext()))
                     : Location(NameLoc::get(b.getStringAttr(part)));
}

std::vector<Value> GraphBuilder::beginProgram(const std::string &name,
                                              const std::vector<ProgramInput> &inputs) {
  SmallVector<Type> types;
  for (const ProgramInput &in : inputs) {
    SmallVector<int64_t> shape;
    for (const Dim &d : in.shape) shape.push_back(d.size);
    types.push_back(RankedTensorType::get(shape, in.elementType));
  }
  b.setInsertionPointToEnd(module.getBody());
  current = func::FuncOp::create(b, loc, name, b.getFunctionType(types, {}));
  Block *entry = current.addEntryBlock();
  for (auto [i, in] : llvm::enumerate(inputs)) {
    current.setArgAttr(i, "mvc.name", b.getStringAttr(in.name));
    SmallVector<Attribute> names;
    for (const Dim &d : in.shape)
      if (!d.name.empty()) names.push_back(b.getStringAttr(d.name));
    if (!names.empty()) current.setArgAttr(i, "mvc.dims", b.getArrayAttr(names));
  }
  b.setInsertionPointToStart(entry);
  return std::vector<Value>(entry->getArguments().begin(), entry->getArguments().end());
}

void GraphBuilder::endProgram(const std::vector<std::pair<std::string, Value>> &outputs) {
  SmallVector<Value> values;
  SmallVector<Type> types;
  for (auto &[name, v] : outputs) {
    values.push_back(v);
    types.push_back(v.getType());
  }
  func::ReturnOp::create(b, loc, values);
  current.setFunctionType(b.getFunctionType(current.getArgumentTypes(), types));
  for (auto [i, out] : llvm::enumerate(outputs))
    current.setResultAttr(i, "mvc.name", b.getStringAttr(out.first));
}

Value GraphBuilder::weight(const std::string &name, ArrayRef<int64_t> shape, Type type) {
  return WeightOp::create(b, loc, RankedTensorType::get(shape, type), name, DenseI64ArrayAttr(),
                          StringAttr());
}

Value GraphBuilder::reshapedWeight(const std::string &name, ArrayRef<int64_t> shape,
                                   ArrayRef<int64_t> sourceShape, Type type) {
  return WeightOp::create(b, loc, RankedTensorType::get(shape, type), name,
                          b.getDenseI64ArrayAttr(sourceShape), StringAttr());
}

Value GraphBuilder::state(const std::string &name, ArrayRef<int64_t> shape, Type type) {
  return StateOp::create(b, loc, RankedTensorType::get(shape, type), name);
}

Value GraphBuilder::constant(ArrayRef<float> values) {
  auto type = RankedTensorType::get({int64_t(values.size())}, b.getF32Type());
  return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, values));
}

Value GraphBuilder::constant(ArrayRef<float> values, ArrayRef<int64_t> shape) {
  auto type = RankedTensorType::get(shape, b.getF32Type());
  return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, values));
}

Value GraphBuilder::constantI32(ArrayRef<int32_t> values, ArrayRef<int64_t> shape) {
  auto type = RankedTensorType::get(shape, b.getI32Type());
  return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, values));
}

Value GraphBuilder::matmul(Value x, Value w, bool transposeB) {
  auto wt = typeOf(w);
  int64_t n = transposeB ? wt.getDimSize(0) : wt.getDimSize(1);
  auto type = RankedTensorType::get({typeOf(x).getDimSize(0), n}, b.getF32Type());
  auto op = MatmulOp::create(b, loc, type, x, w, Value());
  if (transposeB) op.setTransposeB(true);
  return op;
}

Value GraphBuilder::groupedMatmul(Value x, Value w, Value groups, bool transposeB) {
  auto wt = typeOf(w);
  int64_t n = transposeB ? wt.getDimSize(1) : wt.getDimSize(2);
  auto type = RankedTensorType::get({typeOf(x).getDimSize(0), n}, b.getF32Type());
  auto op = MatmulOp::create(b, loc, type, x, w, groups);
  if (transposeB) op.setTransposeB(true);
  return op;
}

GraphBuilder::MoeRoute GraphBuilder::moeRoute(Value logits, int64_t topK, bool normalize,
                                              Value expertScale) {
  int64_t t = typeOf(logits).getDimSize(0), e = typeOf(logits).getDimSize(1);
  int64_t tk = ShapedType::isDynamic(t) ? t : t * topK;
  auto op = MoeRouteOp::create(
      b, loc, RankedTensorType::get({t, topK}, b.getF32Type()),
      RankedTensorType::get({t, topK}, b.getI32Type()), RankedTensorType::get({tk}, b.getI32Type()),
      RankedTensorType::get({e + 1}, b.getI32Type()), logits, expertScale, b.getI64IntegerAttr(topK),
      b.getBoolAttr(normalize));
  return {op.getWeights(), op.getSlots(), op.getRows(), op.getGroups()};
}

Value GraphBuilder::moeCombine(Value expertRows, Value weights, Value slots) {
  auto type = RankedTensorType::get({typeOf(weights).getDimSize(0), typeOf(expertRows).getDimSize(1)},
                                    typeOf(expertRows).getElementType());
  return MoeCombineOp::create(b, loc, type, expertRows, weights, slots);
}

Value GraphBuilder::add(Value a, Value c) { return AddOp::create(b, loc, a.getType(), a, c); }
Value GraphBuilder::mul(Value a, Value c) { return MulOp::create(b, loc, a.getType(), a, c); }
Value GraphBuilder::sub(Value a, Value c) { return SubOp::create(b, loc, a.getType(), a, c); }
Value GraphBuilder::maximum(Value a, Value c) { return MaximumOp::create(b, loc, a.getType(), a, c); }
Value GraphBuilder::minimum(Value a, Value c) { return MinimumOp::create(b, loc, a.getType(), a, c); }
Value GraphBuilder::gelu(Value x, bool tanhApprox) {
  return GeluOp::create(b, loc, x, tanhApprox ? "tanh" : "none");
}
Value GraphBuilder::silu(Value x) { return SiluOp::create(b, loc, x); }
Value GraphBuilder::scale(Value x, float factor) {
  return ScaleOp::create(b, loc, x, b.getF32FloatAttr(factor));
}
Value GraphBuilder::softcap(Value x, float cap) {
  return SoftcapOp::create(b, loc, x, b.getF32FloatAttr(cap));
}
Value GraphBuilder::rmsNorm(Value x, Value w, float eps, float offset) {
  return RmsNormOp::create(b, loc, x.getType(), x, w, b.getF32FloatAttr(eps),
                           b.getF32FloatAttr(offset));
}
Value GraphBuilder::layerNorm(Value x, Value gamma, Value beta, float eps) {
  return LayerNormOp::create(b, loc, x.getType(), x, gamma, beta, b.getF32FloatAttr(eps));
}
Value GraphBuilder::ropeTable(Value positions, Value invFreq) {
  auto type = RankedTensorType::get({typeOf(positions).getDimSize(0), 2 * typeOf(invFreq).getDimSize(0)},
                                    b.getF32Type());
  return RopeTableOp::create(b, loc, type, positions, invFreq, Value());
}
Value GraphBuilder::ropeTable(Value positions, Value invFreq, Value axes) {
  auto type = RankedTensorType::get({typeOf(positions).getDimSize(0), 2 * typeOf(invFreq).getDimSize(0)},
                                    b.getF32Type());
  return RopeTableOp::create(b, loc, type, positions, invFreq, axes);
}
Value GraphBuilder::rope(Value x, Value table) {
  return RopeOp::create(b, loc, x.getType(), x, table, "rotate_half");
}
Value GraphBuilder::gather(Value table, Value ids) {
  auto type = RankedTensorType::get({typeOf(ids).getDimSize(0), typeOf(table).getDimSize(1)},
                                    b.getF32Type());
  return GatherOp::create(b, loc, type, table, ids, Value());
}
Value GraphBuilder::weightedGather(Value table, Value ids, Value weights) {
  auto type = RankedTensorType::get({typeOf(ids).getDimSize(0), typeOf(table).getDimSize(1)},
                                    b.getF32Type());
  return GatherOp::create(b, loc, type, table, ids, weights);
}
Value GraphBuilder::reshape(Value x, ArrayRef<int64_t> shape) {
  SmallVector<int64_t> dims;
  for (int64_t d : shape) dims.push_back(d < 0 ? ShapedType::kDynamic : d);
  return ReshapeOp::create(b, loc, RankedTensorType::get(dims, typeOf(x).getElementType()), x);
}
Value GraphBuilder::transpose(Value x, ArrayRef<int64_t> permutation) {
  SmallVector<int64_t> dims;
  for (int64_t p : permutation) dims.push_back(typeOf(x).getDimSize(p));
  return TransposeOp::create(b, loc, RankedTensorType::get(dims, typeOf(x).getElementType()), x,
                             permutation);
}
Value GraphBuilder::slice(Value x, int64_t axis, int64_t start, int64_t size) {
  SmallVector<int64_t> dims(typeOf(x).getShape());
  dims[axis] = size;
  return SliceOp::create(b, loc, RankedTensorType::get(dims, typeOf(x).getElementType()), x,
                         b.getI64IntegerAttr(axis), b.getI64IntegerAttr(start),
                         b.getI64IntegerAttr(size));
}
Value GraphBuilder::concat(ArrayRef<Value> inputs, int64_t axis) {
  SmallVector<int64_t> dims(typeOf(inputs[0]).getShape());
  dims[axis] = 0;
  for (Value v : inputs) dims[axis] += typeOf(v).getDimSize(axis);
  return ConcatOp::create(b, loc, RankedTensorType::get(dims, typeOf(inputs[0]).getElementType()),
                          inputs, b.getI64IntegerAttr(axis));
}
Value GraphBuilder::cast(Value x, Type type) {
  if (typeOf(x).getElementType() == type) return x;
  return CastOp::create(b, loc, RankedTensorType::get(typeOf(x).getShape(), type), x);
}
Value GraphBuilder::mergeRows(Value base, Value rows, Value source) {
  return MergeRowsOp::create(b, loc, base.getType(), base, rows, source, UnitAttr());
}
Value GraphBuilder::addRows(Value base, Value rows, Value source) {
  return MergeRowsOp::create(b, loc, base.getType(), base, rows, source, b.getUnitAttr());
}
Value GraphBuilder::kvWrite(Value values, Value cache, Value blockTable, Value rowOffsets,
                            Value cacheLens) {
  return KvWriteOp::create(b, loc, cache.getType(), values, cache, blockTable, rowOffsets,
                           cacheLens);
}
Value GraphBuilder::attention(Value q, Value kCache, Value vCache, Value blockTable,
                              Value rowOffsets, Value cacheLens, const AttentionOptions &o) {
  return AttentionOp::create(b, loc, q.getType(), q, kCache, vCache, blockTable, rowOffsets,
                             cacheLens, o.groupSpans, Value(), Value(), b.getF32FloatAttr(o.scale),
                             b.getF32FloatAttr(o.softcap), b.getI64IntegerAttr(o.slidingWindow),
                             o.groupWindowClip ? b.getUnitAttr() : UnitAttr());
}
Value GraphBuilder::segmentAttention(Value q, Value k, Value v, float scale, Value keyMask) {
  return AttentionOp::create(b, loc, q.getType(), q, k, v, Value(), Value(), Value(), Value(),
                             keyMask, Value(),
                             b.getF32FloatAttr(scale), b.getF32FloatAttr(0.0f),
                             b.getI64IntegerAttr(0), UnitAttr());
}
Value GraphBuilder::varlenAttention(Value q, Value k, Value v, Value segments, float scale) {
  auto pages = [&](Value x) {
    auto t = typeOf(x);
    return reshape(x, {t.getDimSize(0) == ShapedType::kDynamic ? -1 : t.getDimSize(0), 1,
                       t.getDimSize(1), t.getDimSize(2)});
  };
  return AttentionOp::create(b, loc, q.getType(), q, pages(k), pages(v), Value(), Value(), Value(),
                             Value(), Value(), segments, b.getF32FloatAttr(scale),
                             b.getF32FloatAttr(0.0f), b.getI64IntegerAttr(0), UnitAttr());
}

} // namespace mvc
