//===- GpuMatmulKernel.cpp - tensor-core matmul with fused epilogue (gpu) -===//
//
// y[M, N] = x[M, K] · Wᵀ (W row_major [N, K], `transpose_b`) or x · W (W [K, N]) on the
// tensor cores with mma.sync (sm_80+):
//   - bf16 weights: m16n8k16 bf16 × bf16 → f32; x is rounded to bf16 as the cpu kernel's
//     vdpbf16ps path rounds it;
//   - f32 weights: 3xTF32 on m16n8k8 (each operand split into a tf32 "big" part and the
//     tf32 of the remainder; big·big + big·small + small·big), about f32 accuracy, so the
//     f32 goldens keep their tolerance.
// A block (4 warps) owns a 64×64 tile of y; each warp a 32×32 quarter (2×4 mma tiles of
// 16×8 f32 accumulators in registers). K goes in steps of 32 through two shared-memory
// stages: cp.async copies step k + 1's operand tiles (in their own element types, rows
// padded by 16 bytes against bank conflicts, zero-filled past the edges by a 0-byte
// source) while the warps multiply step k's. Fragments of a bf16 W come with ldmatrix
// (.trans for W [K, N]); x (f32) and f32 W are read with ld.shared and rounded or split
// (ldmatrix moves 16-bit elements only). The region's elementwise ops are applied to each
// accumulator element and each region result is stored once.
// A weight in a ggml block format (`<format>_n16`, GpuBlockTile.h) is copied as its bytes
// and decoded into the B fragments: one K step per 32-value block, the integer values
// through the bf16 mma against x split in three bf16 parts (all its bits), each block's sums scaled
// (and min-corrected) per column into the f32 accumulators.
// A grouped matmul (`groups`, mixture-of-experts layers) is the same kernel over row
// blocks that each lie within one expert's rows (Common/Moe.h), with that expert's matrix
// of the [E, N, K] (or [E, K, N]) weight; rows past the expert's end read as zeros and
// are not stored.
//
//===----------------------------------------------------------------------===//
#include "compiler/Codegen/Common/KernelMath.h"
#include "compiler/Codegen/Common/Moe.h"
#include "compiler/Codegen/CUDA/GpuKernels.h"
#include "compiler/Codegen/CUDA/GpuBlockTile.h"
#include "compiler/Codegen/CUDA/GpuMma.h"
#include "compiler/Codegen/Common/RowOps.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "llvm/ADT/DenseMap.h"

#include <optional>

using namespace mlir;

namespace mvc {
namespace {

// One mma.sync m16n8k16 step; the block and warp tiles come from the region's
// lowering_config (--mvc-set-gpu-lowering-config).
constexpr int64_t kMmaM = 16, kMmaN = 8;
/// bf16 parts x is split into against a block format's exact integer weights.
constexpr int kSplitParts = 3;

/// A 2-D operand tile in shared memory, `stages` copies: `rows` × `cols` elements of
/// `type`, rows `stride` elements apart.
struct SharedTile {
  Value mem;
  int64_t rows = 0, cols = 0, stride = 0, elemBytes = 0;
  int64_t stageElems() const { return rows * stride; }
};

class GpuMatmulEmitter : KernelMath {
public:
  GpuMatmulEmitter(gpu::GPUModuleOp module, StringRef name, DispatchRegionOp region,
                   const DispatchSignature &sig, const DimsOf &dims)
      : module(module), name(name), region(region), sig(sig), dims(dims) {}

