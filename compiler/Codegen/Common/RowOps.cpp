//===- RowOps.cpp - the bodies of row ops, written once for every backend -===//
#include "compiler/Codegen/Common/RowOps.h"
#include "runtime/artifact/BlockFormat.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace mvc {

Value RowLoops::idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
Value RowLoops::f32(float v) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
}

RowOpEmitter::RowOpEmitter(DispatchRegionOp region, const DispatchSignature &sig,
                           const DimsOf &dims)
    : region(region), sig(sig), dims(dims) {
  Operation *first = &region.getBody().front().front();
  std::vector<SymExpr> shape = dims(first->getResult(0));
  numRows = product(shape, 0, shape.size() - 1);
  push = {numRows};
  for (Operation &op : ops())
    if (auto merge = dyn_cast<MergeRowsOp>(op)) {
      mergePush[merge] = int(push.size());
      push.push_back(dims(merge.getRows())[0]);
    }
  // Results live in their bindings; everything else in a scratch row.
  auto yield = cast<YieldOp>(region.getBody().front().getTerminator());
  for (auto [i, v] : llvm::enumerate(yield.getValues()))
    outputOf[v] = sig.operands.size() + i;
}

LogicalResult RowOpEmitter::verify() {
  for (Operation &op : ops())
    for (Value r : op.getResults())
      if (ShapedType::isDynamic(lastDim(r)))
        return op.emitError("row kernels need a static last dimension");
  return success();
}

SmallVector<Value> RowOpEmitter::scratchValues() {
  SmallVector<Value> values;
  for (Operation &op : ops())
    for (Value r : op.getResults())
      if (!outputOf.count(r)) values.push_back(r);
  return values;
}

void RowOpEmitter::beginRow(RowLoops &l, Value r, Block *block) {
  loops = &l;
  row = r;
  rowBlock = block;
  rowBases.clear();
}

/// The memref and element offset of the current row of `v`.
std::pair<Value, Value> RowOpEmitter::rowOf(Value v) {
  if (auto it = scratch.find(v); it != scratch.end()) return {it->second, loops->idx(0)};
  if (auto it = rowBases.find(v); it != rowBases.end()) return it->second;
  // Created at the top of the row so every loop over the row can use it.
  OpBuilder &b = loops->b;
  Location loc = loops->loc;
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(rowBlock);
  int binding = outputOf.count(v) ? outputOf[v] : sig.bindingOf(v);
  assert(binding >= 0 && "value is not bound");
  Value mem = loops->binding(binding, cast<RankedTensorType>(v.getType()).getElementType());
  // Operands with fewer leading rows broadcast (they are a suffix of the row shape).
  std::vector<SymExpr> shape = dims(v);
  SymExpr vRows = product(shape, 0, shape.size() - 1);
  Value r = row;
  if (!(vRows == numRows)) {
    auto c = vRows.constant();
    r = (c && *c == 1) ? loops->idx(0)
                       : arith::RemUIOp::create(b, loc, row, loops->idx(c.value_or(1)));
  }
  Value base = arith::MulIOp::create(b, loc, r, loops->idx(lastDim(v)));
  rowBases[v] = {mem, base};
  return {mem, base};
}

Value RowOpEmitter::read(Value v, Value at, int lanes) {
  auto [mem, base] = rowOf(v);
  return loops->load(mem, arith::AddIOp::create(loops->b, loops->loc, base, at), lanes);
}

void RowOpEmitter::write(Value v, Value at, Value value) {
  auto [mem, base] = rowOf(v);
  loops->store(value, mem, arith::AddIOp::create(loops->b, loops->loc, base, at));
}

