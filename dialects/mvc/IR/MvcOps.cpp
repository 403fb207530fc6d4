//===- MvcOps.cpp - verifiers and folders of the mvc dialect -------------===//
#include "dialects/mvc/IR/MvcOps.h"
#include "runtime/artifact/BlockFormat.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace mvc;

namespace {
/// Two dimensions agree when equal or when either is dynamic.
bool dimsAgree(int64_t a, int64_t b) {
  return a == b || ShapedType::isDynamic(a) || ShapedType::isDynamic(b);
}

RankedTensorType rankedType(Value v) {
  return cast<RankedTensorType>(v.getType());
}

/// "[T, 8, 64]"-style text for diagnostics.
std::string shapeText(RankedTensorType t) {
  std::string s = "[";
  for (auto [i, d] : llvm::enumerate(t.getShape())) {
    if (i) s += ", ";
    s += ShapedType::isDynamic(d) ? "?" : std::to_string(d);
  }
  return s + "]";
}

/// Checks that `operand` is a vector of the last dimension of `input`.
LogicalResult verifyLastDimVector(Operation *op, Value input, Value operand,
                                  StringRef what) {
  auto in = rankedType(input), v = rankedType(operand);
  if (v.getRank() != 1 || !dimsAgree(v.getDimSize(0), in.getShape().back()))
    return op->emitOpError() << what << " must be [" << in.getShape().back()
                             << "] (the last dimension of the input), got "
                             << shapeText(v);
  return success();
}
} // namespace

std::optional<StringRef> mvc::weightFormat(Value v) {
  if (auto weight = v.getDefiningOp<WeightOp>()) return weight.getFormat();
  return std::nullopt;
}

LogicalResult WeightOp::verify() {
  if (getName().empty()) return emitOpError("weight name must not be empty");
  if (!getType().hasStaticShape())
    return emitOpError("weight '") << getName() << "' must have a static shape";
  if (auto source = getSourceShape()) {
    int64_t count = 1;
    for (int64_t d : *source) count *= d;
    if (llvm::any_of(*source, [](int64_t d) { return d < 0; }) ||
        count != getType().getNumElements())
      return emitOpError("source_shape of weight '")
             << getName() << "' must hold as many elements as its type";
  }
  if (auto format = getFormat()) {
    const BlockFormat *block = findBlockFormat(format->str());
    if (!block)
      return emitOpError("weight '") << getName() << "': unknown format '" << *format
                                     << "' (expected q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k or q6_k)";
    if (!getType().getElementType().isF32() || getType().getRank() != 2 ||
        getType().getDimSize(1) % block->groupValues != 0)
      return emitOpError("weight '") << getName() << "' in format " << *format
                                     << " must be f32 [N, K] with K a multiple of "
                                     << block->groupValues;
    for (Operation *user : getResult().getUsers()) {
      auto matmul = dyn_cast<MatmulOp>(user);
      auto gather = dyn_cast<GatherOp>(user);
      bool rhs = matmul && matmul.getRhs() == getResult() && matmul.getTransposeB() &&
                 !matmul.getGroups();
      bool table = gather && gather.getTable() == getResult() && !gather.getWeights() &&
                   gather.getIds() != getResult();
      if (!rhs && !table)
        return emitOpError("weight '")
               << getName() << "' in format " << *format
               << " may only be the transposed rhs of ungrouped matmuls or the table of "
                  "unweighted gathers, but '"
               << user->getName() << "' reads it otherwise";
    }
  }
  return success();
}

