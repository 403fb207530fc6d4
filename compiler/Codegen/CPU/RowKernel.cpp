//===- RowKernel.cpp - fused row-wise kernels ----------------------------===//
//
// Elementwise ops, norms, softmax, RoPE, embedding gathers and last-axis slices/concats
// all work row by row over the last dimension. A row region computes each row of every
// op in turn; intermediate rows live in stack buffers (L1), only region results are
// written to memory. Rows are split evenly across workgroups.
//
//===----------------------------------------------------------------------===//
#include "compiler/Codegen/CPU/Kernels.h"

#include "llvm/ADT/DenseMap.h"

using namespace mlir;

namespace mvc {

int DispatchSignature::bindingOf(Value v) const {
  for (auto [i, o] : llvm::enumerate(operands))
    if (o == v) return i;
  for (auto [i, r] : llvm::enumerate(results))
    if (r == v) return operands.size() + i;
  return -1;
}

FailureOr<int64_t> loweringConfigValue(DispatchRegionOp region, StringRef key) {
  auto config = region->getAttrOfType<DictionaryAttr>("lowering_config");
  auto value = config ? config.getAs<IntegerAttr>(key) : IntegerAttr();
  if (!value || value.getInt() <= 0)
    return region.emitError("dispatch region has no positive lowering_config.")
           << key << " (run --mvc-set-lowering-config)";
  return value.getInt();
}

SymExpr product(const std::vector<SymExpr> &dims, size_t from, size_t to) {
  SymExpr p(1);
  for (size_t i = from; i < to; ++i) p = p * dims[i];
  return p;
}

namespace {

int64_t lastDim(Value v) { return cast<RankedTensorType>(v.getType()).getShape().back(); }

class RowEmitter : TemplateEmitter {
public:
  using TemplateEmitter::TemplateEmitter;

  FailureOr<LaunchInfo> emit() {
    Operation *first = &region.getBody().front().front();
    std::vector<SymExpr> shape = dims(first->getResult(0));
    rows = product(shape, 0, shape.size() - 1);
    for (Operation &op : region.getBody().front().without_terminator())
      for (Value r : op.getResults())
        if (ShapedType::isDynamic(lastDim(r)))
          return op.emitError("row kernels need a static last dimension");
    FailureOr<int64_t> rowsPerWorkgroup = loweringConfigValue(region, "rows_per_workgroup");
    if (failed(rowsPerWorkgroup)) return failure();

    // Results live in their bindings; everything else in a stack row.
    auto yield = cast<YieldOp>(region.getBody().front().getTerminator());
    for (auto [i, v] : llvm::enumerate(yield.getValues()))
      outputOf[v] = sig.operands.size() + i;
    for (Operation &op : region.getBody().front().without_terminator())
      for (Value r : op.getResults())
        if (!outputOf.count(r))
          scratch[r] =
              memref::AllocaOp::create(b, loc, MemRefType::get({lastDim(r)}, b.getF32Type()));

    Value numRows = kb.push(0);
    Value begin = arith::MulIOp::create(b, loc, kb.workgroupId(), kb.idx(*rowsPerWorkgroup));
    Value end = arith::MinUIOp::create(
        b, loc, arith::AddIOp::create(b, loc, begin, kb.idx(*rowsPerWorkgroup)), numRows);
    LogicalResult status = success();
    kb.forRange(begin, end, 1, [&](Value r) {
      row = r;
      rowBlock = b.getInsertionBlock();
      rowBases.clear();
      for (Operation &op : region.getBody().front().without_terminator())
        if (failed(emitOp(&op))) status = failure();
    });
    if (failed(status)) return failure();
    kb.finish();
    std::vector<SymExpr> push{rows};
    push.insert(push.end(), extraPush.begin(), extraPush.end());
    return LaunchInfo{SymExpr::ceilDiv(rows, *rowsPerWorkgroup), push};
  }

private:
  /// The memref and element offset of the current row of `v`.
  std::pair<Value, Value> rowOf(Value v) {
    if (auto it = scratch.find(v); it != scratch.end()) return {it->second, kb.idx(0)};
    if (auto it = rowBases.find(v); it != rowBases.end()) return it->second;
    // Created at the top of the row loop so every chunk loop of the row can use it.
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(rowBlock);
    int binding = outputOf.count(v) ? outputOf[v] : sig.bindingOf(v);
    assert(binding >= 0 && "value is not bound");
    Value mem = kb.binding(binding, cast<RankedTensorType>(v.getType()).getElementType());
    // Operands with fewer leading rows broadcast (they are a suffix of the row shape).
    std::vector<SymExpr> shape = dims(v);
    SymExpr vRows = product(shape, 0, shape.size() - 1);
    Value r = row;
    if (!(vRows == rows)) {
      auto c = vRows.constant();
      r = (c && *c == 1) ? kb.idx(0) : arith::RemUIOp::create(b, loc, row, kb.idx(c.value_or(1)));
    }
    Value base = arith::MulIOp::create(b, loc, r, kb.idx(lastDim(v)));
    rowBases[v] = {mem, base};
    return {mem, base};
  }