  FailureOr<LaunchInfo> emit() {
    matmul = cast<MatmulOp>(region.getBody().front().front());
    if (failed(readConfig())) return failure();
    auto lhsType = cast<RankedTensorType>(matmul.getLhs().getType());
    auto rhsType = cast<RankedTensorType>(matmul.getRhs().getType());
    if (lhsType.isDynamicDim(1) || !rhsType.hasStaticShape())
      return matmul.emitError("gpu matmul needs static K and a static rhs");
    int64_t experts = matmul.getNumGroups();
    // WeightOp's verifier holds a block format to known names and ungrouped transposed
    // matmuls.
    if (std::optional<StringRef> name = weightFormat(matmul.getRhs())) {
      format = findBlockFormat(name->str());
      if (tileK != BlockFormat::kValues || tileN % BlockFormat::kRows)
        return region.emitError("gpu matmul: a block-format weight needs tile_k = 32 (one "
                                "block per K step) and whole 16-row panels per tile");
    }
    // Block formats feed the bf16 mma their integer values (exact in bf16).
    bf16 = format || rhsType.getElementType().isBF16();
    if (!bf16 && !rhsType.getElementType().isF32())
      return matmul.emitError("gpu matmul supports f32 and bf16 weights");
    Type lhsElem = lhsType.getElementType(), rhsElem = rhsType.getElementType();
    if (!lhsElem.isF32() && !lhsElem.isBF16())
      return matmul.emitError("gpu matmul supports f32 and bf16 activations");
    k = lhsType.getDimSize(1);
    n = matmul.getType().getDimSize(1);
    transposed = matmul.getTransposeB();
    int64_t nBlocks = (n + tileN - 1) / tileN;
    // cp.async moves whole chunks that never straddle the end of a row.
    auto chunkFor = [](int64_t rowBytes) -> int64_t {
      return rowBytes % 16 == 0 ? 16 : rowBytes % 8 == 0 ? 8 : rowBytes % 4 == 0 ? 4 : 0;
    };
    int64_t la = lhsElem.getIntOrFloatBitWidth() / 8, lb = rhsElem.getIntOrFloatBitWidth() / 8;
    aChunk = chunkFor(k * la);
    bChunk = format ? 16 : chunkFor((transposed ? k : n) * lb);
    if (!aChunk || !bChunk)
      return matmul.emitError("gpu matmul needs operand rows of a multiple of 4 bytes");

    GpuKernelBuilder builder(module, name, sig.operands.size() + sig.results.size(), 1, numThreads);
    kb = &builder;
    b = &builder.b();
    loc = builder.loc();
    bindMath(*b, loc);
    lhs = builder.bindingPointer(sig.bindingOf(matmul.getLhs()));
    rhs = builder.bindingPointer(sig.bindingOf(matmul.getRhs()));
    m = builder.push(0);
    // x: [m][k]; W: [n][k] when transposed, else [k][n].
    aTile = sharedTile(tileM, tileK, lhsElem);
    std::optional<GpuBlockTile> blockTile;
    if (format) {
      blockTile.emplace(builder, *format, rhs, n, k, tileN, numStages);
      blocks = &*blockTile;
    } else {
      bTile = transposed ? sharedTile(tileN, tileK, rhsElem) : sharedTile(tileK, tileN, rhsElem);
    }
    Value m0 = mul(div(builder.blockId(), nBlocks), kb->idx(tileM));
    if (experts) {
      // The block's rows within one expert: `m` becomes the end of those rows, so the
      // copies zero-fill past it and the epilogue stores only rows before it.
      GroupedRows rows = findGroupedRows(*b, loc, builder.binding(sig.bindingOf(matmul.getGroups()), b->getI32Type()),
                                         experts, tileM, div(builder.blockId(), nBlocks));
      m0 = rows.begin;
      m = rows.end;
      rhs = globalElementPointer(*b, loc, rhs, rhsElem, mul(rows.expert, kb->idx(n * k)));
    }
    Value n0 =
        mul(arith::RemUIOp::create(*b, loc, builder.blockId(), kb->idx(nBlocks)), kb->idx(tileN));
    Value warp = builder.warpId();
    lane = builder.laneId();
    warpRow = mul(div(warp, warpsN), kb->idx(warpTileM));
    warpCol = mul(arith::RemUIOp::create(*b, loc, warp, kb->idx(warpsN)), kb->idx(warpTileN));
    group = div(lane, 4);
    inGroup = arith::RemUIOp::create(*b, loc, lane, kb->idx(4));

    int64_t steps = (k + tileK - 1) / tileK;
    stage(kb->idx(0), m0, n0, kb->idx(0));
    cpAsyncCommit(*b, loc);
    SmallVector<Value> init(numAccs * 4, builder.f32(0.0f));
    auto acc = builder.forRangeCarried(
        kb->idx(0), kb->idx(steps), kb->idx(1), init,
        [&](Value step, ValueRange carried) -> SmallVector<Value> {
          Value next = add(step, kb->idx(1));
          // The other stage was last read in the previous step, before its closing barrier.
          builder.ifThen(lt(next, kb->idx(steps)), [&] {
            stage(arith::RemUIOp::create(*b, loc, next, kb->idx(numStages)), m0, n0,
                  mul(next, kb->idx(tileK)));
          });
          cpAsyncCommit(*b, loc);
          cpAsyncWait(*b, loc, 1); // this step's group has landed (the next one may not)
          builder.barrier();
          current = arith::RemUIOp::create(*b, loc, step, kb->idx(numStages));
          SmallVector<Value> accs(carried.begin(), carried.end());
          int64_t kStep = bf16 ? 16 : 8;
          for (int64_t ks = 0; ks < tileK && !blocks; ks += kStep) {
            if (bf16)
              bf16Step(ks, accs);
            else
              tf32Step(ks, accs);
          }
          if (blocks) blockStep(accs);
          // This stage is refilled by the next step only after every warp read it.
          builder.barrier();
          return accs;
        });

    // Accumulator (mi, ni, r): row g (+8 for r >= 2), column 2t + (r & 1) of its 16×8 tile.
    for (int64_t mi = 0; mi < warpTileM / kMmaM; ++mi)
      for (int64_t ni = 0; ni < warpTileN / kMmaN; ++ni)
        for (int64_t r = 0; r < 4; ++r) {
          Value row = add(m0, add(warpRow, add(group, kb->idx(mi * kMmaM + (r >= 2 ? 8 : 0)))));
          Value col = add(n0, add(warpCol, add(mul(inGroup, kb->idx(2)), kb->idx(ni * kMmaN + (r & 1)))));
          Value value = acc[(mi * (warpTileN / kMmaN) + ni) * 4 + r];
          builder.ifThen(both(lt(row, m), lt(col, kb->idx(n))), [&] { emitEpilogue(row, col, value); });
        }
    builder.finish();
    SymExpr mExpr = dims(matmul.getLhs())[0];
    SymExpr rowBlocks = experts ? groupedRowBlocks(mExpr, experts, tileM) : SymExpr::ceilDiv(mExpr, tileM);
    LaunchInfo launch{rowBlocks * nBlocks, {mExpr}};
    launch.block = {numThreads, 1, 1};
    return launch;
  }

private:
  /// The tiling of lowering_config, checked against what this template emits: warps
  /// covering the block tile exactly, each warp tile whole mma steps, K steps whole
  /// mma K steps (16).
  LogicalResult readConfig() {
    FailureOr<GpuMatmulConfigAttr> config = loweringConfig<GpuMatmulConfigAttr>(region);
    if (failed(config)) return failure();
    tileM = config->getTileM();
    tileN = config->getTileN();
    tileK = config->getTileK();
    numStages = config->getStages();
    warpTileM = config->getWarpTileM();
    warpTileN = config->getWarpTileN();
    numThreads = config->getThreads();
    warpsN = tileN / warpTileN;
    if (tileM % warpTileM || tileN % warpTileN || warpTileM % kMmaM ||
        warpTileN % (2 * kMmaN) || tileK % 16 ||
        numThreads != 32 * (tileM / warpTileM) * warpsN)
      return region.emitError("gpu matmul: lowering_config tiles do not fit the template "
                               "(warps must cover the block tile in whole mma steps)");
    numAccs = (warpTileM / kMmaM) * (warpTileN / kMmaN);
    return success();
  }