LogicalResult MatmulOp::verify() {
  auto lhs = rankedType(getLhs()), rhs = rankedType(getRhs()), res = getType();
  // A grouped matmul's rhs is one matrix per expert: check the matrix.
  int64_t rhsRank = getGroups() ? 3 : 2;
  if (lhs.getRank() != 2 || rhs.getRank() != rhsRank || res.getRank() != 2)
    return emitOpError("expects a rank-2 lhs and result and a rank-")
           << rhsRank << " rhs, got " << shapeText(lhs) << " x " << shapeText(rhs);
  if (getGroups()) {
    auto groups = rankedType(getGroups());
    if (rhs.isDynamicDim(0) || groups.getRank() != 1 ||
        !dimsAgree(groups.getDimSize(0), rhs.getDimSize(0) + 1))
      return emitOpError("groups must be [E + 1] for the rhs's E = ")
             << rhs.getDimSize(0) << " experts, got " << shapeText(groups);
  }
  int64_t k = lhs.getDimSize(1);
  int64_t rk = getTransposeB() ? rhs.getDimSize(rhsRank - 1) : rhs.getDimSize(rhsRank - 2);
  int64_t n = getTransposeB() ? rhs.getDimSize(rhsRank - 2) : rhs.getDimSize(rhsRank - 1);
  if (!dimsAgree(k, rk))
    return emitOpError("contraction sizes differ: lhs has K=")
           << k << ", rhs has K=" << rk << (getTransposeB() ? " (transposed)" : "");
  if (!dimsAgree(res.getDimSize(0), lhs.getDimSize(0)) || !dimsAgree(res.getDimSize(1), n))
    return emitOpError("result must be ") << "[M, " << n << "], got " << shapeText(res);
  if (!res.getElementType().isF32() && res.getElementType() != lhs.getElementType())
    return emitOpError("result element type must be f32 or the lhs element type");
  return success();
}

static LogicalResult verifyBinary(Operation *op, Value lhsV, Value rhsV, Value resV) {
  auto lhs = rankedType(lhsV), rhs = rankedType(rhsV), res = rankedType(resV);
  if (rhs.getRank() > lhs.getRank())
    return op->emitOpError("rhs rank ") << rhs.getRank() << " exceeds lhs rank " << lhs.getRank();
  int64_t skip = lhs.getRank() - rhs.getRank();
  bool scalar = rhs.getRank() == 1 && rhs.getDimSize(0) == 1;
  for (int64_t i = 0; i < rhs.getRank() && !scalar; ++i)
    if (!dimsAgree(rhs.getDimSize(i), lhs.getDimSize(skip + i)))
      return op->emitOpError("rhs ") << shapeText(rhs) << " does not broadcast to lhs "
                                      << shapeText(lhs);
  if (res.getShape() != lhs.getShape())
    return op->emitOpError("result shape must equal lhs shape ") << shapeText(lhs);
  return success();
}
LogicalResult AddOp::verify() { return verifyBinary(*this, getLhs(), getRhs(), getResult()); }
LogicalResult SubOp::verify() { return verifyBinary(*this, getLhs(), getRhs(), getResult()); }
LogicalResult MulOp::verify() { return verifyBinary(*this, getLhs(), getRhs(), getResult()); }
LogicalResult DivOp::verify() { return verifyBinary(*this, getLhs(), getRhs(), getResult()); }
LogicalResult MaximumOp::verify() { return verifyBinary(*this, getLhs(), getRhs(), getResult()); }
LogicalResult MinimumOp::verify() { return verifyBinary(*this, getLhs(), getRhs(), getResult()); }

LogicalResult GeluOp::verify() {
  if (getApproximate() != "none" && getApproximate() != "tanh")
    return emitOpError("approximate must be \"none\" or \"tanh\", got \"")
           << getApproximate() << "\"";
  return success();
}

OpFoldResult ScaleOp::fold(FoldAdaptor) {
  if (getFactor().convertToFloat() == 1.0f) return getInput();
  return {};
}

LogicalResult SoftcapOp::verify() {
  if (!(getCap().convertToFloat() > 0.0f)) return emitOpError("cap must be positive");
  return success();
}

LogicalResult CastOp::verify() {
  if (rankedType(getInput()).getShape() != getType().getShape())
    return emitOpError("cast must keep the shape");
  return success();
}
OpFoldResult CastOp::fold(FoldAdaptor) {
  if (getInput().getType() == getType()) return getInput();
  return {};
}