  Value read(Value v, Value at, int lanes) {
    auto [mem, base] = rowOf(v);
    return kb.loadF32(mem, arith::AddIOp::create(b, loc, base, at), lanes);
  }
  void write(Value v, Value at, Value value) {
    auto [mem, base] = rowOf(v);
    kb.storeF32(value, mem, arith::AddIOp::create(b, loc, base, at));
  }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value mulf(Value x, Value y) { return arith::MulFOp::create(b, loc, x, y); }
  Value addf(Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); }
  Value subf(Value x, Value y) { return arith::SubFOp::create(b, loc, x, y); }

  LogicalResult emitOp(Operation *op) {
    Value out = op->getResult(0);
    int64_t n = lastDim(out);
    if (auto norm = dyn_cast<RmsNormOp>(op)) {
      Value x = norm.getInput();
      Value ss = kb.reduceChunks(n, false, [&](Value c, int l) {
        Value v = read(x, c, l);
        return mulf(v, v);
      });
      Value mean = arith::DivFOp::create(b, loc, ss, kb.f32(float(n)));
      Value inv = arith::DivFOp::create(
          b, loc, kb.f32(1.0f),
          math::SqrtOp::create(b, loc, addf(mean, kb.f32(norm.getEps().convertToFloat()))));
      float offset = norm.getOffset().convertToFloat();
      kb.forChunks(n, [&](Value c, int l) {
        Value y = mulf(read(x, c, l), kb.splatLike(inv, read(x, c, l)));
        if (Value w = norm.getWeight()) {
          Value wv = read(w, c, l);
          if (offset != 0.0f) wv = addf(wv, kb.splatLike(kb.f32(offset), wv));
          y = mulf(y, wv);
        }
        write(out, c, y);
      });
      return success();
    }
    if (auto ln = dyn_cast<LayerNormOp>(op)) {
      Value x = ln.getInput();
      Value sum = kb.reduceChunks(n, false, [&](Value c, int l) { return read(x, c, l); });
      Value mean = arith::DivFOp::create(b, loc, sum, kb.f32(float(n)));
      Value ss = kb.reduceChunks(n, false, [&](Value c, int l) {
        Value d = subf(read(x, c, l), kb.splatLike(mean, read(x, c, l)));
        return mulf(d, d);
      });
      Value var = arith::DivFOp::create(b, loc, ss, kb.f32(float(n)));
      Value inv = arith::DivFOp::create(
          b, loc, kb.f32(1.0f),
          math::SqrtOp::create(b, loc, addf(var, kb.f32(ln.getEps().convertToFloat()))));
      kb.forChunks(n, [&](Value c, int l) {
        Value v = read(x, c, l);
        Value y = mulf(subf(v, kb.splatLike(mean, v)), kb.splatLike(inv, v));
        write(out, c, addf(mulf(y, read(ln.getGamma(), c, l)), read(ln.getBeta(), c, l)));
      });
      return success();
    }
    if (auto sm = dyn_cast<SoftmaxOp>(op)) {
      Value x = sm.getInput();
      Value mx = kb.reduceChunks(n, true, [&](Value c, int l) { return read(x, c, l); });
      auto expAt = [&](Value c, int l) {
        Value v = read(x, c, l);
        return math::ExpOp::create(b, loc, subf(v, kb.splatLike(mx, v))).getResult();
      };
      Value sum = kb.reduceChunks(n, false, expAt);
      Value inv = arith::DivFOp::create(b, loc, kb.f32(1.0f), sum);
      kb.forChunks(n, [&](Value c, int l) {
        Value e = expAt(c, l);
        write(out, c, mulf(e, kb.splatLike(inv, e)));
      });
      return success();
    }
    if (auto rope = dyn_cast<RopeOp>(op)) return emitRope(rope);
    if (auto table = dyn_cast<RopeTableOp>(op)) return emitRopeTable(table);
    if (auto gather = dyn_cast<GatherOp>(op)) {
      auto tableType = cast<RankedTensorType>(gather.getTable().getType());
      Value ids = kb.binding(sig.bindingOf(gather.getIds()), b.getI32Type());
      Value id = arith::IndexCastOp::create(b, loc, b.getIndexType(),
                                            memref::LoadOp::create(b, loc, ids, row));
      // Out-of-range ids of a weight table are refused by the runtime before launch;
      // clamp as a backstop. (Rows of an activation are chosen by the runtime itself.)
      if (!tableType.isDynamicDim(0))
        id = arith::MinSIOp::create(b, loc, arith::MaxSIOp::create(b, loc, id, kb.idx(0)),
                                    kb.idx(tableType.getDimSize(0) - 1));
      Value table = kb.binding(sig.bindingOf(gather.getTable()), tableType.getElementType());
      auto layout = gather->getAttrOfType<StringAttr>("mvc.table_layout");
      if (!layout) {
        Value base = arith::MulIOp::create(b, loc, id, kb.idx(n));
        kb.forChunks(n, [&](Value c, int l) { write(out, c, kb.loadF32(table, add(base, c), l)); });
        return success();
      }
      // Rows of a table stored as 16-row panels (runtime/artifact/FORMAT.md): row `id` is
      // spread across its panel, 16 (or, with bf16 pairs, 32) elements apart.
      bool pairs = layout.getValue() == "packed_n16_k2";
      int64_t kp = pairs ? (n + 1) / 2 * 2 : n;
      Value panel = arith::MulIOp::create(b, loc, arith::DivUIOp::create(b, loc, id, kb.idx(16)),
                                          kb.idx(kp * 16));
      Value lane = arith::RemUIOp::create(b, loc, id, kb.idx(16));
      kb.forRange(kb.idx(0), kb.idx(n), 1, [&](Value c) {
        Value at;
        if (pairs) {
          Value pairBase = arith::MulIOp::create(
              b, loc, arith::DivUIOp::create(b, loc, c, kb.idx(2)), kb.idx(32));
          at = add(add(panel, pairBase), add(arith::MulIOp::create(b, loc, lane, kb.idx(2)),
                                             arith::RemUIOp::create(b, loc, c, kb.idx(2))));
        } else {
          at = add(add(panel, arith::MulIOp::create(b, loc, c, kb.idx(16))), lane);
        }
        write(out, c, kb.loadF32(table, at, 0));
      });
      return success();
    }
    if (auto merge = dyn_cast<MergeRowsOp>(op)) {
      // The runtime checks `source` against the rows it passes; clamp as a backstop.
      Value source = kb.binding(sig.bindingOf(merge.getSource()), b.getI32Type());
      Value rowsMem = kb.binding(sig.bindingOf(merge.getRows()),
                                 cast<RankedTensorType>(merge.getRows().getType()).getElementType());
      Value s = arith::IndexCastOp::create(b, loc, b.getIndexType(),
                                           memref::LoadOp::create(b, loc, source, row));
      Value fromRows = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, s, kb.idx(0));
      // The number of `rows` comes in as an extra push constant.
      extraPush.push_back(dims(merge.getRows())[0]);
      Value last = arith::SubIOp::create(b, loc, kb.push(extraPush.size()), kb.idx(1));
      auto ifOp = scf::IfOp::create(b, loc, fromRows, /*withElseRegion=*/true);
      {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(&ifOp.getThenRegion().front());
        Value base =
            arith::MulIOp::create(b, loc, arith::MinSIOp::create(b, loc, s, last), kb.idx(n));
        kb.forChunks(n, [&](Value c, int l) { write(out, c, kb.loadF32(rowsMem, add(base, c), l)); });
        b.setInsertionPointToStart(&ifOp.getElseRegion().front());
        kb.forChunks(n, [&](Value c, int l) { write(out, c, read(merge.getBase(), c, l)); });
      }
      return success();
    }
    if (auto slice = dyn_cast<SliceOp>(op)) {
      kb.forChunks(n, [&](Value c, int l) {
        write(out, c, read(slice.getInput(), add(c, kb.idx(slice.getStart())), l));
      });
      return success();
    }
    if (auto concat = dyn_cast<ConcatOp>(op)) {
      int64_t offset = 0;
      for (Value in : concat.getInputs()) {
        kb.forChunks(lastDim(in), [&](Value c, int l) {
          write(out, add(c, kb.idx(offset)), read(in, c, l));
        });
        offset += lastDim(in);
      }
      return success();
    }
    // Elementwise.
    kb.forChunks(n, [&](Value c, int l) {
      SmallVector<Value> args;
      for (Value operand : op->getOperands()) args.push_back(read(operand, c, l));
      write(out, c, emitElementwise(kb, op, args));
    });
    return success();
  }