LogicalResult RowOpEmitter::emitOp(Operation *op) {
  RowLoops &l = *loops;
  OpBuilder &b = l.b;
  Location loc = l.loc;
  /// 1 / sqrt(meanSquare + eps)
  auto invSqrt = [&](Value meanSquare, float eps) -> Value {
    return l.divf(l.f32(1.0f), math::SqrtOp::create(b, loc, l.addf(meanSquare, l.f32(eps))));
  };
  Value out = op->getResult(0);
  int64_t n = lastDim(out);

  if (auto norm = dyn_cast<RmsNormOp>(op)) {
    Value x = norm.getInput();
    Value ss = l.reduce(n, false, [&](Value c, int lanes) {
      Value v = read(x, c, lanes);
      return l.mulf(v, v);
    });
    Value mean = l.divf(ss, l.f32(float(n)));
    Value inv = invSqrt(mean, norm.getEps().convertToFloat());
    float offset = norm.getOffset().convertToFloat();
    l.forEach(n, [&](Value c, int lanes) {
      Value v = read(x, c, lanes);
      Value y = l.mulf(v, l.splatLike(inv, v));
      if (Value w = norm.getWeight()) {
        Value wv = read(w, c, lanes);
        if (offset != 0.0f) wv = l.addf(wv, l.splatLike(l.f32(offset), wv));
        y = l.mulf(y, wv);
      }
      write(out, c, y);
    });
    return success();
  }
  if (auto ln = dyn_cast<LayerNormOp>(op)) {
    Value x = ln.getInput();
    Value sum = l.reduce(n, false, [&](Value c, int lanes) { return read(x, c, lanes); });
    Value mean = l.divf(sum, l.f32(float(n)));
    Value ss = l.reduce(n, false, [&](Value c, int lanes) {
      Value v = read(x, c, lanes);
      Value d = l.subf(v, l.splatLike(mean, v));
      return l.mulf(d, d);
    });
    Value var = l.divf(ss, l.f32(float(n)));
    Value inv = invSqrt(var, ln.getEps().convertToFloat());
    l.forEach(n, [&](Value c, int lanes) {
      Value v = read(x, c, lanes);
      Value y = l.mulf(l.subf(v, l.splatLike(mean, v)), l.splatLike(inv, v));
      write(out, c,
            l.addf(l.mulf(y, read(ln.getGamma(), c, lanes)), read(ln.getBeta(), c, lanes)));
    });
    return success();
  }
  if (auto sm = dyn_cast<SoftmaxOp>(op)) {
    Value x = sm.getInput();
    Value mx = l.reduce(n, true, [&](Value c, int lanes) { return read(x, c, lanes); });
    auto expAt = [&](Value c, int lanes) -> Value {
      Value v = read(x, c, lanes);
      return math::ExpOp::create(b, loc, l.subf(v, l.splatLike(mx, v)));
    };
    Value sum = l.reduce(n, false, expAt);
    Value inv = l.divf(l.f32(1.0f), sum);
    l.forEach(n, [&](Value c, int lanes) {
      Value e = expAt(c, lanes);
      write(out, c, l.mulf(e, l.splatLike(inv, e)));
    });
    return success();
  }
  if (auto rope = dyn_cast<RopeOp>(op)) return emitRope(rope);
  if (auto table = dyn_cast<RopeTableOp>(op)) return emitRopeTable(table);
  if (auto gather = dyn_cast<GatherOp>(op)) return emitGather(gather);
  if (auto merge = dyn_cast<MergeRowsOp>(op)) return emitMergeRows(merge);
  if (auto combine = dyn_cast<MoeCombineOp>(op)) return emitMoeCombine(combine);
  if (auto slice = dyn_cast<SliceOp>(op)) {
    l.forEach(n, [&](Value c, int lanes) {
      write(out, c, read(slice.getInput(), l.add(c, l.idx(slice.getStart())), lanes));
    });
    return success();
  }
  if (auto concat = dyn_cast<ConcatOp>(op)) {
    int64_t offset = 0;
    for (Value in : concat.getInputs()) {
      l.forEach(lastDim(in), [&](Value c, int lanes) {
        write(out, l.add(c, l.idx(offset)), read(in, c, lanes));
      });
      offset += lastDim(in);
    }
    return success();
  }
  // A one-element rhs is a scalar: read once per chunk and broadcast (the lhs never is one
  // unless the whole row is a single element).
  auto scalar = [&](Value v) {
    auto type = cast<RankedTensorType>(v.getType());
    return n != 1 && type.getRank() == 1 && type.getDimSize(0) == 1;
  };
  l.forEach(n, [&](Value c, int lanes) {
    SmallVector<Value> args;
    for (Value operand : op->getOperands())
      args.push_back(scalar(operand) ? Value() : read(operand, c, lanes));
    for (auto [i, operand] : llvm::enumerate(op->getOperands()))
      if (!args[i]) args[i] = l.splatLike(read(operand, l.idx(0), 1), args[0]);
    write(out, c, emitElementwise(b, loc, op, args));
  });
  return success();
}