LogicalResult RmsNormOp::verify() {
  if (rankedType(getInput()).getShape() != getType().getShape())
    return emitOpError("result shape must equal input shape");
  if (getWeight()) return verifyLastDimVector(*this, getInput(), getWeight(), "weight");
  if (getOffset().convertToFloat() != 0.0f)
    return emitOpError("offset needs a weight");
  return success();
}

LogicalResult LayerNormOp::verify() {
  if (rankedType(getInput()).getShape() != getType().getShape())
    return emitOpError("result shape must equal input shape");
  if (failed(verifyLastDimVector(*this, getInput(), getGamma(), "gamma"))) return failure();
  return verifyLastDimVector(*this, getInput(), getBeta(), "beta");
}

LogicalResult RopeTableOp::verify() {
  auto pos = rankedType(getPositions()), freq = rankedType(getInvFreq()), res = getType();
  if (freq.getRank() != 1 || freq.isDynamicDim(0))
    return emitOpError("inv_freq must be static [R], got ") << shapeText(freq);
  if (getAxes()) {
    auto axes = rankedType(getAxes());
    if (pos.getRank() != 2 || pos.isDynamicDim(1))
      return emitOpError("positions must be [T, A] with axes, got ") << shapeText(pos);
    if (axes.getRank() != 1 || axes.getDimSize(0) != freq.getDimSize(0))
      return emitOpError("axes must be [") << freq.getDimSize(0) << "] (one per frequency), got "
                                           << shapeText(axes);
  } else if (pos.getRank() != 1) {
    return emitOpError("positions must be [T], got ") << shapeText(pos);
  }
  if (res.getRank() != 2 || !dimsAgree(res.getDimSize(0), pos.getDimSize(0)) ||
      res.getDimSize(1) != 2 * freq.getDimSize(0))
    return emitOpError("result must be [T, ") << 2 * freq.getDimSize(0) << "], got " << shapeText(res);
  return success();
}

LogicalResult RopeOp::verify() {
  auto in = rankedType(getInput()), table = rankedType(getTable());
  if (in.getRank() != 3) return emitOpError("input must be [T, heads, D], got ") << shapeText(in);
  if (table.getRank() != 2 || !dimsAgree(table.getDimSize(0), in.getDimSize(0)) ||
      table.isDynamicDim(1) || table.getDimSize(1) % 2 || in.isDynamicDim(2) ||
      table.getDimSize(1) > in.getDimSize(2))
    return emitOpError("table must be [T, 2R] with 2R <= D, got ") << shapeText(table);
  if (getPairing() != "rotate_half")
    return emitOpError("unsupported pairing \"") << getPairing() << "\"";
  if (getType() != in) return emitOpError("result type must equal input type");
  return success();
}

LogicalResult GatherOp::verify() {
  auto table = rankedType(getTable()), ids = rankedType(getIds()), res = getType();
  if (getWeights()) {
    auto w = rankedType(getWeights());
    if (ids.getRank() != 2 || ids.isDynamicDim(1) || w.getRank() != 2 ||
        !dimsAgree(w.getDimSize(0), ids.getDimSize(0)) || w.getDimSize(1) != ids.getDimSize(1))
      return emitOpError("weighted: ids and weights must both be [T, J] with a static J, got ")
             << shapeText(ids) << " and " << shapeText(w);
    if (table.getRank() != 2 || res.getRank() != 2)
      return emitOpError("expects table [V, H] and result [T, H]");
  } else if (table.getRank() != 2 || ids.getRank() != 1 || res.getRank() != 2) {
    return emitOpError("expects table [V, H], ids [T], result [T, H]");
  }
  if (!dimsAgree(res.getDimSize(0), ids.getDimSize(0)) ||
      !dimsAgree(res.getDimSize(1), table.getDimSize(1)))
    return emitOpError("result must be [T, ") << table.getDimSize(1) << "], got " << shapeText(res);
  return success();
}