  /// Row t of a rope table: cos then sin of positions[t] × inv_freq (angle rounded to
  /// f32 first, as HF's f32 `inv_freq @ positions`). libm's sincosf keeps HF's accuracy at
  /// large angles; the table is computed once per program, not per layer or head.
  LogicalResult emitRopeTable(RopeTableOp table) {
    int64_t half = cast<RankedTensorType>(table.getInvFreq().getType()).getDimSize(0);
    Value positions = kb.binding(sig.bindingOf(table.getPositions()), b.getI32Type());
    Value pos = arith::SIToFPOp::create(b, loc, b.getF32Type(),
                                        memref::LoadOp::create(b, loc, positions, row));
    Value freqs = kb.binding(sig.bindingOf(table.getInvFreq()), b.getF32Type());
    Value out = table.getResult();
    kb.forRange(kb.idx(0), kb.idx(half), 1, [&](Value i) {
      Value angle = mulf(pos, memref::LoadOp::create(b, loc, freqs, i));
      write(out, i, math::CosOp::create(b, loc, angle));
      write(out, add(i, kb.idx(half)), math::SinOp::create(b, loc, angle));
    });
    return success();
  }

  /// Rotate-half RoPE for row r = (token t, head h) of a [T, H, D] input, reading the
  /// table's row t.
  LogicalResult emitRope(RopeOp rope) {
    auto type = cast<RankedTensorType>(rope.getInput().getType());
    int64_t heads = type.getDimSize(1), d = type.getDimSize(2);
    int64_t half = cast<RankedTensorType>(rope.getTable().getType()).getDimSize(1) / 2;
    Value t = arith::DivUIOp::create(b, loc, row, kb.idx(heads));
    // The table has one row per token, so it never shares a row region with the rope.
    Value tableMem = kb.binding(sig.bindingOf(rope.getTable()), b.getF32Type());
    Value tableBase = arith::MulIOp::create(b, loc, t, kb.idx(2 * half));
    Value x = rope.getInput(), out = rope.getResult();
    kb.forChunks(half, [&](Value i, int l) {
      Value iHi = add(i, kb.idx(half));
      Value x1 = read(x, i, l), x2 = read(x, iHi, l);
      Value c = kb.loadF32(tableMem, add(tableBase, i), l);
      Value s = kb.loadF32(tableMem, add(tableBase, iHi), l);
      write(out, i, subf(mulf(x1, c), mulf(x2, s)));
      write(out, iHi, addf(mulf(x2, c), mulf(x1, s)));
    });
    if (2 * half < d)
      kb.forChunks(d - 2 * half, [&](Value i, int l) {
        Value at = add(i, kb.idx(2 * half));
        write(out, at, read(x, at, l));
      });
    return success();
  }

  SymExpr rows;
  std::vector<SymExpr> extraPush; // after the row count, in the order the ops ask
  Value row;
  Block *rowBlock = nullptr;
  llvm::DenseMap<Value, int> outputOf;
  llvm::DenseMap<Value, Value> scratch;
  llvm::DenseMap<Value, std::pair<Value, Value>> rowBases;
};

} // namespace

FailureOr<LaunchInfo> emitRowKernel(KernelBuilder &kb, DispatchRegionOp region,
                                    const DispatchSignature &sig, const DimsOf &dims) {
  return RowEmitter(kb, region, sig, dims).emit();
}

} // namespace mvc