/// The block format of a `<format>_n16` table layout, else nullptr.
static const BlockFormat *blockLayout(StringRef layout) {
  if (!layout.ends_with("_n16")) return nullptr;
  return findBlockFormat(layout.drop_back(4).str());
}

LogicalResult RowOpEmitter::emitGather(GatherOp gather) {
  RowLoops &l = *loops;
  OpBuilder &b = l.b;
  Location loc = l.loc;
  Value out = gather.getResult();
  int64_t n = lastDim(out);
  auto layout = gather->getAttrOfType<StringAttr>("mvc.table_layout");
  // Block-format tables are read in their panels on every backend (they have no other
  // copy); the other panel layouts only where the backend packs matmul weights.
  if (layout && !blockLayout(layout.getValue()) && !l.readsPanelTables())
    return gather.emitError("this backend reads row_major tables only");
  auto tableType = cast<RankedTensorType>(gather.getTable().getType());
  if (gather.getWeights()) {
    if (layout) return gather.emitError("a weighted gather reads row_major tables only");
    int64_t taps = lastDim(gather.getIds());
    Value idsMem = l.binding(sig.bindingOf(gather.getIds()), b.getI32Type());
    Value weights = l.binding(sig.bindingOf(gather.getWeights()), b.getF32Type());
    Value tableMem = l.binding(sig.bindingOf(gather.getTable()), tableType.getElementType());
    emitWeightedRows(out, tableMem, taps, [&](int64_t j) {
      Value at = l.add(l.mul(row, l.idx(taps)), l.idx(j));
      Value id = arith::IndexCastOp::create(b, loc, b.getIndexType(),
                                            memref::LoadOp::create(b, loc, idsMem, at));
      if (!tableType.isDynamicDim(0))  // backstop, as below
        id = arith::MinSIOp::create(b, loc, arith::MaxSIOp::create(b, loc, id, l.idx(0)),
                                    l.idx(tableType.getDimSize(0) - 1));
      return std::make_pair(id, Value(memref::LoadOp::create(b, loc, weights, at)));
    });
    return success();
  }
  Value ids = l.binding(sig.bindingOf(gather.getIds()), b.getI32Type());
  Value id = arith::IndexCastOp::create(b, loc, b.getIndexType(),
                                        memref::LoadOp::create(b, loc, ids, row));
  // Out-of-range ids of a weight table are refused by the runtime before launch; clamp
  // as a backstop. (Rows of an activation are chosen by the runtime itself.)
  if (!tableType.isDynamicDim(0))
    id = arith::MinSIOp::create(b, loc, arith::MaxSIOp::create(b, loc, id, l.idx(0)),
                                l.idx(tableType.getDimSize(0) - 1));
  Value table = l.binding(sig.bindingOf(gather.getTable()), tableType.getElementType());
  if (!layout) {
    Value base = l.mul(id, l.idx(n));
    l.forEach(n, [&](Value c, int lanes) { write(out, c, l.load(table, l.add(base, c), lanes)); });
    return success();
  }
  if (const BlockFormat *f = blockLayout(layout.getValue())) {
    // Blocks in 16-row panels (BlockFormat.h): element c of row `id` decoded as ggml does
    // (d·(q − offset), d·q + m, or (d·sc)·q − dmin·m), each field of the row a fixed
    // stride from the next row's within the panel-group.
    if (n % f->groupValues)
      return gather.emitError("a ") << layout.getValue() << " table needs rows of a multiple of "
                                    << f->groupValues;
    Value bytes = l.binding(sig.bindingOf(gather.getTable()), b.getI8Type());
    Value halves = l.binding(sig.bindingOf(gather.getTable()), b.getF16Type());
    Value words = l.binding(sig.bindingOf(gather.getTable()), b.getI32Type());
    Value panelGroups = l.mul(l.div(id, BlockFormat::kRows), l.idx(n / f->groupValues));
    Value lane = arith::RemUIOp::create(b, loc, id, l.idx(BlockFormat::kRows));
    auto i32 = [&](Value v) { return arith::IndexCastOp::create(b, loc, b.getI32Type(), v); };
    auto c32 = [&](int32_t v) { return arith::ConstantIntOp::create(b, loc, v, 32); };
    auto u8AsF32 = [&](Value at) {
      Value v = memref::LoadOp::create(b, loc, bytes, ValueRange{at});
      return arith::UIToFPOp::create(b, loc, b.getF32Type(), v);
    };
    l.forEachElement(n, [&](Value c) {
      Value start = l.mul(l.add(panelGroups, l.div(c, f->groupValues)), l.idx(f->panelGroupBytes()));
      Value sub = l.rem(l.div(c, BlockFormat::kValues), f->blocksPerGroup());
      Value kk = l.rem(c, BlockFormat::kValues);
      auto field = [&](int64_t offset0, int64_t stride) {  // offset0 + stride·sub past start
        return l.add(start, l.add(l.idx(offset0), l.mul(sub, l.idx(stride))));
      };
      Value d = l.load(halves, l.add(l.div(start, 2), lane), 0);
      Value quants = field(f->quantOffset(0), f->quantBytes());
      Value x;
      if (f->bits == 8) {
        x = l.load(bytes, l.add(quants, l.add(l.mul(kk, l.idx(16)), lane)), 0);  // sitofp(i8)
      } else {
        Value byte = memref::LoadOp::create(
            b, loc, bytes, ValueRange{l.add(quants, l.add(l.mul(l.rem(kk, 16), l.idx(16)), lane))});
        Value wide = arith::ExtUIOp::create(b, loc, b.getI32Type(), byte);
        Value shift = arith::MulIOp::create(b, loc, i32(l.div(kk, 16)), c32(4));
        Value q = arith::AndIOp::create(b, loc, arith::ShRUIOp::create(b, loc, wide, shift), c32(15));
        if (f->highBits() == 1) {
          Value qh = memref::LoadOp::create(
              b, loc, words, ValueRange{l.add(l.div(field(f->highOffset(0), 4 * BlockFormat::kRows), 4), lane)});
          Value bit = arith::AndIOp::create(b, loc, arith::ShRUIOp::create(b, loc, qh, i32(kk)), c32(1));
          q = arith::OrIOp::create(b, loc, q, arith::ShLIOp::create(b, loc, bit, c32(4)));
        } else if (f->highBits() == 2) {  // q6_k: word kk / 16, bits 2 (kk % 16) and up
          Value word = l.add(field(f->highOffset(0), 8 * BlockFormat::kRows),
                             l.mul(l.div(kk, 16), l.idx(4 * BlockFormat::kRows)));
          Value qh = memref::LoadOp::create(b, loc, words, ValueRange{l.add(l.div(word, 4), lane)});
          Value by = arith::MulIOp::create(b, loc, i32(l.rem(kk, 16)), c32(2));
          Value two = arith::AndIOp::create(b, loc, arith::ShRUIOp::create(b, loc, qh, by), c32(3));
          q = arith::OrIOp::create(b, loc, q, arith::ShLIOp::create(b, loc, two, c32(4)));
        }
        if (f->offset) q = arith::SubIOp::create(b, loc, q, c32(f->offset));
        x = arith::SIToFPOp::create(b, loc, b.getF32Type(), q);
      }
      Value min = f->hasMin ? l.load(halves, l.add(l.div(l.add(start, l.idx(f->minOffset())), 2), lane), 0)
                            : Value();
      Value value;
      if (f->bits == 6) {  // (d·sc)·(q − 32), sc the int8 scale of the value's 16
        Value at = l.add(l.add(field(f->subScaleOffset(0), 2 * BlockFormat::kRows),
                               l.mul(l.div(kk, 16), l.idx(BlockFormat::kRows))),
                         lane);
        Value sc = l.load(bytes, at, 0);  // sitofp(int8)
        value = arith::MulFOp::create(b, loc, arith::MulFOp::create(b, loc, d, sc), x);
      } else if (f->kQuant()) {
        Value scale = arith::MulFOp::create(b, loc, d, u8AsF32(l.add(field(f->subScaleOffset(0), BlockFormat::kRows), lane)));
        Value offset = arith::MulFOp::create(b, loc, min, u8AsF32(l.add(field(f->subMinOffset(0), BlockFormat::kRows), lane)));
        value = arith::SubFOp::create(b, loc, arith::MulFOp::create(b, loc, scale, x), offset);
      } else {
        value = arith::MulFOp::create(b, loc, d, x);
        if (min) value = arith::AddFOp::create(b, loc, value, min);
      }
      write(out, c, value);
    });
    return success();
  }
  // Rows of a table stored as 16-row panels (runtime/artifact/FORMAT.md): row `id` is
  // spread across its panel, 16 (or, with bf16 pairs, 32) elements apart.
  bool pairs = layout.getValue() == "packed_n16_k2";
  int64_t kp = pairs ? (n + 1) / 2 * 2 : n;
  Value panel = l.mul(l.div(id, 16), l.idx(kp * 16));
  Value lane = arith::RemUIOp::create(b, loc, id, l.idx(16));
  l.forEachElement(n, [&](Value c) {
    Value at;
    if (pairs) {
      Value pairBase = l.mul(l.div(c, 2), l.idx(32));
      at = l.add(l.add(panel, pairBase),
               l.add(l.mul(lane, l.idx(2)), l.rem(c, 2)));
    } else {
      at = l.add(l.add(panel, l.mul(c, l.idx(16))), lane);
    }
    write(out, c, l.load(table, at, 0));
  });
  return success();
}