LogicalResult MergeRowsOp::verify() {
  auto base = rankedType(getBase()), rows = rankedType(getRows()), src = rankedType(getSource());
  if (base.getRank() != 2 || rows.getRank() != 2 || src.getRank() != 1)
    return emitOpError("expects base [T, H], rows [N, H], source [T]");
  if (!dimsAgree(base.getDimSize(1), rows.getDimSize(1)))
    return emitOpError("base rows have ") << base.getDimSize(1) << " elements, rows have "
                                          << rows.getDimSize(1);
  if (!dimsAgree(src.getDimSize(0), base.getDimSize(0)))
    return emitOpError("source must have one entry per base row");
  if (getType() != base) return emitOpError("result type must equal the base type");
  return success();
}

LogicalResult MoeRouteOp::verify() {
  auto logits = rankedType(getLogits());
  if (logits.getRank() != 2 || logits.isDynamicDim(1))
    return emitOpError("expects logits [T, E] with a static E, got ") << shapeText(logits);
  int64_t t = logits.getDimSize(0), e = logits.getDimSize(1), k = getTopK();
  if (k < 1 || k > e)
    return emitOpError("top_k must be in [1, ") << e << "] (the expert count), got " << k;
  auto expect = [&](Value v, SmallVector<int64_t> shape, StringRef what) -> LogicalResult {
    auto type = rankedType(v);
    if (type.getRank() != int64_t(shape.size()) ||
        !llvm::all_of(llvm::seq<size_t>(0, shape.size()),
                      [&](size_t i) { return dimsAgree(type.getDimSize(i), shape[i]); }))
      return emitOpError() << what << " must be " << shapeText(RankedTensorType::get(shape, type.getElementType()))
                           << ", got " << shapeText(type);
    return success();
  };
  int64_t tk = ShapedType::isDynamic(t) ? t : t * k;
  if (failed(expect(getWeights(), {t, k}, "weights")) || failed(expect(getSlots(), {t, k}, "slots")) ||
      failed(expect(getRows(), {tk}, "rows")) || failed(expect(getGroups(), {e + 1}, "groups")))
    return failure();
  if (getExpertScale() && failed(expect(getExpertScale(), {e}, "expert_scale"))) return failure();
  return success();
}

LogicalResult MoeCombineOp::verify() {
  auto rows = rankedType(getExpertRows()), weights = rankedType(getWeights()),
       slots = rankedType(getSlots()), res = getType();
  if (rows.getRank() != 2 || weights.getRank() != 2 || slots.getRank() != 2 || res.getRank() != 2)
    return emitOpError("expects expert_rows [T * k, H], weights and slots [T, k], result [T, H]");
  if (weights.isDynamicDim(1) || !dimsAgree(slots.getDimSize(1), weights.getDimSize(1)) ||
      !dimsAgree(slots.getDimSize(0), weights.getDimSize(0)))
    return emitOpError("weights and slots must both be [T, k] with a static k, got ")
           << shapeText(weights) << " and " << shapeText(slots);
  if (!dimsAgree(res.getDimSize(0), weights.getDimSize(0)) ||
      !dimsAgree(res.getDimSize(1), rows.getDimSize(1)) || res.getElementType() != rows.getElementType())
    return emitOpError("result must be [T, ") << rows.getDimSize(1) << "] of the expert rows' type, got "
                                               << shapeText(res);
  return success();
}

LogicalResult ReshapeOp::verify() {
  auto in = rankedType(getInput()), out = getType();
  if (in.getElementType() != out.getElementType())
    return emitOpError("reshape must keep the element type");
  if (in.hasStaticShape() && out.hasStaticShape() &&
      in.getNumElements() != out.getNumElements())
    return emitOpError("element count differs: ") << shapeText(in) << " vs " << shapeText(out);
  int64_t dynIn = llvm::count_if(in.getShape(), ShapedType::isDynamic);
  int64_t dynOut = llvm::count_if(out.getShape(), ShapedType::isDynamic);
  if (dynIn > 1 || dynOut > 1 || dynIn != dynOut)
    return emitOpError("supports one dynamic dimension kept through the reshape");
  if (dynIn == 1) {
    auto staticProduct = [](RankedTensorType t) {
      int64_t p = 1;
      for (int64_t d : t.getShape()) if (!ShapedType::isDynamic(d)) p *= d;
      return p;
    };
    // The dynamic dimension scales by the ratio of the static products ([?, 4, 4] -> [?]
    // or back): one must divide the other.
    int64_t a = staticProduct(in), b = staticProduct(out);
    if (a % b != 0 && b % a != 0)
      return emitOpError("static dimensions must multiply to sizes that divide one another: ")
             << shapeText(in) << " vs " << shapeText(out);
  }
  return success();
}
OpFoldResult ReshapeOp::fold(FoldAdaptor) {
  if (getInput().getType() == getType()) return getInput();
  if (auto inner = getInput().getDefiningOp<ReshapeOp>()) {
    getInputMutable().assign(inner.getInput());
    return getResult();
  }
  return {};
}