  Value i32(Value x) { return arith::IndexCastOp::create(*b, loc, b->getI32Type(), x); }
  /// min(x, bound - 1): an address that is always inside the matrix (row 0 of an empty
  /// grouped block, whose bound is 0).
  Value clamp(Value x, Value bound) {
    Value last = arith::SubIOp::create(
        *b, loc, arith::MaxUIOp::create(*b, loc, bound, kb->idx(1)), kb->idx(1));
    return arith::MinUIOp::create(*b, loc, x, last);
  }

  SharedTile sharedTile(int64_t rows, int64_t cols, Type type) {
    SharedTile tile;
    tile.rows = rows;
    tile.cols = cols;
    tile.elemBytes = type.getIntOrFloatBitWidth() / 8;
    tile.stride = cols + 16 / tile.elemBytes;
    tile.mem = kb->sharedArray(numStages * tile.stageElems(), type);
    return tile;
  }

  /// Starts the cp.async copies of rows [r0, r0 + tile.rows) × columns [c0, c0 + tile.cols)
  /// of the row-major [numRows, numCols] matrix at `src` into stage `stageIndex` of `tile`,
  /// in `chunk`-byte pieces; pieces outside the matrix read 0 bytes (zero-filled).
  void copyTile(const SharedTile &tile, Value stageIndex, Value src, Value r0, Value numRows, Value c0,
                int64_t numCols, int64_t chunk) {
    int64_t chunkElems = chunk / tile.elemBytes, perRow = tile.cols / chunkElems;
    Type elem = cast<MemRefType>(tile.mem.getType()).getElementType();
    Value stageBase = mul(stageIndex, kb->idx(tile.stageElems()));
    for (int64_t i = 0; i < (tile.rows * perRow + numThreads - 1) / numThreads; ++i) {
      Value e = add(kb->threadId(), kb->idx(i * numThreads));
      auto body = [&] {
        Value r = div(e, perRow);
        Value c = mul(arith::RemUIOp::create(*b, loc, e, kb->idx(perRow)), kb->idx(chunkElems));
        Value row = add(r0, r), col = add(c0, c);
        Value inside = both(lt(row, numRows), lt(col, kb->idx(numCols)));
        Value at = add(mul(clamp(row, numRows), kb->idx(numCols)), clamp(col, kb->idx(numCols)));
        Value bytes =
            arith::SelectOp::create(*b, loc, inside, i32(kb->idx(chunk)), i32(kb->idx(0)));
        cpAsync(*b, loc, sharedElementPointer(*b, loc, tile.mem, add(stageBase, add(mul(r, kb->idx(tile.stride)), c))),
                globalElementPointer(*b, loc, src, elem, at), chunk, bytes);
      };
      if ((i + 1) * numThreads <= tile.rows * perRow) body();
      else kb->ifThen(lt(e, kb->idx(tile.rows * perRow)), body);
    }
  }