LogicalResult RowOpEmitter::emitMergeRows(MergeRowsOp merge) {
  RowLoops &l = *loops;
  OpBuilder &b = l.b;
  Location loc = l.loc;
  Value out = merge.getResult();
  int64_t n = lastDim(out);
  // The runtime checks `source` against the rows it passes; clamp as a backstop.
  Value source = l.binding(sig.bindingOf(merge.getSource()), b.getI32Type());
  Value rowsMem = l.binding(sig.bindingOf(merge.getRows()),
                            cast<RankedTensorType>(merge.getRows().getType()).getElementType());
  Value s = arith::IndexCastOp::create(b, loc, b.getIndexType(),
                                       memref::LoadOp::create(b, loc, source, row));
  Value fromRows = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, s, l.idx(0));
  Value last = arith::SubIOp::create(b, loc, l.push(mergePush.lookup(merge)), l.idx(1));
  // On the gpu the condition is uniform across the block (one row per block).
  auto ifOp = scf::IfOp::create(b, loc, fromRows, /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&ifOp.getThenRegion().front());
  Value base = arith::MulIOp::create(b, loc, arith::MinSIOp::create(b, loc, s, last), l.idx(n));
  l.forEach(n, [&](Value c, int lanes) {
    Value x = l.load(rowsMem, arith::AddIOp::create(b, loc, base, c), lanes);
    write(out, c, merge.getAccumulate() ? l.addf(read(merge.getBase(), c, lanes), x) : x);
  });
  b.setInsertionPointToStart(&ifOp.getElseRegion().front());
  l.forEach(n, [&](Value c, int lanes) { write(out, c, read(merge.getBase(), c, lanes)); });
  return success();
}

