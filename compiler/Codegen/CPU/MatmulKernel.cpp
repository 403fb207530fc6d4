//===- MatmulKernel.cpp - register-blocked matmul with fused epilogue ----===//
//
// y[M, N] = x[M, K] · Wᵀ with W packed offline into panels of 16 output columns
// (runtime/artifact/FORMAT.md). The region's lowering_config sizes the work: a workgroup
// owns rows_per_workgroup rows and panels_per_workgroup panels; inside it a microkernel
// keeps microkernel_rows × panels_per_workgroup 16-wide accumulators in registers over
// the whole K loop (f32 FMAs, or vdpbf16ps on bf16 pairs), then applies the fused
// elementwise epilogue and stores each region result once. With `amx_rows` (bf16 weights,
// AMX CPUs) the workgroup's rows go through AMX tiles instead, 16 or 32 rows x two panels
// per microkernel (tdpbf16ps on 16x32 bf16 tiles, 16x16 f32 accumulators), and only the
// rows left over (fewer than 16) through the vector microkernel.
//
// A weight in a ggml block format (`format` q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k,
// q6_k; layout `<format>_n16`, runtime/artifact/BlockFormat.h) is decoded in registers:
// per 32-block of K, the panel's 16 integer values of each k widened to f32 and multiplied
// into block accumulators, which are scaled by the panel's 16 block scales once per block
// (d, d·sc for the k-quants, two half-block scales for q6_k; plus min x the activations'
// block sum for q4_1 / q5_1 / q4_k / q5_k). The activations stay f32 (ggml quantizes them
// to 8 bits too: this is closer to f32). Decode (a matmul of at most int8_rows rows, on
// CPUs with avx512_vnni and avx512_vbmi) instead quantizes the activations per 32 values as
// ggml's q8_0 does and multiplies in integers: vpermb turns each 64-byte chunk of a panel's
// quants (4 values x 16 rows) into 16 rows x 4 values for vpdpbusd, vpmultishiftqb puts
// the q5 / q6_k high bits in place; a quarter of the instructions, so decode reads the
// weights at memory speed (emitInt8MicroKernel).
//
// A grouped matmul (mvc.matmul with `groups`, mixture-of-experts layers) runs the same
// microkernels: each workgroup's row block lies within one expert's rows (Common/Moe.h),
// and its weight panels are that expert's matrix of the packed [E, N, K] weight.
//
//===----------------------------------------------------------------------===//
#include "compiler/Codegen/CPU/Kernels.h"
#include "compiler/Codegen/Common/Moe.h"
#include "compiler/Codegen/Common/RowOps.h"
#include "runtime/artifact/BlockFormat.h"

#include "mlir/Dialect/AMX/AMXDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/X86Vector/X86VectorDialect.h"
#include "llvm/ADT/DenseMap.h"

using namespace mlir;

namespace mvc {
namespace {

constexpr int64_t kPanel = 16;  // output columns per packed panel (the weight layout)
// How far ahead of its loads a streaming microkernel prefetches its panel. Measured on the
// 270M LM head at 16 rows (2 threads, same runs): 4 KiB 12.6-13.1 ms, 8 KiB 11.4-11.6,
// 16 KiB 12.6-14.1; row tiles without the streaming kernel 13.1-15.5.
constexpr int64_t kStreamAheadBytes = 8192;

class MatmulEmitter : TemplateEmitter {
public:
  using TemplateEmitter::TemplateEmitter;

  FailureOr<LaunchInfo> emit() {
    matmul = cast<MatmulOp>(region.getBody().front().front());
    FailureOr<CpuMatmulConfigAttr> config = loweringConfig<CpuMatmulConfigAttr>(region);
    if (failed(config)) return failure();
    smallBatchRows = config->getSmallBatchRows();
    microkernelRows = config->getMicrokernelRows();
    panelsPerBlock = config->getPanelsPerWorkgroup();
    rowsPerBlock = config->getRowsPerWorkgroup();
    amxRows = config->getAmxRows();
    int8Rows = config->getInt8Rows();
    microPanels = config->getMicrokernelPanels() ? config->getMicrokernelPanels() : panelsPerBlock;
    auto lhsType = cast<RankedTensorType>(matmul.getLhs().getType());
    auto rhsType = cast<RankedTensorType>(matmul.getRhs().getType());
    if (!matmul.getRhs().getDefiningOp<WeightOp>() &&
        !matmul.getRhs().getDefiningOp<arith::ConstantOp>())
      return matmul.emitError("cpu matmul kernels need a weight or constant (packed offline) as rhs");
    k = lhsType.getDimSize(1);
    n = matmul.getType().getDimSize(1);
    // WeightOp's verifier holds a block format to known names, ungrouped transposed
    // matmuls and K a multiple of the group; AMX rows are the config's to keep off.
    if (std::optional<StringRef> format = weightFormat(matmul.getRhs())) {
      blockFormat = findBlockFormat(format->str());
      if (amxRows)
        return matmul.emitError("block-format weights (") << *format << ") take no AMX rows";
    }
    if (int8Rows && (!blockFormat || !kb.target().int8Dot))
      return matmul.emitError("int8_rows = ")
             << int8Rows << " needs a block-format weight and a target with vpdpbusd and vpermb";
    bf16 = rhsType.getElementType().isBF16();
    if (bf16 && k % 2)
      return matmul.emitError("bf16 matmul needs an even contraction size, got ") << k;
    if (!rhsType.getElementType().isF32() && !bf16)
      return matmul.emitError("cpu matmul supports f32 and bf16 weights");
    if (amxRows && (!bf16 || !kb.target().amxBf16 || !kb.target().bf16Dot))
      return matmul.emitError("amx_rows = ")
             << amxRows << " needs bf16 weights and a target with AMX bf16 tiles";
    panels = (n + kPanel - 1) / kPanel;
    int64_t blocks = (panels + panelsPerBlock - 1) / panelsPerBlock;

    lhs = kb.binding(sig.bindingOf(matmul.getLhs()), lhsType.getElementType());
    if (blockFormat) {
      rhs = kb.binding(sig.bindingOf(matmul.getRhs()), b.getI8Type());
      rhsHalves = kb.binding(sig.bindingOf(matmul.getRhs()), b.getF16Type());
      rhsWords = kb.binding(sig.bindingOf(matmul.getRhs()), b.getI32Type());
    } else {
      rhs = kb.binding(sig.bindingOf(matmul.getRhs()), rhsType.getElementType());
    }
    m = kb.push(0);
    Value mb = arith::DivUIOp::create(b, loc, kb.workgroupId(), kb.idx(blocks));
    Value nb = arith::RemUIOp::create(b, loc, kb.workgroupId(), kb.idx(blocks));
    Value m0, m1;
    int64_t experts = matmul.getNumGroups();
    if (experts) {
      // Row block mb of the experts' rows; the expert's own packed matrix as `rhs`.
      GroupedRows rows = findGroupedRows(
          b, loc, kb.binding(sig.bindingOf(matmul.getGroups()), b.getI32Type()), experts,
          rowsPerBlock, mb);
      m0 = rows.begin;
      m1 = rows.end;
      int64_t matrix = panels * k * kPanel;  // k is even for bf16 weights (checked above)
      Value offset = arith::MulIOp::create(b, loc, rows.expert, kb.idx(matrix));
      Value all = rhs;
      rhs = memref::ReinterpretCastOp::create(
          b, loc,
          MemRefType::get({matrix}, rhsType.getElementType(),
                          StridedLayoutAttr::get(b.getContext(), ShapedType::kDynamic, {1})),
          all, OpFoldResult(offset), ArrayRef<OpFoldResult>{b.getIndexAttr(matrix)},
          ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
      if (amxRows)
        rhsRows = memref::ReinterpretCastOp::create(
            b, loc,
            MemRefType::get({panels * k / 2, 2 * kPanel}, b.getBF16Type(),
                            StridedLayoutAttr::get(b.getContext(), ShapedType::kDynamic,
                                                   {2 * kPanel, 1})),
            all, OpFoldResult(offset),
            ArrayRef<OpFoldResult>{b.getIndexAttr(panels * k / 2), b.getIndexAttr(2 * kPanel)},
            ArrayRef<OpFoldResult>{b.getIndexAttr(2 * kPanel), b.getIndexAttr(1)});
    } else {
      m0 = arith::MulIOp::create(b, loc, mb, kb.idx(rowsPerBlock));
      m1 = arith::MinUIOp::create(b, loc, arith::AddIOp::create(b, loc, m0, kb.idx(rowsPerBlock)), m);
      if (amxRows)  // the packed panels as rows of 32 bf16 (one k-pair of 16 columns each)
        rhsRows = memref::ReinterpretCastOp::create(
            b, loc, MemRefType::get({panels * k / 2, 2 * kPanel}, b.getBF16Type()), rhs,
            /*offset=*/0, /*sizes=*/ArrayRef<int64_t>{panels * k / 2, 2 * kPanel},
            /*strides=*/ArrayRef<int64_t>{2 * kPanel, 1});
    }
    Value p0 = arith::MulIOp::create(b, loc, nb, kb.idx(panelsPerBlock));
    Value p1 = arith::MinUIOp::create(
        b, loc, arith::AddIOp::create(b, loc, p0, kb.idx(panelsPerBlock)), kb.idx(panels));
    rowBase = m0;
    if (bf16 && kb.target().bf16Dot) {
      if (lhsType.getElementType().isBF16())
        viewLhsPairs(sig.bindingOf(matmul.getLhs()));
      else
        packLhsPairs(m0, m1);
    }
    Value rowsHere = arith::SubIOp::create(b, loc, m1, m0);
    // A small batch (more rows than one tile, at most small_batch_rows) takes every row in
    // one microkernel per panel: each weight row is loaded once and used by all rows while
    // the next is streaming in. Tiles of microkernelRows rows over a block of panels would stream the
    // block from memory in the first tile and only compute in the others.
    {
      OpBuilder::InsertionGuard guard(b);
      if (int8Rows) {  // decode (the whole matmul has few rows): int8 activations
        Value few = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule, m, kb.idx(int8Rows));
        auto ifOp = scf::IfOp::create(b, loc, few, /*withElseRegion=*/true);
        b.setInsertionPointToStart(&ifOp.getThenRegion().front());
        emitInt8Rows(m0, rowsHere, p0, p1);
        b.setInsertionPointToStart(&ifOp.getElseRegion().front());
      }
      if (smallBatchRows > microkernelRows) {
        Value small = arith::AndIOp::create(
            b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt, rowsHere, kb.idx(microkernelRows)),
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule, rowsHere,
                                  kb.idx(smallBatchRows)));
        auto ifOp = scf::IfOp::create(b, loc, small, /*withElseRegion=*/true);
        b.setInsertionPointToStart(&ifOp.getThenRegion().front());
        SmallVector<int64_t> rows;
        for (int64_t r = microkernelRows + 1; r <= smallBatchRows; ++r) rows.push_back(r);
        emitRowSwitch(rowsHere, rows, [&](int64_t r) {
          streaming = true;
          kb.forRange(p0, p1, 1, [&](Value p) { emitMicroKernel(m0, r, p, 1); });
          streaming = false;
        });
        b.setInsertionPointToStart(&ifOp.getElseRegion().front());
      }
      if (amxRows)
        emitAmxRows(m0, m1, rowsHere, p0, p1);
      else
        emitRowTiles(m0, m1, rowsHere, p0, p1);
    }
    kb.finish();
    SymExpr mExpr = dims(matmul.getLhs())[0];
    SymExpr rowBlocks = experts ? groupedRowBlocks(mExpr, experts, rowsPerBlock)
                                : SymExpr::ceilDiv(mExpr, rowsPerBlock);
    return LaunchInfo{rowBlocks * blocks, {mExpr}};
  }

private:
  /// One case per static row count in `rows`, selected by `count` at run time.
  void emitRowSwitch(Value count, ArrayRef<int64_t> rows, llvm::function_ref<void(int64_t)> body) {
    auto sw = scf::IndexSwitchOp::create(b, loc, TypeRange{}, count, rows, rows.size());
    OpBuilder::InsertionGuard guard(b);
    b.createBlock(&sw.getDefaultRegion());
    scf::YieldOp::create(b, loc);
    for (auto [i, r] : llvm::enumerate(rows)) {
      b.createBlock(&sw.getCaseRegions()[i]);
      body(r);
      scf::YieldOp::create(b, loc);
    }
  }