  /// Step k0's x[m0:+64, k0:+32] and W's [n0:+64, k0:+32] into stage `stageIndex`.
  void stage(Value stageIndex, Value m0, Value n0, Value k0) {
    copyTile(aTile, stageIndex, lhs, m0, m, k0, k, aChunk);
    if (blocks)
      blocks->copy(stageIndex, n0, k0);
    else if (transposed)
      copyTile(bTile, stageIndex, rhs, n0, kb->idx(n), k0, k, bChunk);
    else
      copyTile(bTile, stageIndex, rhs, k0, kb->idx(k), n0, n, bChunk);
  }

  /// Element (row + rowOffset, col + colOffset) of the current stage of `tile`, as f32.
  Value tileAt(const SharedTile &tile, Value row, int64_t rowOffset, Value col, int64_t colOffset) {
    Value at = add(mul(current, kb->idx(tile.stageElems())),
                   add(mul(add(row, kb->idx(rowOffset)), kb->idx(tile.stride)), add(col, kb->idx(colOffset))));
    return kb->loadF32(tile.mem, at);
  }
  /// W's element (k, n) of the current stage.
  Value weightAt(Value kk, int64_t kOffset, Value nn, int64_t nOffset) {
    return transposed ? tileAt(bTile, nn, nOffset, kk, kOffset) : tileAt(bTile, kk, kOffset, nn, nOffset);
  }