/// Row t: the sum over j of weights[t][j] · expert_rows[slots[t][j]], in j order (the
/// route kernel writes a token's choices in ascending expert order).
LogicalResult RowOpEmitter::emitMoeCombine(MoeCombineOp combine) {
  RowLoops &l = *loops;
  OpBuilder &b = l.b;
  Location loc = l.loc;
  Value out = combine.getResult();
  int64_t n = lastDim(out), k = lastDim(combine.getWeights());
  Value slots = l.binding(sig.bindingOf(combine.getSlots()), b.getI32Type());
  Value weights = l.binding(sig.bindingOf(combine.getWeights()), b.getF32Type());
  Value rowsMem = l.binding(sig.bindingOf(combine.getExpertRows()),
                            cast<RankedTensorType>(combine.getExpertRows().getType()).getElementType());
  emitWeightedRows(out, rowsMem, k, [&](int64_t j) {
    Value at = l.add(l.mul(row, l.idx(k)), l.idx(j));
    Value slot = arith::IndexCastOp::create(b, loc, b.getIndexType(),
                                            memref::LoadOp::create(b, loc, slots, at));
    return std::make_pair(slot, Value(memref::LoadOp::create(b, loc, weights, at)));
  });
  return success();
}

void RowOpEmitter::emitWeightedRows(
    Value out, Value table, int64_t taps,
    const std::function<std::pair<Value, Value>(int64_t)> &tap) {
  RowLoops &l = *loops;
  int64_t n = lastDim(out);
  for (int64_t j = 0; j < taps; ++j) {
    auto [index, w] = tap(j);
    Value base = l.mul(index, l.idx(n));
    l.forEach(n, [&, w = w](Value c, int lanes) {
      Value x = l.load(table, l.add(base, c), lanes);
      Value y = l.mulf(x, l.splatLike(w, x));
      write(out, c, j == 0 ? y : l.addf(read(out, c, lanes), y));
    });
  }
}