LogicalResult TransposeOp::verify() {
  auto in = rankedType(getInput()), out = getType();
  ArrayRef<int64_t> perm = getPermutation();
  if ((int64_t)perm.size() != in.getRank())
    return emitOpError("permutation must have ") << in.getRank() << " entries";
  llvm::SmallVector<bool> seen(perm.size(), false);
  for (auto [i, p] : llvm::enumerate(perm)) {
    if (p < 0 || p >= in.getRank() || seen[p])
      return emitOpError("permutation is not a permutation of 0..") << in.getRank() - 1;
    seen[p] = true;
    if (!dimsAgree(out.getDimSize(i), in.getDimSize(p)))
      return emitOpError("result dim ") << i << " must be input dim " << p;
  }
  return success();
}
OpFoldResult TransposeOp::fold(FoldAdaptor) {
  for (auto [i, p] : llvm::enumerate(getPermutation()))
    if ((int64_t)i != p) return {};
  return getInput();
}

LogicalResult SliceOp::verify() {
  auto in = rankedType(getInput()), out = getType();
  int64_t axis = getAxis();
  if (axis < 0 || axis >= in.getRank()) return emitOpError("axis out of range");
  if (getStart() < 0 || getSize() <= 0 ||
      (!in.isDynamicDim(axis) && getStart() + getSize() > in.getDimSize(axis)))
    return emitOpError("slice [") << getStart() << ", " << getStart() + getSize()
                                   << ") out of bounds of dim " << axis << " " << shapeText(in);
  for (int64_t i = 0; i < in.getRank(); ++i) {
    int64_t want = i == axis ? getSize() : in.getDimSize(i);
    if (!dimsAgree(out.getDimSize(i), want))
      return emitOpError("result must be ") << "dim " << i << " = " << want;
  }
  return success();
}
OpFoldResult SliceOp::fold(FoldAdaptor) {
  auto in = rankedType(getInput());
  if (getStart() == 0 && !in.isDynamicDim(getAxis()) &&
      in.getDimSize(getAxis()) == getSize() && in == getType())
    return getInput();
  return {};
}

LogicalResult ConcatOp::verify() {
  if (getInputs().empty()) return emitOpError("needs at least one input");
  auto out = getType();
  int64_t axis = getAxis(), total = 0;
  if (axis < 0 || axis >= out.getRank()) return emitOpError("axis out of range");
  for (Value v : getInputs()) {
    auto t = rankedType(v);
    if (t.getRank() != out.getRank()) return emitOpError("inputs must have the result's rank");
    for (int64_t i = 0; i < t.getRank(); ++i)
      if (i != axis && !dimsAgree(t.getDimSize(i), out.getDimSize(i)))
        return emitOpError("input ") << shapeText(t) << " disagrees with result off the axis";
    total = (t.isDynamicDim(axis) || total < 0) ? -1 : total + t.getDimSize(axis);
  }
  if (total >= 0 && !dimsAgree(total, out.getDimSize(axis)))
    return emitOpError("result dim ") << axis << " must be " << total;
  return success();
}