  /// One k16 step: fragments per the PTX ISA's m16n8k16 .bf16 layout (g = lane / 4,
  /// t = lane % 4): A regs {(g, 2t), (g+8, 2t), (g, 2t+8), (g+8, 2t+8)}, B regs
  /// {(k=2t, n=g), (k=2t+8, n=g)}, each a pair of consecutive k. B comes from ldmatrix x4,
  /// two n tiles at a time: matrix i = lane / 8 holds k + 8 for odd i, n tile + 1 for i >= 2.
  void bf16Step(int64_t ks, SmallVector<Value> &acc) {
    Value k2 = mul(inGroup, kb->idx(2));
    SmallVector<SmallVector<Value>> aFrags, bFrags;
    for (int64_t mi = 0; mi < warpTileM / kMmaM; ++mi) {
      Value row = add(warpRow, add(group, kb->idx(mi * kMmaM)));
      SmallVector<Value> a;
      for (auto [dr, dk] : {std::pair<int64_t, int64_t>{0, 0}, {8, 0}, {0, 8}, {8, 8}})
        a.push_back(packBf16(*b, loc, tileAt(aTile, row, dr, k2, ks + dk), tileAt(aTile, row, dr, k2, ks + dk + 1)));
      aFrags.push_back(a);
    }
    Value quarter = div(lane, 8), row8 = arith::RemUIOp::create(*b, loc, lane, kb->idx(8));
    Value kHalf = mul(arith::RemUIOp::create(*b, loc, quarter, kb->idx(2)), kb->idx(8));
    Value nHalf = mul(div(quarter, 2), kb->idx(8));
    Value stageBase = mul(current, kb->idx(bTile.stageElems()));
    for (int64_t ni = 0; ni < warpTileN / kMmaN; ni += 2) {
      Value nn = add(warpCol, kb->idx(ni * kMmaN));
      // [n][k]: row n = nn + nHalf + row8 at k = ks + kHalf; [k][n] (transposed by
      // ldmatrix): row k = ks + kHalf + row8 at n = nn + nHalf.
      Value at = transposed
                     ? add(mul(add(nn, add(nHalf, row8)), kb->idx(bTile.stride)), add(kHalf, kb->idx(ks)))
                     : add(mul(add(kb->idx(ks), add(kHalf, row8)), kb->idx(bTile.stride)), add(nn, nHalf));
      SmallVector<Value> w = ldmatrix(*b, loc, sharedElementPointer(*b, loc, bTile.mem, add(stageBase, at)), 4,
                                      /*trans=*/!transposed);
      bFrags.push_back({w[0], w[1]});
      bFrags.push_back({w[2], w[3]});
    }
    for (int64_t mi = 0; mi < warpTileM / kMmaM; ++mi)
      for (int64_t ni = 0; ni < warpTileN / kMmaN; ++ni)
        mmaSync(*b, loc, aFrags[mi], bFrags[ni],
                MutableArrayRef<Value>(acc).slice((mi * (warpTileN / kMmaN) + ni) * 4, 4),
                NVVM::MMATypes::bf16);
  }