/// Row t of a rope table: cos then sin of positions[t] × inv_freq (angle rounded to f32
/// first, as HF's f32 `inv_freq @ positions`). The table is computed once per program,
/// not per layer or head.
LogicalResult RowOpEmitter::emitRopeTable(RopeTableOp table) {
  RowLoops &l = *loops;
  OpBuilder &b = l.b;
  Location loc = l.loc;
  int64_t half = cast<RankedTensorType>(table.getInvFreq().getType()).getDimSize(0);
  Value positions = l.binding(sig.bindingOf(table.getPositions()), b.getI32Type());
  auto toF32 = [&](Value p) { return arith::SIToFPOp::create(b, loc, b.getF32Type(), p); };
  Value pos, axes, posRow;
  if (table.getAxes()) {  // M-RoPE: this row's positions, one per axis
    axes = l.binding(sig.bindingOf(table.getAxes()), b.getI32Type());
    posRow = l.mul(row, l.idx(lastDim(table.getPositions())));
  } else {
    pos = toF32(memref::LoadOp::create(b, loc, positions, row));
  }
  Value freqs = l.binding(sig.bindingOf(table.getInvFreq()), b.getF32Type());
  Value out = table.getResult();
  l.forEachElement(half, [&](Value i) {
    Value p = pos;
    if (axes) {
      Value axis = arith::IndexCastOp::create(b, loc, b.getIndexType(),
                                              memref::LoadOp::create(b, loc, axes, i));
      p = toF32(memref::LoadOp::create(b, loc, positions, l.add(posRow, axis)));
    }
    Value angle = arith::MulFOp::create(b, loc, p, memref::LoadOp::create(b, loc, freqs, i));
    auto [sin, cos] = l.sinCos(angle);
    write(out, i, cos);
    write(out, arith::AddIOp::create(b, loc, i, l.idx(half)), sin);
  });
  return success();
}

/// Rotate-half RoPE for row r = (token t, head h) of a [T, H, D] input, reading the
/// table's row t.
LogicalResult RowOpEmitter::emitRope(RopeOp rope) {
  RowLoops &l = *loops;
  OpBuilder &b = l.b;
  Location loc = l.loc;
  auto type = cast<RankedTensorType>(rope.getInput().getType());
  int64_t heads = type.getDimSize(1), d = type.getDimSize(2);
  int64_t half = cast<RankedTensorType>(rope.getTable().getType()).getDimSize(1) / 2;
  Value t = arith::DivUIOp::create(b, loc, row, l.idx(heads));
  // The table has one row per token, so it never shares a row region with the rope.
  Value tableMem = l.binding(sig.bindingOf(rope.getTable()), b.getF32Type());
  Value tableBase = arith::MulIOp::create(b, loc, t, l.idx(2 * half));
  Value x = rope.getInput(), out = rope.getResult();
  l.forEach(half, [&](Value i, int lanes) {
    Value iHi = l.add(i, l.idx(half));
    Value x1 = read(x, i, lanes), x2 = read(x, iHi, lanes);
    Value c = l.load(tableMem, l.add(tableBase, i), lanes);
    Value s = l.load(tableMem, l.add(tableBase, iHi), lanes);
    write(out, i, arith::SubFOp::create(b, loc, l.mulf(x1, c), l.mulf(x2, s)));
    write(out, iHi, arith::AddFOp::create(b, loc, l.mulf(x2, c), l.mulf(x1, s)));
  });
  if (2 * half < d)
    l.forEach(d - 2 * half, [&](Value i, int lanes) {
      Value at = l.add(i, l.idx(2 * half));
      write(out, at, read(x, at, lanes));
    });
  return success();
}

