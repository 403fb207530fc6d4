//===- RowKernel.cpp - fused row-wise kernels for the cpu ----------------===//
//
// The cpu's way of visiting a row region (the ops' bodies are shared with the gpu, in
// compiler/Codegen/Common/RowOps.cpp): rows are split evenly across workgroups, one
// thread walks each row in vector chunks and a scalar tail, and intermediate rows live
// in stack buffers (L1); only region results are written to memory.
//
//===----------------------------------------------------------------------===//
#include "compiler/Codegen/CPU/Kernels.h"
#include "compiler/Codegen/Common/RowOps.h"

using namespace mlir;

namespace mvc {

namespace {

class CpuRowLoops : public RowLoops {
public:
  explicit CpuRowLoops(KernelBuilder &kb) : RowLoops(kb.b(), kb.loc()), kb(kb) {}

  Value binding(int i, Type elementType) override { return kb.binding(i, elementType); }
  Value push(int i) override { return kb.push(i); }
  void forEach(int64_t n, const std::function<void(Value, int)> &body) override {
    kb.forChunks(n, body);
  }
  void forEachElement(int64_t n, const std::function<void(Value)> &body) override {
    kb.forRange(idx(0), idx(n), 1, body);
  }
  Value reduce(int64_t n, bool isMax, const std::function<Value(Value, int)> &body) override {
    return kb.reduceChunks(n, isMax, body);
  }
  Value load(Value memref, Value index, int lanes) override {
    return kb.loadF32(memref, index, lanes);
  }
  void store(Value value, Value memref, Value index) override { kb.storeF32(value, memref, index); }
  Value splatLike(Value scalar, Value like) override { return kb.splatLike(scalar, like); }
  /// libm's sinf/cosf (linked into the kernel library) keep HF's accuracy at large angles.
  std::pair<Value, Value> sinCos(Value angle) override {
    return {math::SinOp::create(b, loc, angle), math::CosOp::create(b, loc, angle)};
  }
  bool readsPanelTables() const override { return true; }

private:
  KernelBuilder &kb;
};

} // namespace

FailureOr<LaunchInfo> emitRowKernel(KernelBuilder &kb, DispatchRegionOp region,
                                    const DispatchSignature &sig, const DimsOf &dims) {
  RowOpEmitter rows(region, sig, dims);
  if (failed(rows.verify())) return failure();
  FailureOr<CpuRowsConfigAttr> config = loweringConfig<CpuRowsConfigAttr>(region);
  if (failed(config)) return failure();
  int64_t rowsPerWorkgroup = config->getRowsPerWorkgroup();

  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  for (Value v : rows.scratchValues())
    rows.setScratch(v, memref::AllocaOp::create(b, loc, MemRefType::get({lastDim(v)}, b.getF32Type())));

  CpuRowLoops loops(kb);
  Value numRows = kb.push(0);
  Value begin = arith::MulIOp::create(b, loc, kb.workgroupId(), kb.idx(rowsPerWorkgroup));
  Value end = arith::MinUIOp::create(
      b, loc, arith::AddIOp::create(b, loc, begin, kb.idx(rowsPerWorkgroup)), numRows);
  LogicalResult status = success();
  kb.forRange(begin, end, 1, [&](Value r) {
    rows.beginRow(loops, r, b.getInsertionBlock());
    for (Operation &op : rows.ops())
      if (failed(rows.emitOp(&op))) status = failure();
  });
  if (failed(status)) return failure();
  kb.finish();
  return LaunchInfo{SymExpr::ceilDiv(rows.rows(), rowsPerWorkgroup), rows.pushConstants()};
}

} // namespace mvc
