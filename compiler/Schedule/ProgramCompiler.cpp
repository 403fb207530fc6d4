//===- ProgramCompiler.cpp - a program's kernels, buffers and steps ------===//
#include "compiler/Schedule/ProgramCompiler.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "llvm/ADT/DenseMap.h"

using namespace mlir;

namespace mvc {

const char *layoutName(WeightLayout layout) {
  switch (layout) {
  case WeightLayout::RowMajor: return "row_major";
  case WeightLayout::PackedN16: return "packed_n16";
  case WeightLayout::PackedN16K2: return "packed_n16_k2";
  case WeightLayout::BlocksN16: return "blocks_n16";
  }
  return "?";
}

std::string layoutName(const WeightEntry &entry) {
  if (entry.layout == WeightLayout::BlocksN16 && entry.blockFormat)
    return std::string(entry.blockFormat->name) + "_n16";
  return layoutName(entry.layout);
}

size_t WeightTable::request(WeightEntry entry) {
  auto [it, added] = byName.try_emplace(entry.artifactName, list.size());
  if (added) list.push_back(std::move(entry));
  return it->second;
}

namespace {

DType dtypeOf(Type t) {
  if (t.isF32()) return DType::F32;
  if (t.isBF16()) return DType::BF16;
  if (t.isF16()) return DType::F16;
  if (t.isInteger(32)) return DType::I32;
  if (t.isInteger(64)) return DType::I64;
  return DType::U8;
}
int64_t bytesOf(Type t) { return std::max<int64_t>(1, t.getIntOrFloatBitWidth() / 8); }

class ProgramBuilder {
public:
  ProgramBuilder(func::FuncOp fn, KernelBackend &backend, WeightTable &weights,
                 std::vector<TensorInfo> &states)
      : fn(fn), backend(backend), weights(weights), states(states) {}

  FailureOr<ProgramInfo> run() {
    program.name = fn.getSymName().str();
    if (failed(inferShapes())) return failure();
    markPackedGatherTables();
    for (BlockArgument arg : fn.getArguments()) {
      int64_t id = newBuffer({0, BufferKind::Input, arg.getArgNumber()});
      bufferOf[arg] = id;
      auto type = cast<RankedTensorType>(arg.getType());
      std::string name = "input" + std::to_string(arg.getArgNumber());
      if (auto n = fn.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "mvc.name")) name = n.str();
      program.inputs.push_back({name, dtypeOf(type.getElementType()), shapeOf(arg), id});
    }
    int dispatchIndex = 0;
    for (Operation &op : fn.getBody().front()) {
      if (auto region = dyn_cast<DispatchRegionOp>(op)) {
        if (failed(emitDispatch(region, dispatchIndex++))) return failure();
      } else if (auto ret = dyn_cast<func::ReturnOp>(op)) {
        for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
          auto type = cast<RankedTensorType>(v.getType());
          int64_t id = bufferFor(v, nullptr);
          Expr size = sizeOf(v).toExpr();
          BufferInfo output{id, BufferKind::Output, int64_t(i), size};
          if (program.buffers[id].kind == BufferKind::Transient && !returned.count(id)) {
            program.buffers[id] = output;
          } else {
            int64_t out = newBuffer(output);
            StepInfo copy;
            copy.kind = StepKind::Copy;
            copy.src = id;
            copy.dst = out;
            copy.size = size;
            program.steps.push_back(std::move(copy));
            id = out;
          }
          returned.insert(id);
          std::string name = "output" + std::to_string(i);
          if (auto n = fn.getResultAttrOfType<StringAttr>(i, "mvc.name")) name = n.str();
          program.outputs.push_back({name, dtypeOf(type.getElementType()), shapeOf(v), id});
        }
      } else if (failed(bindView(&op))) {
        return failure();
      }
    }
    computeLiveRanges();
    return std::move(program);
  }

private:
  LogicalResult inferShapes() {
    for (BlockArgument arg : fn.getArguments()) {
      auto type = cast<RankedTensorType>(arg.getType());
      auto names = fn.getArgAttrOfType<ArrayAttr>(arg.getArgNumber(), "mvc.dims");
      size_t next = 0;
      std::vector<SymExpr> d;
      for (int64_t s : type.getShape()) {
        if (!ShapedType::isDynamic(s)) { d.push_back(s); continue; }
        if (!names || next >= names.size() || !isa<StringAttr>(names[next]))
          return fn.emitError("argument ") << arg.getArgNumber()
                 << " has a dynamic dimension without a name: add {mvc.dims = [\"T\", ...]}";
        std::string name = cast<StringAttr>(names[next++]).str();
        if (!llvm::is_contained(program.symbols, name)) program.symbols.push_back(name);
        d.push_back(SymExpr::symbol(name));
      }
      dimsMap[arg] = d;
    }
    LogicalResult status = success();
    fn.walk([&](Operation *op) {
      for (Value r : op->getResults())
        if (auto type = dyn_cast<RankedTensorType>(r.getType())) {
          auto d = inferDims(op, r, type);
          if (failed(d)) { status = failure(); return; }
          dimsMap[r] = *d;
        }
    });
    return status;
  }