  /// One k8 step in 3xTF32: fragments per the m16n8k8 .tf32 layout: A regs {(g, t),
  /// (g+8, t), (g, t+4), (g+8, t+4)}, B regs {(k=t, n=g), (k=t+4, n=g)}.
  void tf32Step(int64_t ks, SmallVector<Value> &acc) {
    SmallVector<SmallVector<Value>> aBig, aSmall, bBig, bSmall;
    for (int64_t mi = 0; mi < warpTileM / kMmaM; ++mi) {
      Value row = add(warpRow, add(group, kb->idx(mi * kMmaM)));
      SmallVector<Value> big, small;
      for (auto [dr, dk] : {std::pair<int64_t, int64_t>{0, 0}, {8, 0}, {0, 4}, {8, 4}}) {
        auto [hi, lo] = splitTf32(*b, loc, tileAt(aTile, row, dr, inGroup, ks + dk));
        big.push_back(hi);
        small.push_back(lo);
      }
      aBig.push_back(big);
      aSmall.push_back(small);
    }
    for (int64_t ni = 0; ni < warpTileN / kMmaN; ++ni) {
      Value col = add(warpCol, add(group, kb->idx(ni * kMmaN)));
      SmallVector<Value> big, small;
      for (int64_t dk : {0, 4}) {
        auto [hi, lo] = splitTf32(*b, loc, weightAt(inGroup, ks + dk, col, 0));
        big.push_back(hi);
        small.push_back(lo);
      }
      bBig.push_back(big);
      bSmall.push_back(small);
    }
    for (int64_t mi = 0; mi < warpTileM / kMmaM; ++mi)
      for (int64_t ni = 0; ni < warpTileN / kMmaN; ++ni) {
        auto c = MutableArrayRef<Value>(acc).slice((mi * (warpTileN / kMmaN) + ni) * 4, 4);
        // The small products first, so they are not lost against the big one.
        mmaSync(*b, loc, aSmall[mi], bBig[ni], c, NVVM::MMATypes::tf32);
        mmaSync(*b, loc, aBig[mi], bSmall[ni], c, NVVM::MMATypes::tf32);
        mmaSync(*b, loc, aBig[mi], bBig[ni], c, NVVM::MMATypes::tf32);
      }
  }

  /// One block-format step (a 32-value block of K, two k16 halves): the block's integer
  /// products go to fresh accumulators, x split into three bf16 parts (three mma each:
  /// the weights' integers are exact in bf16 and the parts hold all of x's bits, so the
  /// sums are as accurate as the cpu kernel's f32 ones); then each column's d (·sc) scales them into the running sums, plus, for
  /// the formats with a min, min times the row's sum of x over the block (an mma against
  /// ones). q6_k scales each half apart.
  void blockStep(SmallVector<Value> &acc) {
    Value k2 = mul(inGroup, kb->idx(2));
    int64_t tilesM = warpTileM / kMmaM, tilesN = warpTileN / kMmaN;
    SmallVector<Value> partial(acc.size(), kb->f32(0.0f)), sums(tilesM * 4, kb->f32(0.0f));
    Value one = arith::ConstantOp::create(*b, loc, b->getI32IntegerAttr(0x3F803F80));  // bf16 1, 1
    for (int half = 0; half < 2; ++half) {
      int64_t ks = 16 * half;
      SmallVector<SmallVector<Value>> bFrags;
      for (int64_t ni = 0; ni < tilesN; ++ni)
        bFrags.push_back(blocks->fragment(current, add(warpCol, add(group, kb->idx(ni * kMmaN))), k2, half));
      // One m tile at a time, so only its A fragments are live: aParts[p] is the A
      // fragment of x's part p (largest first).
      for (int64_t mi = 0; mi < tilesM; ++mi) {
        Value row = add(warpRow, add(group, kb->idx(mi * kMmaM)));
        SmallVector<SmallVector<Value>> aParts(kSplitParts);
        for (auto [dr, dk] : {std::pair<int64_t, int64_t>{0, 0}, {8, 0}, {0, 8}, {8, 8}}) {
          SmallVector<Value, 3> parts = splitBf16(*b, loc, tileAt(aTile, row, dr, k2, ks + dk),
                                                  tileAt(aTile, row, dr, k2, ks + dk + 1), kSplitParts);
          for (int p = 0; p < kSplitParts; ++p) aParts[p].push_back(parts[p]);
        }
        for (int64_t ni = 0; ni < tilesN; ++ni) {
          auto c = MutableArrayRef<Value>(partial).slice((mi * tilesN + ni) * 4, 4);
          for (int p = kSplitParts - 1; p >= 0; --p)  // the small parts first
            mmaSync(*b, loc, aParts[p], bFrags[ni], c, NVVM::MMATypes::bf16);
        }
        if (blocks->hasMin()) {
          auto c = MutableArrayRef<Value>(sums).slice(mi * 4, 4);
          for (int p = kSplitParts - 1; p >= 0; --p)
            mmaSync(*b, loc, aParts[p], {one, one}, c, NVVM::MMATypes::bf16);
        }
      }
      if (half == 0 && !blocks->scalesPerHalf()) continue;
      // Accumulator (mi, ni, r) is column 2t + (r & 1) of n tile ni, row g (+8 for r >= 2).
      for (int64_t ni = 0; ni < tilesN; ++ni)
        for (int64_t c = 0; c < 2; ++c) {
          Value col = add(warpCol, add(k2, kb->idx(ni * kMmaN + c)));
          Value scale = blocks->scale(current, col, half);
          Value minimum = blocks->hasMin() ? blocks->minimum(current, col) : Value();
          for (int64_t mi = 0; mi < tilesM; ++mi)
            for (int64_t r = c; r < 4; r += 2) {
              int64_t i = (mi * tilesN + ni) * 4 + r;
              acc[i] = addf(acc[i], mulf(scale, partial[i]));
              if (minimum) acc[i] = addf(acc[i], mulf(minimum, sums[mi * 4 + r]));
              partial[i] = kb->f32(0.0f);
            }
        }
    }
  }