  /// Rows [m0, m1) in tiles of microkernelRows rows over the workgroup's panels, then the leftover rows.
  void emitRowTiles(Value m0, Value m1, Value rowsHere, Value p0, Value p1) {
    Value mMain = arith::AddIOp::create(
        b, loc, m0,
        arith::MulIOp::create(b, loc, arith::DivUIOp::create(b, loc, rowsHere, kb.idx(microkernelRows)),
                              kb.idx(microkernelRows)));
    kb.forRange(m0, mMain, microkernelRows, [&](Value row) { emitPanels(row, microkernelRows, p0, p1); });
    // The leftover rows (fewer than a tile) in one microkernel of exactly that many rows,
    // so every row shares each weight load: small batches read the weights once.
    Value leftover = arith::SubIOp::create(b, loc, m1, mMain);
    SmallVector<int64_t> cases;
    for (int64_t r = 1; r < microkernelRows; ++r) cases.push_back(r);
    emitRowSwitch(leftover, cases, [&](int64_t r) { emitPanels(mMain, r, p0, p1); });
  }

  /// A full block of panels in microkernels of microkernel_panels panels, else one panel
  /// at a time.
  void emitPanels(Value row, int64_t mr, Value p0, Value p1) {
    Value full =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                              arith::SubIOp::create(b, loc, p1, p0), kb.idx(panelsPerBlock));
    auto ifOp = scf::IfOp::create(b, loc, full, /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&ifOp.getThenRegion().front());
      if (microPanels == panelsPerBlock)
        emitMicroKernel(row, mr, p0, panelsPerBlock);
      else
        kb.forRange(p0, arith::AddIOp::create(b, loc, p0, kb.idx(panelsPerBlock)), microPanels,
                    [&](Value p) { emitMicroKernel(row, mr, p, microPanels); });
      b.setInsertionPointToStart(&ifOp.getElseRegion().front());
      kb.forRange(p0, p1, 1, [&](Value p) { emitMicroKernel(row, mr, p, 1); });
    }
  }

  VectorType accType() { return VectorType::get({kPanel}, b.getF32Type()); }

  /// AMX: rows [m0, m1) in tiles of amxRows rows, a last 16-row tile, and the rows left
  /// over (fewer than 16) through the vector microkernels.
  void emitAmxRows(Value m0, Value m1, Value rowsHere, Value p0, Value p1) {
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&kb.func().getBody().front());
      // Accumulator tiles stored for the epilogue: (amxRows / 16) x 2 tiles of 16 x 16 f32.
      tileOut = memref::AllocaOp::create(
          b, loc, MemRefType::get({amxRows / 16 * 2 * 16, kPanel}, b.getF32Type()), ValueRange{},
          b.getI64IntegerAttr(64));
    }
    auto floorTo = [&](Value x, int64_t q) {
      return arith::MulIOp::create(b, loc, arith::DivUIOp::create(b, loc, x, kb.idx(q)),
                                   kb.idx(q));
    };
    Value mFull = arith::AddIOp::create(b, loc, m0, floorTo(rowsHere, amxRows));
    kb.forRange(m0, mFull, amxRows, [&](Value row) { emitAmxPanels(row, amxRows / 16, p0, p1); });
    Value mTiles = arith::AddIOp::create(b, loc, m0, floorTo(rowsHere, 16));
    if (amxRows > 16) {
      Value more = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, mFull, mTiles);
      auto ifOp = scf::IfOp::create(b, loc, more, /*withElseRegion=*/false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&ifOp.getThenRegion().front());
      emitAmxPanels(mFull, 1, p0, p1);
    }
    emitRowTiles(mTiles, m1, arith::SubIOp::create(b, loc, m1, mTiles), p0, p1);
  }

  /// `aTiles` 16-row tiles from `row` over panels [p0, p1): two panels per microkernel,
  /// then an odd last one.
  void emitAmxPanels(Value row, int64_t aTiles, Value p0, Value p1) {
    Value pairsEnd = arith::AddIOp::create(
        b, loc, p0,
        arith::MulIOp::create(
            b, loc,
            arith::DivUIOp::create(b, loc, arith::SubIOp::create(b, loc, p1, p0), kb.idx(2)),
            kb.idx(2)));
    kb.forRange(p0, pairsEnd, 2, [&](Value p) { emitAmxMicroKernel(row, aTiles, p, 2); });
    Value odd = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, pairsEnd, p1);
    auto ifOp = scf::IfOp::create(b, loc, odd, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    emitAmxMicroKernel(row, aTiles, pairsEnd, 1);
  }

  /// aTiles x bTiles accumulator tiles over K's 32-blocks: A tiles (16 rows x 32 k) from
  /// the workgroup's bf16 rows, B tiles straight from the packed panels (a panel's 16
  /// k-pairs of 32 bf16 are one contiguous 1 KiB tile). The accumulators go through a
  /// 16 x 16 f32 scratch into the epilogue, which adds a K tail (k % 32) by vdpbf16ps.
  void emitAmxMicroKernel(Value row, int64_t aTiles, Value panel, int64_t bTiles) {
    auto tile = [&](int64_t rows, int64_t cols, Type t) { return amx::TileType::get({rows, cols}, t); };
    Type bf = b.getBF16Type(), f32 = b.getF32Type();
    auto cType = tile(16, kPanel, f32);
    Value localRow = arith::SubIOp::create(b, loc, row, rowBase);
    SmallVector<Value> acc;
    for (int64_t t = 0; t < aTiles * bTiles; ++t)
      acc.push_back(amx::TileZeroOp::create(b, loc, cType));
    int64_t blocks = k / 32;
    if (blocks) {
      // Per 32 k: A tiles 16 rows x 32 bf16, B tiles 16 pair rows x 32 bf16.
      auto loop = scf::ForOp::create(b, loc, kb.idx(0), kb.idx(blocks * 32), kb.idx(32), acc);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value kIndex = loop.getInductionVar();
      SmallVector<Value> a, w, next;
      for (int64_t i = 0; i < aTiles; ++i)
        a.push_back(amx::TileLoadOp::create(
            b, loc, tile(16, 32, bf), lhsRows,
            ValueRange{arith::AddIOp::create(b, loc, localRow, kb.idx(16 * i)), kIndex}));
      for (int64_t j = 0; j < bTiles; ++j) {
        Value p = arith::AddIOp::create(b, loc, panel, kb.idx(j));
        Value pairRow = arith::AddIOp::create(
            b, loc, arith::MulIOp::create(b, loc, p, kb.idx(k / 2)),
            arith::DivUIOp::create(b, loc, kIndex, kb.idx(2)));
        w.push_back(amx::TileLoadOp::create(b, loc, tile(16, 2 * kPanel, bf), rhsRows,
                                            ValueRange{pairRow, kb.idx(0)}));
      }
      for (int64_t i = 0; i < aTiles; ++i)
        for (int64_t j = 0; j < bTiles; ++j)
          next.push_back(amx::TileMulFOp::create(b, loc, cType, a[i], w[j],
                                                 loop.getRegionIterArgs()[i * bTiles + j]));
      scf::YieldOp::create(b, loc, next);
      b.setInsertionPointAfter(loop);
      acc.assign(loop.getResults().begin(), loop.getResults().end());
    }
    for (int64_t i = 0; i < aTiles; ++i)
      for (int64_t j = 0; j < bTiles; ++j) {
        int64_t slot = (i * bTiles + j) * 16;
        amx::TileStoreOp::create(b, loc, tileOut, ValueRange{kb.idx(slot), kb.idx(0)},
                                 acc[i * bTiles + j]);
      }
    for (int64_t i = 0; i < aTiles; ++i)
      for (int64_t j = 0; j < bTiles; ++j) {
        int64_t slot = (i * bTiles + j) * 16;
        kb.forRange(kb.idx(0), kb.idx(16), 1, [&](Value r) {
          Value acc16 = vector::LoadOp::create(
              b, loc, accType(), tileOut,
              ValueRange{arith::AddIOp::create(b, loc, r, kb.idx(slot)), kb.idx(0)});
          Value rowHere =
              arith::AddIOp::create(b, loc, row, arith::AddIOp::create(b, loc, r, kb.idx(16 * i)));
          Value panelHere = arith::AddIOp::create(b, loc, panel, kb.idx(j));
          // The K tail (k % 32) by vdpbf16ps on the row's pairs: tiles of another width
          // would need tile registers of their own (a tile's shape is fixed per config).
          if (k % 32) {
            auto rest = scf::ForOp::create(b, loc, kb.idx(blocks * 16), kb.idx(k / 2),
                                           kb.idx(1), ValueRange{acc16});
            OpBuilder::InsertionGuard guard(b);
            b.setInsertionPointToStart(rest.getBody());
            scf::YieldOp::create(b, loc,
                                 bf16Step(rowHere, 1, panelHere, 1, rest.getInductionVar(),
                                          SmallVector<Value>{rest.getRegionIterArgs()[0]}));
            b.setInsertionPointAfter(rest);
            acc16 = rest.getResult(0);
          }
          emitEpilogue(rowHere, panelHere, acc16);
        });
      }
  }

  void emitMicroKernel(Value row, int64_t mr, Value panel, int64_t np) {
    if (blockFormat) return emitBlockMicroKernel(row, mr, panel, np);
    // Few accumulators (single rows, single panels) would serialize on the FMA latency:
    // keep `split` independent sets over interleaved k steps and add them at the end.
    int64_t tile = mr * np;
    int64_t split = tile >= 8 ? 1 : std::min<int64_t>(4, 8 / tile);
    int64_t steps = bf16 ? k / 2 : k;
    Value zero = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(accType(), 0.0f));
    auto step = [&](Value kk, ArrayRef<Value> acc) {
      return bf16 ? bf16Step(row, mr, panel, np, kk, acc) : f32Step(row, mr, panel, np, kk, acc);
    };
    SmallVector<Value> init(tile * split, zero);
    auto loop =
        scf::ForOp::create(b, loc, kb.idx(0), kb.idx(steps / split * split), kb.idx(split), init);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      SmallVector<Value> acc(loop.getRegionIterArgs().begin(), loop.getRegionIterArgs().end());
      SmallVector<Value> next;
      for (int64_t s = 0; s < split; ++s) {
        Value kk = arith::AddIOp::create(b, loc, loop.getInductionVar(), kb.idx(s));
        next.append(step(kk, ArrayRef<Value>(acc).slice(s * tile, tile)));
      }
      scf::YieldOp::create(b, loc, next);
    }
    SmallVector<Value> sums(loop.getResults().begin(), loop.getResults().begin() + tile);
    for (int64_t s = 1; s < split; ++s)
      for (int64_t t = 0; t < tile; ++t)
        sums[t] = arith::AddFOp::create(b, loc, sums[t], loop.getResult(s * tile + t));
    if (steps % split) {
      auto rest =
          scf::ForOp::create(b, loc, kb.idx(steps / split * split), kb.idx(steps), kb.idx(1), sums);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(rest.getBody());
      SmallVector<Value> acc(rest.getRegionIterArgs().begin(), rest.getRegionIterArgs().end());
      scf::YieldOp::create(b, loc, step(rest.getInductionVar(), acc));
      b.setInsertionPointAfter(rest);
      sums.assign(rest.getResults().begin(), rest.getResults().end());
    }
    for (int64_t i = 0; i < mr; ++i)
      for (int64_t j = 0; j < np; ++j)
        emitEpilogue(arith::AddIOp::create(b, loc, row, kb.idx(i)),
                     arith::AddIOp::create(b, loc, panel, kb.idx(j)), sums[i * np + j]);
  }

  /// A panel's fields for one block (BlockFormat.h): the 16 rows' multipliers of the
  /// block's integer sums (`scaleHi`: q6_k's second half), of the activations' block sum
  /// (`min`: m, or −dmin·m; formats with a min), their high-bit words (q5: one, q6_k: two)
  /// and the byte offsets of the panel-group and of the block's quants.
  struct PanelBlock {
    Value scale, scaleHi, min, high, highHi, quants, start;
  };
  PanelBlock loadPanelBlock(Value p, Value group, Value sub) {
    const BlockFormat &f = *blockFormat;
    auto i8x16 = VectorType::get({kPanel}, b.getI8Type());
    auto i32x16 = VectorType::get({kPanel}, b.getI32Type());
    auto f16x16 = VectorType::get({kPanel}, b.getF16Type());
    auto loadHalves = [&](Value byteOffset) {  // 16 f16 fields as f32
      Value at = arith::DivUIOp::create(b, loc, byteOffset, kb.idx(2));
      Value h = vector::LoadOp::create(b, loc, f16x16, rhsHalves, ValueRange{at});
      return Value(arith::ExtFOp::create(b, loc, accType(), h));
    };
    auto loadBytesAsF32 = [&](Value at) {  // 16 u8 fields (k-quant sc, m) as f32
      Value v = vector::LoadOp::create(b, loc, i8x16, rhs, ValueRange{at});
      return Value(arith::UIToFPOp::create(b, loc, accType(), v));
    };
    PanelBlock pb;
    Value start = arith::MulIOp::create(
        b, loc,
        arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, p, kb.idx(k / f.groupValues)), group),
        kb.idx(f.panelGroupBytes()));
    auto field = [&](int64_t offset0, int64_t stride) {  // offset0 + stride * sub past start
      return arith::AddIOp::create(
          b, loc, start,
          arith::AddIOp::create(b, loc, kb.idx(offset0), arith::MulIOp::create(b, loc, sub, kb.idx(stride))));
    };
    pb.start = start;
    Value d = loadHalves(start);
    if (f.bits == 6) {
      // d·sc for each 16 values (int8 scales; exact in f32).
      auto scaleAt = [&](int64_t extra) {
        Value v = vector::LoadOp::create(b, loc, i8x16, rhs,
                                         ValueRange{field(f.subScaleOffset(0) + extra, 2 * BlockFormat::kRows)});
        return Value(arith::MulFOp::create(b, loc, d, arith::SIToFPOp::create(b, loc, accType(), v)));
      };
      pb.scale = scaleAt(0);
      pb.scaleHi = scaleAt(BlockFormat::kRows);
    } else if (f.kQuant()) {
      // d·sc and −dmin·m of the block (exact in f32: 11-bit by 6-bit products).
      Value dmin = loadHalves(arith::AddIOp::create(b, loc, start, kb.idx(f.minOffset())));
      Value sc = loadBytesAsF32(field(f.subScaleOffset(0), BlockFormat::kRows));
      Value m = loadBytesAsF32(field(f.subMinOffset(0), BlockFormat::kRows));
      pb.scale = arith::MulFOp::create(b, loc, d, sc);
      pb.min = arith::NegFOp::create(b, loc, arith::MulFOp::create(b, loc, dmin, m));
    } else {
      pb.scale = d;
      if (f.hasMin) pb.min = loadHalves(arith::AddIOp::create(b, loc, start, kb.idx(f.minOffset())));
    }
    for (int h = 0; h < f.highBits(); ++h) {  // q5: one word per row; q6_k: two
      Value at = arith::DivUIOp::create(
          b, loc, field(f.highOffset(0) + 4 * BlockFormat::kRows * h, 4 * BlockFormat::kRows * f.highBits()),
          kb.idx(4));
      (h ? pb.highHi : pb.high) = vector::LoadOp::create(b, loc, i32x16, rhsWords, ValueRange{at});
    }
    pb.quants = field(f.quantOffset(0), f.quantBytes());
    return pb;
  }

  /// The `<format>_n16` microkernel (BlockFormat.h): mr x np accumulators over K's
  /// 32-blocks. Within a block the products of the integer values (widened to f32; 4/5-bit
  /// values unpacked from their nibbles and high bits, q4_0 / q5_0 offsets subtracted as
  /// integers) go into block accumulators, `split` interleaved sets when there are few of
  /// them (FMA latency); at the block's end each is multiplied by its rows' 16 scales into
  /// the running sums, plus, for the formats with a min, the min times the block's sum of
  /// the row's activations.
  void emitBlockMicroKernel(Value row, int64_t mr, Value panel, int64_t np) {
    const BlockFormat &f = *blockFormat;
    bool eight = f.bits == 8;
    int64_t tile = mr * np;
    int64_t split = tile >= 8 ? 1 : std::min<int64_t>(4, 8 / tile);
    int64_t blocks = k / BlockFormat::kValues;
    int64_t steps = eight ? BlockFormat::kValues : BlockFormat::kValues / 2;
    Value zero = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(accType(), 0.0f));
    auto i8x16 = VectorType::get({kPanel}, b.getI8Type());
    auto i32x16 = VectorType::get({kPanel}, b.getI32Type());
    auto i32Splat = [&](int32_t v) {
      return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(i32x16, v));
    };
    SmallVector<Value> init(tile, zero);
    auto outer = scf::ForOp::create(b, loc, kb.idx(0), kb.idx(blocks), kb.idx(1), init);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(outer.getBody());
      Value blk = outer.getInductionVar();
      // q6_k scales the two halves of a block (its values' low and high nibbles) apart.
      SmallVector<Value> quants, scales, scalesHi, mins, highs, highsHi;
      // The block's group (k-quants: 8 blocks under one d and dmin) and place in it.
      int64_t perGroup = f.blocksPerGroup();
      Value group = arith::DivUIOp::create(b, loc, blk, kb.idx(perGroup));
      Value sub = arith::RemUIOp::create(b, loc, blk, kb.idx(perGroup));
      for (int64_t j = 0; j < np; ++j) {
        PanelBlock pb = loadPanelBlock(arith::AddIOp::create(b, loc, panel, kb.idx(j)), group, sub);
        scales.push_back(pb.scale);
        if (pb.scaleHi) scalesHi.push_back(pb.scaleHi);
        if (pb.min) mins.push_back(pb.min);
        if (pb.high) highs.push_back(pb.high);
        if (pb.highHi) highsHi.push_back(pb.highHi);
        quants.push_back(pb.quants);
        if (streaming) {  // the group's cache lines, kStreamAheadBytes ahead, at its first block
          Value first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, sub, kb.idx(0));
          auto ifOp = scf::IfOp::create(b, loc, first, /*withElseRegion=*/false);
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToStart(&ifOp.getThenRegion().front());
          for (int64_t line = 0; line < f.panelGroupBytes(); line += 64)
            prefetchWeights(arith::AddIOp::create(b, loc, pb.start, kb.idx(line)));
        }
      }
      Value k0 = arith::MulIOp::create(b, loc, blk, kb.idx(BlockFormat::kValues));
      // The 16 rows' values at one step: one k (8-bit), or k and k + 16 (4/5-bit).
      auto values = [&](int64_t j, Value step) -> SmallVector<Value, 2> {
        Value at = arith::AddIOp::create(b, loc, quants[j],
                                         arith::MulIOp::create(b, loc, step, kb.idx(kPanel)));
        Value q = vector::LoadOp::create(b, loc, i8x16, rhs, ValueRange{at});
        if (eight) {
          Value wide = arith::ExtSIOp::create(b, loc, i32x16, q);
          return {Value(arith::SIToFPOp::create(b, loc, accType(), wide))};
        }
        Value bytes = arith::ExtUIOp::create(b, loc, i32x16, q);
        Value lo = arith::AndIOp::create(b, loc, bytes, i32Splat(15));
        Value hi = arith::ShRUIOp::create(b, loc, bytes, i32Splat(4));
        if (f.highBits() == 2) {  // q6_k: bits 2i, 2i + 1 of word 0 (value i), word 1 (i + 16)
          Value shift = arith::ShLIOp::create(
              b, loc,
              vector::BroadcastOp::create(b, loc, i32x16,
                                          arith::IndexCastOp::create(b, loc, b.getI32Type(), step)),
              i32Splat(1));
          auto two = [&](Value word) {  // ((word >> 2i) & 3) << 4
            Value s = arith::ShRUIOp::create(b, loc, word, shift);
            return arith::ShLIOp::create(b, loc, arith::AndIOp::create(b, loc, s, i32Splat(3)),
                                         i32Splat(4));
          };
          lo = arith::OrIOp::create(b, loc, lo, two(highs[j]));
          hi = arith::OrIOp::create(b, loc, hi, two(highsHi[j]));
        } else if (f.highBits() == 1) {
          Value shift = vector::BroadcastOp::create(
              b, loc, i32x16, arith::IndexCastOp::create(b, loc, b.getI32Type(), step));
          auto bit = [&](Value by) {  // ((qh >> by) & 1) << 4
            Value s = arith::ShRUIOp::create(b, loc, highs[j], by);
            return arith::ShLIOp::create(b, loc, arith::AndIOp::create(b, loc, s, i32Splat(1)),
                                         i32Splat(4));
          };
          lo = arith::OrIOp::create(b, loc, lo, bit(shift));
          hi = arith::OrIOp::create(
              b, loc, hi, bit(arith::AddIOp::create(b, loc, shift, i32Splat(16))));
        }
        if (f.offset) {
          lo = arith::SubIOp::create(b, loc, lo, i32Splat(f.offset));
          hi = arith::SubIOp::create(b, loc, hi, i32Splat(f.offset));
        }
        return {Value(arith::SIToFPOp::create(b, loc, accType(), lo)),
                Value(arith::SIToFPOp::create(b, loc, accType(), hi))};
      };
      int64_t halves = f.scalesPerBlock();  // accumulator sets: 2 when halves scale apart
      SmallVector<Value> blockInit(tile * split * halves, zero);
      auto inner = scf::ForOp::create(b, loc, kb.idx(0), kb.idx(steps), kb.idx(split), blockInit);
      {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(inner.getBody());
        SmallVector<Value> next(inner.getRegionIterArgs().begin(), inner.getRegionIterArgs().end());
        for (int64_t s = 0; s < split; ++s) {
          Value step = arith::AddIOp::create(b, loc, inner.getInductionVar(), kb.idx(s));
          SmallVector<SmallVector<Value, 2>> w;
          for (int64_t j = 0; j < np; ++j) w.push_back(values(j, step));
          for (size_t half = 0; half < w[0].size(); ++half) {
            Value kIndex = arith::AddIOp::create(
                b, loc, k0, arith::AddIOp::create(b, loc, step, kb.idx(16 * half)));
            for (int64_t i = 0; i < mr; ++i) {
              Value av = vector::BroadcastOp::create(
                  b, loc, accType(), kb.loadF32(lhs, lhsIndex(row, i, kIndex), 0));
              for (int64_t j = 0; j < np; ++j) {
                Value &acc = next[((halves > 1 ? half : 0) * split + s) * tile + i * np + j];
                acc = vector::FMAOp::create(b, loc, av, w[j][half], acc);
              }
            }
          }
        }
        scf::YieldOp::create(b, loc, next);
      }
      SmallVector<Value> next(outer.getRegionIterArgs().begin(), outer.getRegionIterArgs().end());
      SmallVector<Value> rowSums;  // the min formats: each row's sum of x over the block
      if (f.hasMin)
        for (int64_t i = 0; i < mr; ++i) {
          Value x0 = kb.loadF32(lhs, lhsIndex(row, i, k0), kPanel);
          Value x1 = kb.loadF32(
              lhs, lhsIndex(row, i, arith::AddIOp::create(b, loc, k0, kb.idx(kPanel))), kPanel);
          Value sum = vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD,
                                                  arith::AddFOp::create(b, loc, x0, x1));
          rowSums.push_back(vector::BroadcastOp::create(b, loc, accType(), sum));
        }
      for (int64_t t = 0; t < tile; ++t) {
        for (int64_t h = 0; h < halves; ++h) {
          Value sum = inner.getResult(h * split * tile + t);
          for (int64_t s = 1; s < split; ++s)
            sum = arith::AddFOp::create(b, loc, sum, inner.getResult((h * split + s) * tile + t));
          next[t] = vector::FMAOp::create(b, loc, sum, (h ? scalesHi : scales)[t % np], next[t]);
        }
        if (f.hasMin) next[t] = vector::FMAOp::create(b, loc, rowSums[t / np], mins[t % np], next[t]);
      }
      scf::YieldOp::create(b, loc, next);
    }
    for (int64_t i = 0; i < mr; ++i)
      for (int64_t j = 0; j < np; ++j)
        emitEpilogue(arith::AddIOp::create(b, loc, row, kb.idx(i)),
                     arith::AddIOp::create(b, loc, panel, kb.idx(j)), outer.getResult(i * np + j));
  }

  /// The int8 path of a block-format matmul (lowering_config int8_rows; a matmul of at
  /// most that many rows, so the choice never depends on where a row falls in a batch):
  /// the workgroup's rows are quantized once, then every panel runs all of them in one
  /// microkernel.
  void emitInt8Rows(Value m0, Value rowsHere, Value p0, Value p1) {
    quantizeRows(m0, rowsHere);
    SmallVector<int64_t> rows;
    for (int64_t r = 1; r <= int8Rows; ++r) rows.push_back(r);
    emitRowSwitch(rowsHere, rows, [&](int64_t r) {
      kb.forRange(p0, p1, 1, [&](Value p) { emitInt8MicroKernel(m0, r, p); });
    });
  }

  /// Rows [m0, m0 + count) as int8, per 32-value block as ggml's q8_0 makes them: d =
  /// max|x| / 127, q = x · (1 / d) rounded to nearest even (0 for an all-zero block), into
  /// stack buffers: the values (xq, [int8_rows, K] bytes) and per block d and the sums of
  /// q over its two halves (xStats, 3 f32 each: exact, |sum| < 2^12).
  void quantizeRows(Value m0, Value count) {
    int64_t blocks = k / BlockFormat::kValues;
    Value xq;  // the same bytes as xqWords, stored one block half at a time
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&kb.func().getBody().front());
      xq = memref::AllocaOp::create(b, loc, MemRefType::get({int8Rows * k}, b.getI8Type()),
                                    ValueRange{}, b.getI64IntegerAttr(64));
      xqWords = memref::ViewOp::create(b, loc, MemRefType::get({int8Rows * k / 4}, b.getI32Type()),
                                       xq, kb.idx(0), ValueRange{});
      xStats = memref::AllocaOp::create(b, loc, MemRefType::get({int8Rows * blocks * 3}, b.getF32Type()),
                                        ValueRange{}, b.getI64IntegerAttr(64));
    }
    auto i32x16 = VectorType::get({kPanel}, b.getI32Type());
    auto i8x16 = VectorType::get({kPanel}, b.getI8Type());
    kb.forRange(kb.idx(0), count, 1, [&](Value r) {
      Value row = arith::AddIOp::create(b, loc, m0, r);
      kb.forRange(kb.idx(0), kb.idx(blocks), 1, [&](Value blk) {
        Value k0 = arith::MulIOp::create(b, loc, blk, kb.idx(BlockFormat::kValues));
        Value x0 = kb.loadF32(lhs, lhsIndex(row, 0, k0), kPanel);
        Value x1 = kb.loadF32(lhs, lhsIndex(row, 0, arith::AddIOp::create(b, loc, k0, kb.idx(kPanel))), kPanel);
        Value amax = vector::ReductionOp::create(
            b, loc, vector::CombiningKind::MAXIMUMF,
            arith::MaximumFOp::create(b, loc, math::AbsFOp::create(b, loc, x0), math::AbsFOp::create(b, loc, x1)));
        Value d = arith::DivFOp::create(b, loc, amax, kb.f32(127.0f));
        Value zero = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, d, kb.f32(0.0f));
        Value id = arith::SelectOp::create(b, loc, zero, kb.f32(0.0f),
                                           arith::DivFOp::create(b, loc, kb.f32(1.0f), d));
        Value idv = vector::BroadcastOp::create(b, loc, accType(), id);
        Value at = arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, r, kb.idx(k)), k0);
        Value statsAt = arith::MulIOp::create(
            b, loc, arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, r, kb.idx(blocks)), blk),
            kb.idx(3));
        memref::StoreOp::create(b, loc, d, xStats, ValueRange{statsAt});
        for (int64_t h = 0; h < 2; ++h) {
          Value q = arith::FPToSIOp::create(
              b, loc, i32x16, math::RoundEvenOp::create(b, loc, arith::MulFOp::create(b, loc, h ? x1 : x0, idv)));
          vector::StoreOp::create(b, loc, arith::TruncIOp::create(b, loc, i8x16, q), xq,
                                  ValueRange{arith::AddIOp::create(b, loc, at, kb.idx(h * kPanel))});
          Value sum = vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD, q);
          memref::StoreOp::create(b, loc, arith::SIToFPOp::create(b, loc, b.getF32Type(), sum), xStats,
                                  ValueRange{arith::AddIOp::create(b, loc, statsAt, kb.idx(1 + h))});
        }
      });
    });
  }

  /// `mr` quantized rows (from m0) by one panel of int8-decodable blocks: per block the
  /// panel's quants come as 64-byte vectors of 4 values x 16 rows, turned into 16 rows x 4
  /// values by vpermb (the unsigned 4/5/6-bit values, or q8_0's biased by 128), so each
  /// vpdpbusd adds 4 products per row against a row's 4 quantized activations broadcast;
  /// values 0..15 and 16..31 go to separate i32 sums (q6_k scales them apart). High bits
  /// come from each row's words by vpmultishiftqb. At the block's end each sum less offset x
  /// the activations' integer sum (q8_0 128, q4_0 8, q5_0 16, q6_k 32) is scaled by the
  /// rows' multiplier x the activations' d into f32 sums, plus min x d x their integer sum.
  void emitInt8MicroKernel(Value m0, int64_t mr, Value panel) {
    const BlockFormat &f = *blockFormat;
    int64_t blocks = k / BlockFormat::kValues;
    auto i8x64 = VectorType::get({64}, b.getI8Type());
    auto i32x16 = VectorType::get({kPanel}, b.getI32Type());
    auto bytes = [&](ArrayRef<int64_t> v) -> Value {
      SmallVector<int8_t> c(v.begin(), v.end());
      return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(i8x64, ArrayRef<int8_t>(c)));
    };
    auto splat8 = [&](int64_t v) { return bytes(SmallVector<int64_t>(64, int8_t(v))); };
    // vpermb: byte 4·row + j of the result is byte 16·j + row of the chunk.
    SmallVector<int64_t> transpose;
    for (int64_t i = 0; i < 64; ++i) transpose.push_back((i % 4) * 16 + i / 4);
    // vpmultishiftqb controls: result byte 4·row + j takes 8 bits of its row's word from
    // bit `first(j)` − shift, so that bit lands at `shift` (rows 2i, 2i + 1 share a qword).
    auto controls = [&](llvm::function_ref<int64_t(int64_t)> first, int64_t shift) {
      SmallVector<int64_t> c;
      for (int64_t i = 0; i < 64; ++i) {
        int64_t row = i / 4, j = i % 4;
        c.push_back(((32 * (row % 2) + first(j) - shift) % 64 + 64) % 64);
      }
      return bytes(c);
    };
    auto intrinsic = [&](StringRef name, Type type, ValueRange args) -> Value {
      return LLVM::CallIntrinsicOp::create(b, loc, type, b.getStringAttr(name), args).getResult(0);
    };
    int offset = f.bits == 8 ? 128 : f.offset;
    Value zero = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(accType(), 0.0f));
    Value zeroI = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(i32x16, int32_t(0)));
    auto outer = scf::ForOp::create(b, loc, kb.idx(0), kb.idx(blocks), kb.idx(1),
                                    SmallVector<Value>(mr, zero));
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(outer.getBody());
      Value blk = outer.getInductionVar();
      Value group = arith::DivUIOp::create(b, loc, blk, kb.idx(f.blocksPerGroup()));
      Value sub = arith::RemUIOp::create(b, loc, blk, kb.idx(f.blocksPerGroup()));
      PanelBlock pb = loadPanelBlock(panel, group, sub);
      for (int64_t line = 0; line < f.panelGroupBytes() / f.blocksPerGroup(); line += 64)
        prefetchWeights(arith::AddIOp::create(b, loc, pb.quants, kb.idx(line)));
      Value k0 = arith::MulIOp::create(b, loc, blk, kb.idx(BlockFormat::kValues));
      // Row i's 4 quantized activations from value v of the block, in every lane.
      auto activations = [&](int64_t i, int64_t v) -> Value {
        Value at = arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, kb.idx(i), kb.idx(k)),
                                         arith::AddIOp::create(b, loc, k0, kb.idx(v)));
        Value word = memref::LoadOp::create(b, loc, xqWords,
                                            ValueRange{arith::DivUIOp::create(b, loc, at, kb.idx(4))});
        return vector::BitCastOp::create(b, loc, i8x64, vector::BroadcastOp::create(b, loc, i32x16, word));
      };
      SmallVector<Value> lo(mr, zeroI), hi(mr, zeroI);
      auto dot = [&](Value acc, Value w, Value x) {
        return intrinsic("llvm.x86.avx512.vpdpbusd.512", i32x16, {acc, w, x});
      };
      Value high = pb.high ? Value(vector::BitCastOp::create(b, loc, i8x64, pb.high)) : Value();
      Value highHi = pb.highHi ? Value(vector::BitCastOp::create(b, loc, i8x64, pb.highHi)) : Value();
      int64_t chunks = f.bits == 8 ? 8 : 4;
      for (int64_t c = 0; c < chunks; ++c) {
        Value at = arith::AddIOp::create(b, loc, pb.quants, kb.idx(64 * c));
        Value raw = vector::LoadOp::create(b, loc, i8x64, rhs, ValueRange{at});
        Value t = vector::ShuffleOp::create(b, loc, raw, raw, transpose);
        if (f.bits == 8) {  // values 4c..4c+3, signed: biased to unsigned
          Value w = arith::XOrIOp::create(b, loc, t, splat8(0x80));
          SmallVector<Value> &set = c < 4 ? lo : hi;
          for (int64_t i = 0; i < mr; ++i) set[i] = dot(set[i], w, activations(i, 4 * c));
          continue;
        }
        // Low nibbles: values 4c..4c+3; high nibbles: 16 + 4c...
        Value wl = arith::AndIOp::create(b, loc, t, splat8(15));
        Value wh = arith::AndIOp::create(b, loc, arith::ShRUIOp::create(b, loc, t, splat8(4)), splat8(15));
        if (f.highBits() == 1) {  // bit v of the row's word at bit 4
          auto bit = [&](int64_t base) {
            Value sh = intrinsic("llvm.x86.avx512.pmultishift.qb.512", i8x64,
                                 {controls([&](int64_t j) { return base + 4 * c + j; }, 4), high});
            return arith::AndIOp::create(b, loc, sh, splat8(0x10));
          };
          wl = arith::OrIOp::create(b, loc, wl, bit(0));
          wh = arith::OrIOp::create(b, loc, wh, bit(16));
        } else if (f.highBits() == 2) {  // bits 2v', 2v' + 1 of word h (v = 16h + v') at 4, 5
          auto two = [&](Value words) {
            Value sh = intrinsic("llvm.x86.avx512.pmultishift.qb.512", i8x64,
                                 {controls([&](int64_t j) { return 2 * (4 * c + j); }, 4), words});
            return arith::AndIOp::create(b, loc, sh, splat8(0x30));
          };
          wl = arith::OrIOp::create(b, loc, wl, two(high));
          wh = arith::OrIOp::create(b, loc, wh, two(highHi));
        }
        for (int64_t i = 0; i < mr; ++i) {
          lo[i] = dot(lo[i], wl, activations(i, 4 * c));
          hi[i] = dot(hi[i], wh, activations(i, 16 + 4 * c));
        }
      }
      SmallVector<Value> next(outer.getRegionIterArgs().begin(), outer.getRegionIterArgs().end());
      for (int64_t i = 0; i < mr; ++i) {
        Value statsAt = arith::MulIOp::create(
            b, loc, arith::AddIOp::create(b, loc, kb.idx(i * blocks), blk), kb.idx(3));
        auto stat = [&](int64_t j) {
          Value v = memref::LoadOp::create(b, loc, xStats,
                                           ValueRange{arith::AddIOp::create(b, loc, statsAt, kb.idx(j))});
          return Value(vector::BroadcastOp::create(b, loc, accType(), v));
        };
        Value d = stat(0), sumLo = stat(1), sumHi = stat(2);
        // sum − offset · Σq, exact in f32 (|.| < 2^24).
        auto corrected = [&](Value isum, Value qsum) -> Value {
          Value v = arith::SIToFPOp::create(b, loc, accType(), isum);
          if (!offset) return v;
          Value off = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(accType(), float(offset)));
          return arith::SubFOp::create(b, loc, v, arith::MulFOp::create(b, loc, off, qsum));
        };
        Value acc = next[i];
        if (pb.scaleHi) {
          acc = vector::FMAOp::create(b, loc, corrected(lo[i], sumLo), arith::MulFOp::create(b, loc, pb.scale, d), acc);
          acc = vector::FMAOp::create(b, loc, corrected(hi[i], sumHi), arith::MulFOp::create(b, loc, pb.scaleHi, d), acc);
        } else {
          Value qsum = arith::AddFOp::create(b, loc, sumLo, sumHi);
          Value isum = arith::AddIOp::create(b, loc, lo[i], hi[i]);
          acc = vector::FMAOp::create(b, loc, corrected(isum, qsum), arith::MulFOp::create(b, loc, pb.scale, d), acc);
          if (pb.min)
            acc = vector::FMAOp::create(b, loc, pb.min, arith::MulFOp::create(b, loc, d, qsum), acc);
        }
        next[i] = acc;
      }
      scf::YieldOp::create(b, loc, next);
    }
    for (int64_t i = 0; i < mr; ++i)
      emitEpilogue(arith::AddIOp::create(b, loc, m0, kb.idx(i)), panel, outer.getResult(i));
  }

  /// Prefetches the block panel kStreamAheadBytes past byte `at` (clamped to the buffer).
  void prefetchWeights(Value at) {
    int64_t total = blockFormat->panelsBytes(n, k);
    Value ahead = arith::MinUIOp::create(
        b, loc, arith::AddIOp::create(b, loc, at, kb.idx(kStreamAheadBytes)), kb.idx(total - 1));
    memref::PrefetchOp::create(b, loc, rhs, ValueRange{ahead}, /*isWrite=*/false,
                               /*localityHint=*/3, /*isDataCache=*/true);
  }

  /// vdpbf16ps takes the activation as bf16 pairs broadcast to every lane: convert this
  /// workgroup's rows once into a stack buffer of pairs (one i32 each), so the microkernel
  /// broadcasts them straight from memory instead of converting per panel.
  void packLhsPairs(Value m0, Value m1) {
    int64_t pairs = k / 2;
    {
      // One buffer, two views: i32 pairs for vdpbf16ps broadcasts, [rows, K] bf16 rows for
      // AMX tile loads (row stride 2K bytes).
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&kb.func().getBody().front());
      Value bytes = memref::AllocaOp::create(
          b, loc, MemRefType::get({rowsPerBlock * k * 2}, b.getI8Type()), ValueRange{},
          b.getI64IntegerAttr(64));
      lhsPairs = memref::ViewOp::create(b, loc,
                                        MemRefType::get({rowsPerBlock * pairs}, b.getI32Type()),
                                        bytes, kb.idx(0), ValueRange{});
      lhsRows = memref::ViewOp::create(b, loc,
                                       MemRefType::get({rowsPerBlock, k}, b.getBF16Type()),
                                       bytes, kb.idx(0), ValueRange{});
    }
    auto lhsElem = cast<MemRefType>(lhs.getType()).getElementType();
    kb.forRange(m0, m1, 1, [&](Value row) {
      Value src = arith::MulIOp::create(b, loc, row, kb.idx(k));
      Value dst =
          arith::MulIOp::create(b, loc, arith::SubIOp::create(b, loc, row, m0), kb.idx(pairs));
      auto packChunk = [&](Value p, int64_t width) {
        Value at = arith::AddIOp::create(b, loc, src, arith::MulIOp::create(b, loc, p, kb.idx(2)));
        Value x = vector::LoadOp::create(b, loc, VectorType::get({2 * width}, lhsElem), lhs, at);
        if (!lhsElem.isBF16())
          x = arith::TruncFOp::create(b, loc, VectorType::get({2 * width}, b.getBF16Type()), x);
        Value words =
            vector::BitCastOp::create(b, loc, VectorType::get({width}, b.getI32Type()), x);
        vector::StoreOp::create(b, loc, words, lhsPairs,
                                ValueRange{arith::AddIOp::create(b, loc, dst, p)});
      };
      int64_t main = pairs / kPanel * kPanel;
      if (main)
        kb.forRange(kb.idx(0), kb.idx(main), kPanel, [&](Value p) { packChunk(p, kPanel); });
      if (main < pairs)
        kb.forRange(kb.idx(main), kb.idx(pairs), 1, [&](Value p) { packChunk(p, 1); });
    });
  }

  /// A bf16 lhs (rounded by its producer: --mvc-narrow-matmul-inputs) is read in place:
  /// the same two views as packLhsPairs makes, over the whole [M, K] input, indexed by
  /// global row (rowBase 0).
  void viewLhsPairs(int lhsBinding) {
    lhsPairs = kb.binding(lhsBinding, b.getI32Type());
    int64_t rows = (int64_t(1) << 40) / k;
    lhsRows = memref::ReinterpretCastOp::create(
        b, loc, MemRefType::get({rows, k}, b.getBF16Type()), kb.binding(lhsBinding, b.getBF16Type()),
        /*offset=*/0, /*sizes=*/ArrayRef<int64_t>{rows, k}, /*strides=*/ArrayRef<int64_t>{k, 1});
    rowBase = kb.idx(0);
  }

  Value lhsIndex(Value row, int64_t i, Value kIndex) {
    Value r = arith::AddIOp::create(b, loc, row, kb.idx(i));
    return arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, r, kb.idx(k)), kIndex);
  }

  SmallVector<Value> f32Step(Value row, int64_t mr, Value panel, int64_t np, Value kk,
                             ArrayRef<Value> acc) {
    SmallVector<Value> bv, next(acc.begin(), acc.end());
    for (int64_t j = 0; j < np; ++j) {
      Value p = arith::AddIOp::create(b, loc, panel, kb.idx(j));
      Value off =
          arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, p, kb.idx(k * kPanel)),
                                arith::MulIOp::create(b, loc, kk, kb.idx(kPanel)));
      bv.push_back(loadWeights(accType(), off));
    }
    for (int64_t i = 0; i < mr; ++i) {
      Value a = kb.loadF32(lhs, lhsIndex(row, i, kk), 0);
      Value av = vector::BroadcastOp::create(b, loc, accType(), a);
      for (int64_t j = 0; j < np; ++j)
        next[i * np + j] = vector::FMAOp::create(b, loc, av, bv[j], acc[i * np + j]);
    }
    return next;
  }

  /// One step's 16 columns of a weight panel at element `off`. A streaming microkernel
  /// (one panel, small batch) also prefetches kStreamAheadBytes ahead: it reads one cache
  /// line per step, one stream per thread, which the hardware prefetcher alone keeps too
  /// few lines ahead of. The address
  /// is clamped to the last weight, so it never leaves the buffer.
  Value loadWeights(VectorType type, Value off) {
    Value v = vector::LoadOp::create(b, loc, type, rhs, off);
    if (streaming) {
      int64_t elemBytes = bf16 ? 2 : 4;
      Value ahead = arith::MinUIOp::create(
          b, loc, arith::AddIOp::create(b, loc, off, kb.idx(kStreamAheadBytes / elemBytes)),
          kb.idx(panels * k * kPanel - 1));
      memref::PrefetchOp::create(b, loc, rhs, ValueRange{ahead}, /*isWrite=*/false,
                                 /*localityHint=*/3, /*isDataCache=*/true);
    }
    return v;
  }

  /// One pair of k: vdpbf16ps where the CPU has it, else two f32 FMAs on widened bf16.
  SmallVector<Value> bf16Step(Value row, int64_t mr, Value panel, int64_t np, Value kk,
                              ArrayRef<Value> acc) {
    auto bf16x32 = VectorType::get({2 * kPanel}, b.getBF16Type());
    auto i32x16 = VectorType::get({kPanel}, b.getI32Type());
    SmallVector<Value> bv, next(acc.begin(), acc.end());
    for (int64_t j = 0; j < np; ++j) {
      Value p = arith::AddIOp::create(b, loc, panel, kb.idx(j));
      Value off =
          arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, p, kb.idx(k * kPanel)),
                                arith::MulIOp::create(b, loc, kk, kb.idx(2 * kPanel)));
      bv.push_back(loadWeights(bf16x32, off));
    }
    Value k2 = arith::MulIOp::create(b, loc, kk, kb.idx(2));
    for (int64_t i = 0; i < mr; ++i) {
      Value idx = lhsIndex(row, i, k2);
      if (kb.target().bf16Dot) {
        Value r =
            arith::SubIOp::create(b, loc, arith::AddIOp::create(b, loc, row, kb.idx(i)), rowBase);
        Value scalar = memref::LoadOp::create(
            b, loc, lhsPairs,
            ValueRange{arith::AddIOp::create(b, loc,
                                             arith::MulIOp::create(b, loc, r, kb.idx(k / 2)), kk)});
        Value av = vector::BitCastOp::create(b, loc, bf16x32,
                                             vector::BroadcastOp::create(b, loc, i32x16, scalar));
        // The broadcast last: with one panel it is used once, and vdpbf16ps takes it from
        // memory ({1to16}) instead of a separate vbroadcastss.
        for (int64_t j = 0; j < np; ++j)
          next[i * np + j] = x86vector::DotBF16Op::create(b, loc, acc[i * np + j], bv[j], av);
        continue;
      }
      // Same semantics as vdpbf16ps: the activation is rounded to bf16 too.
      auto roundBf16 = [&](Value x) -> Value {
        Value t = arith::TruncFOp::create(b, loc, b.getBF16Type(), x);
        return arith::ExtFOp::create(b, loc, b.getF32Type(), t);
      };
      Value a0 = vector::BroadcastOp::create(b, loc, accType(), roundBf16(kb.loadF32(lhs, idx, 0)));
      Value a1 = vector::BroadcastOp::create(
          b, loc, accType(),
          roundBf16(kb.loadF32(lhs, arith::AddIOp::create(b, loc, idx, kb.idx(1)), 0)));
      for (int64_t j = 0; j < np; ++j) {
        Value words = vector::BitCastOp::create(b, loc, i32x16, bv[j]);
        Value sixteen =
            arith::ConstantOp::create(b, loc, DenseElementsAttr::get(i32x16, int32_t(16)));
        Value himask =
            arith::ConstantOp::create(b, loc, DenseElementsAttr::get(i32x16, int32_t(0xffff0000u)));
        Value even = vector::BitCastOp::create(b, loc, accType(),
                                               arith::ShLIOp::create(b, loc, words, sixteen));
        Value odd = vector::BitCastOp::create(b, loc, accType(),
                                              arith::AndIOp::create(b, loc, words, himask));
        Value s = vector::FMAOp::create(b, loc, a0, even, acc[i * np + j]);
        next[i * np + j] = vector::FMAOp::create(b, loc, a1, odd, s);
      }
    }
    return next;
  }

  /// Applies the fused elementwise ops to one 16-column tile and stores region results.
  void emitEpilogue(Value row, Value panel, Value acc) {
    Value col = arith::MulIOp::create(b, loc, panel, kb.idx(kPanel));
    Value at = arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, row, kb.idx(n)), col);
    // A partial last panel is read and written under a mask.
    Value mask;
    if (n % kPanel) {
      Value valid = arith::MinSIOp::create(b, loc, arith::SubIOp::create(b, loc, kb.idx(n), col),
                                           kb.idx(kPanel));
      mask = vector::CreateMaskOp::create(b, loc, VectorType::get({kPanel}, b.getI1Type()),
                                          ValueRange{valid});
    }
    llvm::DenseMap<Value, Value> tile;
    tile[matmul.getResult()] = acc;
    auto load = [&](Value v) -> Value {
      if (auto it = tile.find(v); it != tile.end()) return it->second;
      auto type = cast<RankedTensorType>(v.getType());
      Value mem = kb.binding(sig.bindingOf(v), type.getElementType());
      Value index = type.getRank() == 1 ? col : at;
      auto vt = VectorType::get({kPanel}, type.getElementType());
      Value x;
      if (type.getRank() == 1 && type.getDimSize(0) == 1 && n != 1) {
        // A one-element operand is a scalar broadcast over the tile.
        x = vector::BroadcastOp::create(b, loc, vt, memref::LoadOp::create(b, loc, mem, ValueRange{kb.idx(0)}));
      } else if (mask) {
        Value pass = arith::ConstantOp::create(
            b, loc, DenseElementsAttr::get(vt, b.getZeroAttr(type.getElementType())));
        x = vector::MaskedLoadOp::create(b, loc, vt, mem, ValueRange{index}, mask, pass);
      } else {
        x = vector::LoadOp::create(b, loc, vt, mem, index);
      }
      if (!type.getElementType().isF32()) x = arith::ExtFOp::create(b, loc, accType(), x);
      return x;
    };
    for (Operation &op : region.getBody().front().without_terminator()) {
      if (&op == matmul.getOperation()) continue;
      SmallVector<Value> args;
      for (Value operand : op.getOperands()) args.push_back(load(operand));
      tile[op.getResult(0)] = emitElementwise(b, loc, &op, args);
    }
    auto yield = cast<YieldOp>(region.getBody().front().getTerminator());
    for (auto [i, v] : llvm::enumerate(yield.getValues())) {
      auto type = cast<RankedTensorType>(v.getType());
      Value mem = kb.binding(sig.operands.size() + i, type.getElementType());
      Value x = tile[v];
      if (!type.getElementType().isF32())
        x = arith::TruncFOp::create(b, loc, VectorType::get({kPanel}, type.getElementType()), x);
      if (mask)
        vector::MaskedStoreOp::create(b, loc, mem, ValueRange{at}, mask, x);
      else
        vector::StoreOp::create(b, loc, x, mem, at);
    }
  }

  MatmulOp matmul;
  int64_t k = 0, n = 0, panels = 0;
  int64_t microkernelRows = 0, panelsPerBlock = 0, rowsPerBlock = 0, smallBatchRows = 0;  // from lowering_config
  int64_t amxRows = 0;  // from lowering_config: rows of an AMX microkernel, 0 = none
  int64_t int8Rows = 0;  // from lowering_config: block formats, rows of the int8 path, 0 = none
  int64_t microPanels = 0;  // from lowering_config: panels per microkernel
  Value xqWords, xStats;  // int8 path: the workgroup's quantized rows (as words) and block stats
  bool bf16 = false;
  const BlockFormat *blockFormat = nullptr;  // the rhs's block format (layout <format>_n16)
  Value rhsHalves, rhsWords;  // blocks: the same bytes as f16 (scales, mins) and i32 (high bits)
  bool streaming = false;  // emitting the small-batch microkernel (prefetches its panel)
  Value lhs, rhs, m;
  Value lhsPairs, rowBase;  // bf16 pairs of this workgroup's rows (vdpbf16ps path)
  Value lhsRows;            // the same bytes as [rows_per_workgroup, K] bf16 (AMX tile loads)
  Value rhsRows, tileOut;   // AMX: the panels as rows of 32 bf16; accumulator tiles for the epilogue
};

} // namespace

FailureOr<LaunchInfo> emitMatmulKernel(KernelBuilder &kb, DispatchRegionOp region,
                                       const DispatchSignature &sig, const DimsOf &dims) {
  return MatmulEmitter(kb, region, sig, dims).emit();
}

} // namespace mvc