  FailureOr<std::vector<SymExpr>> inferDims(Operation *op, Value r, RankedTensorType type) {
    std::vector<SymExpr> out;
    auto operandDims = [&](unsigned i) { return dimsMap.lookup(op->getOperand(i)); };
    for (auto [i, s] : llvm::enumerate(type.getShape())) {
      if (!ShapedType::isDynamic(s)) { out.push_back(s); continue; }
      if (isa<StateOp>(op)) { out.push_back(SymExpr::symbol("num_pages")); continue; }
      if (auto region = dyn_cast<DispatchRegionOp>(op)) {
        auto yield = cast<YieldOp>(region.getBody().front().getTerminator());
        out.push_back(dimsMap.lookup(yield.getValues()[cast<OpResult>(r).getResultNumber()])[i]);
        continue;
      }
      if (auto reshape = dyn_cast<ReshapeOp>(op)) {
        auto in = cast<RankedTensorType>(reshape.getInput().getType());
        auto d = operandDims(0);
        SymExpr dyn(1);
        int64_t spIn = 1, spOut = 1;
        for (auto [j, x] : llvm::enumerate(in.getShape()))
          if (ShapedType::isDynamic(x)) dyn = d[j]; else spIn *= x;
        for (int64_t x : type.getShape()) if (!ShapedType::isDynamic(x)) spOut *= x;
        out.push_back(spIn % spOut == 0 ? dyn * (spIn / spOut) : SymExpr::floorDiv(dyn * spIn, spOut));
        continue;
      }
      if (auto tr = dyn_cast<TransposeOp>(op)) { out.push_back(operandDims(0)[tr.getPermutation()[i]]); continue; }
      if (isa<GatherOp>(op)) { out.push_back(operandDims(1)[0]); continue; }
      if (isa<RopeTableOp>(op)) { out.push_back(operandDims(0)[0]); continue; }
      if (isa<MoeCombineOp>(op)) { out.push_back(operandDims(1)[i]); continue; }
      if (auto route = dyn_cast<MoeRouteOp>(op); route && r == route.getRows()) {
        out.push_back(operandDims(0)[0] * route.getTopK());
        continue;
      }
      if (op->getNumOperands() == 0 || operandDims(0).size() <= i)
        return op->emitError("cannot infer dynamic dimension ") << i;
      out.push_back(operandDims(0)[i]);
    }
    return out;
  }

  std::vector<Expr> shapeOf(Value v) {
    std::vector<Expr> shape;
    for (const SymExpr &d : dimsMap.lookup(v)) shape.push_back(d.toExpr());
    return shape;
  }
  SymExpr sizeOf(Value v) {
    auto d = dimsMap.lookup(v);
    return product(d, 0, d.size()) * bytesOf(cast<RankedTensorType>(v.getType()).getElementType());
  }