  /// Applies the fused elementwise ops to output (row, col) and stores region results.
  void emitEpilogue(Value row, Value col, Value acc) {
    Value at = add(mul(row, kb->idx(n)), col);
    llvm::DenseMap<Value, Value> value;
    value[matmul.getResult()] = acc;
    auto load = [&](Value v) -> Value {
      if (auto it = value.find(v); it != value.end()) return it->second;
      auto type = cast<RankedTensorType>(v.getType());
      Value mem = kb->binding(sig.bindingOf(v), type.getElementType());
      if (type.getRank() == 1 && type.getDimSize(0) == 1 && n != 1)
        return kb->loadF32(mem, kb->idx(0));  // a one-element operand: a scalar
      return kb->loadF32(mem, type.getRank() == 1 ? col : at);
    };
    for (Operation &op : region.getBody().front().without_terminator()) {
      if (&op == matmul.getOperation()) continue;
      SmallVector<Value> args;
      for (Value operand : op.getOperands()) args.push_back(load(operand));
      value[op.getResult(0)] = emitElementwise(*b, loc, &op, args);
    }
    auto yield = cast<YieldOp>(region.getBody().front().getTerminator());
    for (auto [i, v] : llvm::enumerate(yield.getValues())) {
      auto type = cast<RankedTensorType>(v.getType());
      kb->storeF32(value[v], kb->binding(sig.operands.size() + i, type.getElementType()), at);
    }
  }

  // The tiling (readConfig): block tile, K step, stages, warp tile, threads, warps along
  // N and accumulator fragments per warp.
  int64_t tileM = 0, tileN = 0, tileK = 0, numStages = 0, warpTileM = 0, warpTileN = 0;
  int64_t numThreads = 0, warpsN = 0, numAccs = 0;
  gpu::GPUModuleOp module;
  StringRef name;
  DispatchRegionOp region;
  const DispatchSignature &sig;
  const DimsOf &dims;
  GpuKernelBuilder *kb = nullptr;
  OpBuilder *b = nullptr;
  Location loc = UnknownLoc::get(region.getContext());
  MatmulOp matmul;
  int64_t k = 0, n = 0, aChunk = 0, bChunk = 0;
  bool transposed = false, bf16 = false;
  SharedTile aTile, bTile;
  const BlockFormat *format = nullptr;
  GpuBlockTile *blocks = nullptr;
  Value lhs, rhs, m, lane, warpRow, warpCol, group, inGroup, current;
};

} // namespace

FailureOr<LaunchInfo> emitGpuMatmulKernel(gpu::GPUModuleOp module, StringRef name,
                                          DispatchRegionOp region, const DispatchSignature &sig,
                                          const DimsOf &dims) {
  return GpuMatmulEmitter(module, name, region, sig, dims).emit();
}

} // namespace mvc