Value emitElementwise(OpBuilder &b, Location loc, Operation *op, ArrayRef<Value> v) {
  auto splat = [&](float c) -> Value {
    Value s = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(c));
    if (auto vt = dyn_cast<VectorType>(v[0].getType()))
      return vector::BroadcastOp::create(b, loc, vt, s);
    return s;
  };
  KernelMath m(b, loc);
  if (isa<AddOp>(op)) return m.addf(v[0], v[1]);
  if (isa<SubOp>(op)) return m.subf(v[0], v[1]);
  if (isa<MulOp>(op)) return m.mulf(v[0], v[1]);
  if (isa<DivOp>(op)) return m.divf(v[0], v[1]);
  if (isa<MaximumOp>(op)) return arith::MaximumFOp::create(b, loc, v[0], v[1]);
  if (isa<MinimumOp>(op)) return arith::MinimumFOp::create(b, loc, v[0], v[1]);
  if (isa<NegOp>(op)) return arith::NegFOp::create(b, loc, v[0]);
  if (isa<ExpOp>(op)) return math::ExpOp::create(b, loc, v[0]);
  if (isa<TanhOp>(op)) return math::TanhOp::create(b, loc, v[0]);
  if (auto s = dyn_cast<ScaleOp>(op)) return m.mulf(v[0], splat(s.getFactor().convertToFloat()));
  if (auto s = dyn_cast<SoftcapOp>(op)) {
    float cap = s.getCap().convertToFloat();
    Value t = math::TanhOp::create(b, loc, arith::DivFOp::create(b, loc, v[0], splat(cap)));
    return m.mulf(t, splat(cap));
  }
  if (isa<SiluOp>(op)) {
    // x / (1 + e^-x) with `afn`: NVPTX emits div.approx.f32 (2 ulp; 0 once 1 + e^-x passes
    // 2^126, where the quotient is below 1e-36 anyway) instead of IEEE div.rn.f32, whose
    // slow-path call made ptxas spill in the sm_90a SwiGLU matmul epilogue. x86 ignores
    // `afn` on a division (only `arcp` plus enabled estimates would change it).
    Value e = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, v[0]));
    return arith::DivFOp::create(b, loc, v[0], m.addf(splat(1.0f), e),
                                 arith::FastMathFlags::afn);
  }
  if (auto g = dyn_cast<GeluOp>(op)) {
    Value x = v[0];
    Value inner;
    if (g.getApproximate() == "tanh") {
      // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
      Value x3 = m.mulf(m.mulf(x, x), x);
      Value u = m.mulf(splat(0.7978845608028654f), m.addf(x, m.mulf(splat(0.044715f), x3)));
      inner = math::TanhOp::create(b, loc, u);
    } else {
      inner = math::ErfOp::create(b, loc, m.mulf(x, splat(0.7071067811865476f)));
    }
    return m.mulf(m.mulf(splat(0.5f), x), m.addf(splat(1.0f), inner));
  }
  if (auto c = dyn_cast<CastOp>(op)) {
    Type elem = c.getType().getElementType();
    if (elem.isF32()) return v[0];
    // Round through the narrower type so later f32 math sees what a bf16/f16 tensor holds.
    Type narrow = elem;
    if (auto vt = dyn_cast<VectorType>(v[0].getType())) narrow = VectorType::get(vt.getShape(), elem);
    Value t = arith::TruncFOp::create(b, loc, narrow, v[0]);
    return arith::ExtFOp::create(b, loc, v[0].getType(), t);
  }
  llvm_unreachable("not an elementwise op");
}

} // namespace mvc