  /// Adds `buffer` with the next id, which is also its position.
  int64_t newBuffer(BufferInfo buffer) {
    int64_t id = program.buffers.size();
    buffer.id = id;
    program.buffers.push_back(std::move(buffer));
    return id;
  }

  /// Reshapes are views; weights, constants and states get their buffers when bound.
  LogicalResult bindView(Operation *op) {
    if (isa<WeightOp, StateOp, arith::ConstantOp>(op)) return success();
    if (auto reshape = dyn_cast<ReshapeOp>(op)) {
      aliasOf[reshape.getResult()] = reshape.getInput();
      return success();
    }
    return op->emitError("op is not part of any dispatch region and is not a view");
  }

  /// The buffer of `v` as `region` reads it (weights depend on how the kernel reads them).
  int64_t bufferFor(Value v, DispatchRegionOp region) {
    while (aliasOf.count(v)) v = aliasOf[v];
    Operation *def = v.getDefiningOp();
    if (auto w = dyn_cast_or_null<WeightOp>(def)) return weightBuffer(w, region);
    if (auto c = dyn_cast_or_null<arith::ConstantOp>(def)) {
      auto attr = cast<DenseElementsAttr>(c.getValue());
      // Named per program: every program numbers its constants from 0.
      WeightEntry e{"const." + fn.getName().str() + "." +
                        std::to_string(constIds.try_emplace(def, constIds.size()).first->second),
                    "", cast<RankedTensorType>(c.getType()), WeightLayout::RowMajor, false, attr};
      // A constant matmul operand (e.g. a pooling matrix) is packed like a weight.
      if (auto packed = matmulLayout(c.getResult())) {
        e.layout = packed->first;
        e.transposed = packed->second;
        e.artifactName += std::string("#") + layoutName(e.layout);
      }
      return namedBuffer(BufferKind::Weight, weights.request(e));
    }
    if (auto s = dyn_cast_or_null<StateOp>(def)) {
      std::string name = s.getName().str();
      auto known = llvm::find_if(states, [&](const TensorInfo &t) { return t.name == name; });
      size_t index = known - states.begin();
      if (known == states.end())
        states.push_back({name, dtypeOf(s.getType().getElementType()), shapeOf(s.getResult())});
      return namedBuffer(BufferKind::State, index);
    }
    return bufferOf.at(v);
  }

  /// The packed layout a matmul reading `w` as its rhs wants, if one does (transposed:
  /// the weight is stored [K, N]).
  std::optional<std::pair<WeightLayout, bool>> matmulLayout(Value w) {
    // A weight in a block format (--mvc-quantize-weights) is only ever a transposed rhs,
    // in its panels on every target.
    if (weightFormat(w)) return std::make_pair(WeightLayout::BlocksN16, false);
    if (!backend.packsMatmulWeights()) return std::nullopt;
    bool bf16 = cast<RankedTensorType>(w.getType()).getElementType().isBF16();
    for (Operation *user : w.getUsers())
      if (auto mm = dyn_cast<MatmulOp>(user); mm && mm.getRhs() == w)
        return std::make_pair(bf16 ? WeightLayout::PackedN16K2 : WeightLayout::PackedN16,
                              !mm.getTransposeB());
    return std::nullopt;
  }

  /// Weights are stored once, in the layout their matmul wants. A table that is also a
  /// gather's table (a tied embedding and LM head) is gathered from that packed layout:
  /// the gather op is told with `mvc.table_layout`, so the artifact holds one copy.
  int64_t weightBuffer(WeightOp w, DispatchRegionOp region) {
    WeightEntry e{w.getName().str(), w.getName().str(), w.getType(), WeightLayout::RowMajor,
                  false, {}};
    if (auto source = w.getSourceShape()) e.sourceShape.assign(source->begin(), source->end());
    if (auto packed = matmulLayout(w.getResult())) {
      bool readByMatmul = region && region.getKind() == DispatchKind::matmul &&
                          cast<MatmulOp>(region.getBody().front().front()).getRhs() == w.getResult();
      bool gatheredRows = false;
      if (region && region.getKind() == DispatchKind::row)
        region.walk([&](GatherOp g) {
          gatheredRows |= g.getTable() == w.getResult() && g->hasAttr("mvc.table_layout");
        });
      if (readByMatmul || gatheredRows) {
        e.layout = packed->first;
        e.transposed = packed->second;
        if (auto format = w.getFormat()) e.blockFormat = findBlockFormat(format->str());
        e.artifactName += "#" + layoutName(e);
      }
    }
    return namedBuffer(BufferKind::Weight, weights.request(e));
  }