/// Shared checks of the cache operand and the tokens read or written through it.
static LogicalResult verifyCache(Operation *op, RankedTensorType tokens, Value cache) {
  auto c = rankedType(cache);
  if (c.getRank() != 4)
    return op->emitOpError("cache must be [pages, page_size, kv_heads, D], got ") << shapeText(c);
  if (c.isDynamicDim(1) || c.isDynamicDim(2) || c.isDynamicDim(3))
    return op->emitOpError("cache page_size, kv_heads and D must be static");
  if (tokens.getRank() != 3 || !dimsAgree(tokens.getDimSize(2), c.getDimSize(3)))
    return op->emitOpError("tokens must be [T, heads, ") << c.getDimSize(3) << "], got "
                                                         << shapeText(tokens);
  return success();
}

/// Shared checks of the paged-cache operands.
static LogicalResult verifyPaged(Operation *op, RankedTensorType tokens, Value cache,
                                 Value blockTable, Value rowOffsets, Value cacheLens) {
  if (failed(verifyCache(op, tokens, cache))) return failure();
  if (rankedType(blockTable).getRank() != 2)
    return op->emitOpError("block_table must be [batch, max_pages]");
  if (rankedType(rowOffsets).getRank() != 1 || rankedType(cacheLens).getRank() != 1)
    return op->emitOpError("row_offsets must be [batch + 1] and cache_lens [batch]");
  return success();
}

LogicalResult KvWriteOp::verify() {
  auto vals = rankedType(getValues());
  if (failed(verifyPaged(*this, vals, getCache(), getBlockTable(), getRowOffsets(),
                         getCacheLens())))
    return failure();
  if (!dimsAgree(vals.getDimSize(1), rankedType(getCache()).getDimSize(2)))
    return emitOpError("values have ") << vals.getDimSize(1) << " heads, cache has "
                                       << rankedType(getCache()).getDimSize(2);
  if (getType() != getCache().getType()) return emitOpError("result type must be the cache type");
  return success();
}

LogicalResult AttentionOp::verify() {
  auto q = rankedType(getQuery());
  bool tables = getBlockTable() && getRowOffsets() && getCacheLens();
  if (!tables && (getBlockTable() || getRowOffsets() || getCacheLens()))
    return emitOpError("takes all of block_table, row_offsets and cache_lens or none");
  if (tables && failed(verifyPaged(*this, q, getKeyCache(), getBlockTable(), getRowOffsets(),
                                   getCacheLens())))
    return failure();
  if (getSegments()) {
    if (tables) return emitOpError("takes segments or the page tables, not both");
    if (failed(verifyCache(*this, q, getKeyCache()))) return failure();
    auto c = rankedType(getKeyCache()), seg = rankedType(getSegments());
    if (c.getDimSize(1) != 1 || !dimsAgree(c.getDimSize(0), q.getDimSize(0)))
      return emitOpError("with segments the keys and values are [T, 1, kv_heads, D] (the query's rows), got ")
             << shapeText(c);
    if (seg.getRank() != 1) return emitOpError("segments must be [S + 1], got ") << shapeText(seg);
    if (getGroupSpans() || getSlidingWindow() != 0 || getKeyMask())
      return emitOpError("with segments takes no group_spans, sliding_window or key_mask");
  } else if (!tables) {
    if (failed(verifyCache(*this, q, getKeyCache()))) return failure();
    if (getGroupSpans() || getSlidingWindow() != 0)
      return emitOpError("without tables (segments) takes no group_spans and no sliding_window");
    auto c = rankedType(getKeyCache());
    int64_t rows = q.getDimSize(0), segments = c.getDimSize(0);
    if (!ShapedType::isDynamic(rows) && !ShapedType::isDynamic(segments) &&
        rows != segments * c.getDimSize(1))
      return emitOpError("without tables the query has one row per key: ")
             << segments << " segments of " << c.getDimSize(1) << " rows, not " << rows;
  }
  if (getKeyCache().getType() != getValueCache().getType())
    return emitOpError("key and value caches must have the same type");
  int64_t heads = q.getDimSize(1), kvHeads = rankedType(getKeyCache()).getDimSize(2);
  if (ShapedType::isDynamic(heads) || heads % kvHeads != 0)
    return emitOpError("query heads (") << heads << ") must be a multiple of kv heads ("
                                        << kvHeads << ")";
  if (getType() != q) return emitOpError("result type must equal the query type");
  if (getSlidingWindow() < 0) return emitOpError("sliding_window must be >= 0");
  if (getSoftcap().convertToFloat() < 0.0f) return emitOpError("softcap must be >= 0");
  if (getGroupSpans()) {
    auto spans = rankedType(getGroupSpans());
    if (spans.getRank() != 2 || spans.getDimSize(1) != 2 ||
        !dimsAgree(spans.getDimSize(0), q.getDimSize(0)))
      return emitOpError("group_spans must be [T, 2], got ") << shapeText(spans);
  }
  if (getGroupWindowClip() && !getGroupSpans())
    return emitOpError("group_window_clip needs group_spans");
  if (getKeyMask()) {
    if (tables) return emitOpError("key_mask is for segments (no tables)");
    auto mask = rankedType(getKeyMask());
    auto c = rankedType(getKeyCache());
    if (mask.getRank() != 2 || !dimsAgree(mask.getDimSize(0), c.getDimSize(0)) ||
        mask.getDimSize(1) != c.getDimSize(1))
      return emitOpError("key_mask must be [segments, ") << c.getDimSize(1) << "], got "
                                                         << shapeText(mask);
  }
  return success();
}