  /// Marks gathers whose table is kept only in a matmul's packed layout (see weightBuffer).
  void markPackedGatherTables() {
    fn.walk([&](GatherOp gather) {
      auto w = gather.getTable().getDefiningOp<WeightOp>();
      if (!w) return;
      if (auto packed = matmulLayout(w.getResult()); packed && !packed->second)
        gather->setAttr("mvc.table_layout",
                        StringAttr::get(fn.getContext(),
                                        w.getFormat() ? (*w.getFormat() + "_n16").str()
                                                      : std::string(layoutName(packed->first))));
    });
  }

  /// The program's one buffer of the manifest's weight or state `index`.
  int64_t namedBuffer(BufferKind kind, size_t index) {
    auto [it, added] = namedBuffers.try_emplace({kind, index}, program.buffers.size());
    if (added) newBuffer({0, kind, int64_t(index)});
    return it->second;
  }

  LogicalResult emitDispatch(DispatchRegionOp region, int index) {
    DispatchSignature sig;
    llvm::SetVector<Value> captured;
    region.walk([&](Operation *op) {
      for (Value operand : op->getOperands())
        if (!region->isAncestor(operand.getParentBlock()->getParentOp())) captured.insert(operand);
    });
    sig.operands.assign(captured.begin(), captured.end());
    auto yield = cast<YieldOp>(region.getBody().front().getTerminator());
    sig.results.assign(yield.getValues().begin(), yield.getValues().end());

    std::string name =
        (fn.getSymName() + "_d" + std::to_string(index) + "_" + stringifyDispatchKind(region.getKind())).str();
    DimsOf dims = [&](Value v) { return dimsMap.lookup(v); };
    DispatchKind kind = region.getKind();
    FailureOr<LaunchInfo> launch = backend.emitKernel(name, region, sig, dims);
    if (failed(launch)) return failure();

    StepInfo step;
    step.kernel = name;
    // The model part of the region's root op (GraphBuilder::setPart), if it has one.
    if (auto named = dyn_cast<NameLoc>(region.getBody().front().front().getLoc()))
      step.part = named.getName().str();
    step.workgroups = launch->workgroups.toExpr();
    for (Value v : sig.operands) step.bindings.push_back(bufferFor(v, region));
    for (auto [i, r] : llvm::enumerate(region.getResults())) {
      int64_t id;
      if (kind == DispatchKind::kv_write) {
        id = bufferFor(cast<KvWriteOp>(region.getBody().front().front()).getCache(), region);
      } else if (std::optional<int64_t> reused = inPlaceBuffer(region, sig)) {
        id = *reused;
      } else {
        id = newBuffer({0, BufferKind::Transient, -1, sizeOf(r).toExpr()});
      }
      bufferOf[r] = id;
      step.bindings.push_back(id);
    }
    for (const SymExpr &p : launch->push) step.push.push_back(p.toExpr());
    if (launch->block[0] > 0) {
      step.block = launch->block;
      step.sharedBytes = launch->sharedBytes;
    }
    program.steps.push_back(std::move(step));
    return success();
  }

  /// A matmul region whose epilogue reads a tensor of the result's shape and type that no
  /// later op reads (the gate of a gated MLP, a residual) writes its result over it: both
  /// kernel families read such an operand at the output element they then store, once, and
  /// the store depends on the load. Saves a [T, N] transient at the peak of a prefill
  /// (SmolLM2 at 512 tokens: the 3 MiB gate). Not for the matmul's own operands (other
  /// workgroups read those), grouped matmuls, or operands that are inputs, outputs, weights,
  /// states or views read later.
  std::optional<int64_t> inPlaceBuffer(DispatchRegionOp region, const DispatchSignature &sig) {
    if (region.getKind() != DispatchKind::matmul || region.getNumResults() != 1) return std::nullopt;
    MatmulOp matmul;
    for (Operation &op : region.getBody().front().without_terminator()) {
      if (auto m = dyn_cast<MatmulOp>(op)) {
        if (matmul) return std::nullopt;
        matmul = m;
      } else if (!op.hasTrait<mvc::OpTrait::Elementwise>()) {
        return std::nullopt;
      }
    }
    Value result = region.getResult(0);
    if (!matmul || matmul.getGroups() || cast<RankedTensorType>(result.getType()).getRank() != 2)
      return std::nullopt;
    for (Value v : sig.operands) {
      if (v == matmul.getLhs() || v == matmul.getRhs() || v.getType() != result.getType() ||
          dimsMap.lookup(v) != dimsMap.lookup(result) || readAfter(v, region))
        continue;
      Value root = v;
      while (aliasOf.count(root)) root = aliasOf[root];
      auto it = bufferOf.find(root);
      if (it == bufferOf.end()) continue;
      const BufferInfo &buffer = program.buffers[it->second];
      if (buffer.kind == BufferKind::Transient && !returned.count(buffer.id)) return buffer.id;
    }
    return std::nullopt;
  }

  /// Whether an op after `region` (or the return) reads the buffer of `v`: v, the value it
  /// is a view of, or any view of that.
  bool readAfter(Value v, DispatchRegionOp region) {
    while (auto reshape = v.getDefiningOp<ReshapeOp>()) v = reshape.getInput();
    return viewsReadAfter(v, region);
  }
  bool viewsReadAfter(Value v, DispatchRegionOp region) {
    Block &body = fn.getBody().front();
    for (Operation *user : v.getUsers()) {
      Operation *top = body.findAncestorOpInBlock(*user);
      if (!top) return true;
      if (auto reshape = dyn_cast<ReshapeOp>(top)) {
        if (viewsReadAfter(reshape.getResult(), region)) return true;
        continue;
      }
      if (top != region.getOperation() && region->isBeforeInBlock(top)) return true;
    }
    return false;
  }

  /// Each transient lives from the first step that uses it to the last.
  void computeLiveRanges() {
    std::vector<bool> seen(program.buffers.size(), false);
    for (auto [i, step] : llvm::enumerate(program.steps)) {
      std::vector<int64_t> used = step.kind == StepKind::Dispatch
                                      ? step.bindings
                                      : std::vector<int64_t>{step.src, step.dst};
      for (int64_t id : used) {
        BufferInfo &buffer = program.buffers[id];
        if (buffer.kind != BufferKind::Transient) continue;
        if (!seen[id]) buffer.first = i;
        seen[id] = true;
        buffer.last = i;
      }
    }
  }

  func::FuncOp fn;
  KernelBackend &backend;
  WeightTable &weights;
  std::vector<TensorInfo> &states;
  ProgramInfo program; // buffer ids are positions in program.buffers
  llvm::DenseMap<Value, std::vector<SymExpr>> dimsMap;
  llvm::DenseMap<Value, int64_t> bufferOf;
  llvm::DenseMap<Value, Value> aliasOf;
  llvm::DenseMap<Operation *, int> constIds;
  std::map<std::pair<BufferKind, size_t>, int64_t> namedBuffers;
  std::set<int64_t> returned;
};

} // namespace

FailureOr<ProgramInfo> compileProgram(func::FuncOp fn, KernelBackend &backend,
                                      WeightTable &weights, std::vector<TensorInfo> &states) {
  return ProgramBuilder(fn, backend, weights, states).run();
}

} // namespace mvc