LogicalResult DispatchRegionOp::verify() {
  auto yield = dyn_cast<YieldOp>(getBody().front().getTerminator());
  if (!yield) return emitOpError("body must end with mvc.yield");
  if (yield.getValues().getTypes() != getResultTypes())
    return emitOpError("yielded types must match the results");
  // A lowering config, where set, is one the region's kernel template reads.
  if (Attribute config = (*this)->getAttr("lowering_config")) {
    bool fits = false;
    switch (getKind()) {
    case DispatchKind::matmul:
      fits = isa<CpuMatmulConfigAttr, GpuMatmulConfigAttr>(config);
      break;
    case DispatchKind::attention:
      fits = isa<CpuAttentionConfigAttr, GpuAttentionConfigAttr>(config);
      break;
    case DispatchKind::row:
    case DispatchKind::copy:
      fits = isa<CpuRowsConfigAttr>(config);
      break;
    default:
      break;
    }
    if (!fits)
      return emitOpError("lowering_config ")
             << config << " is not a config of a " << stringifyDispatchKind(getKind())
             << " kernel";
  }
  return success();
}

#define GET_OP_CLASSES
//===----------------------------------------------------------------------===//
// KernelOpInterface
//===----------------------------------------------------------------------===//

DispatchKind MatmulOp::getDispatchKind() { return DispatchKind::matmul; }
DispatchKind AttentionOp::getDispatchKind() { return DispatchKind::attention; }
DispatchKind KvWriteOp::getDispatchKind() { return DispatchKind::kv_write; }
DispatchKind TransposeOp::getDispatchKind() { return DispatchKind::copy; }
// Along the last axis a slice or concat works on rows; along any other it moves blocks.
DispatchKind SliceOp::getDispatchKind() {
  return getAxis() == getType().getRank() - 1 ? DispatchKind::row : DispatchKind::copy;
}
DispatchKind ConcatOp::getDispatchKind() {
  return getAxis() == getType().getRank() - 1 ? DispatchKind::row : DispatchKind::copy;
}
// A gather changes the row count (tokens -> selected rows): it starts a region.
SmallVector<Value> GatherOp::getRowOperands() { return {}; }
// Expert rows are read by slot; weights and slots have k columns, not the result's row
// shape: a combine starts its own region (its residual add may then join it).
SmallVector<Value> MoeCombineOp::getRowOperands() { return {}; }
DispatchKind MoeRouteOp::getDispatchKind() { return DispatchKind::moe_route; }
// merge_rows reads `rows` and `source` by index: only `base` is a row of the region.
SmallVector<Value> MergeRowsOp::getRowOperands() { return {getBase()}; }

#include "dialects/mvc/IR/MvcEnums.cpp.inc"
#include "dialects/mvc/IR/MvcInterfaces.cpp.inc"
#include "dialects/mvc/IR/MvcOps.cpp.inc"
