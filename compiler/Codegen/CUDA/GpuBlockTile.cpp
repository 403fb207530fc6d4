//===- GpuBlockTile.cpp - block-format weight tiles of the gpu matmul ----===//
#include "compiler/Codegen/CUDA/GpuBlockTile.h"

#include "compiler/Codegen/CUDA/GpuMma.h"

using namespace mlir;

namespace mvc {

namespace {
constexpr int64_t kRows = BlockFormat::kRows;
/// A run of bytes of a panel-group that one K step reads: at `srcBase + srcPerBlock · j`
/// for block j of the group, `bytes` long, at `dst` in the stage's record.
struct Segment {
  int64_t dst, srcBase, srcPerBlock, bytes;
};
} // namespace

GpuBlockTile::GpuBlockTile(GpuKernelBuilder &kb, const BlockFormat &format, Value weights,
                           int64_t n, int64_t k, int64_t tileN, int64_t stages)
    : KernelMath(kb.b(), kb.loc()), kb(kb), b(kb.b()), loc(kb.loc()), format(format),
      weights(weights), n(n), k(k), tileN(tileN) {
  scalesAt = format.fieldsBytes();
  minsAt = scalesAt + (format.kQuant() ? kRows * format.scalesPerBlock() : 0);
  highsAt = minsAt + (format.kQuant() && format.hasMin ? kRows : 0);
  quantsAt = highsAt + 4 * kRows * format.highBits();
  recordBytes = quantsAt + format.quantBytes();
  raw = kb.sharedArray(stages * (tileN / kRows) * recordBytes / 4, b.getI32Type());
}

Value GpuBlockTile::i32(Value index) { return arith::IndexCastOp::create(b, loc, b.getI32Type(), index); }
Value GpuBlockTile::i32(int64_t v) {
  return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(static_cast<int32_t>(v)));
}

void GpuBlockTile::copy(Value stage, Value n0, Value k0) {
  const BlockFormat &f = format;
  SmallVector<Segment> segments = {{0, 0, 0, scalesAt}};
  if (f.kQuant()) {
    segments.push_back({scalesAt, f.subScaleOffset(0), f.subScaleOffset(1) - f.subScaleOffset(0),
                        minsAt - scalesAt});
    if (f.hasMin) segments.push_back({minsAt, f.subMinOffset(0), kRows, kRows});
  }
  if (f.highBits())
    segments.push_back({highsAt, f.highOffset(0), f.highOffset(1) - f.highOffset(0), quantsAt - highsAt});
  segments.push_back({quantsAt, f.quantOffset(0), f.quantBytes(), f.quantBytes()});

  Value block = div(k0, BlockFormat::kValues);
  Value group = div(block, f.blocksPerGroup()), j = rem(block, f.blocksPerGroup());
  int64_t groups = k / f.groupValues, numPanels = (n + kRows - 1) / kRows;
  int64_t panels = tileN / kRows, perPanel = recordBytes / 16, chunks = panels * perPanel;
  int64_t threads = kb.blockSize();
  Value firstPanel = div(n0, kRows);
  Value stageBase = mul(stage, kb.idx(panels * recordBytes));
  for (int64_t i = 0; i < (chunks + threads - 1) / threads; ++i) {
    Value e = add(kb.threadId(), kb.idx(i * threads));
    auto body = [&] {
      Value panel = div(e, perPanel);
      Value at = mul(rem(e, perPanel), kb.idx(16));  // within the record
      // The source of the chunk: the segment it falls in (segments are whole chunks).
      Value src;
      for (const Segment &s : segments) {
        Value from = add(kb.idx(s.srcBase), add(mul(j, kb.idx(s.srcPerBlock)), sub(at, kb.idx(s.dst))));
        src = src ? select(cmp(arith::CmpIPredicate::uge, at, kb.idx(s.dst)), from, src) : from;
      }
      Value p = add(firstPanel, panel);
      Value inside = lt(p, kb.idx(numPanels));
      Value clamped = arith::MinUIOp::create(b, loc, p, kb.idx(numPanels - 1));
      Value global = add(mul(add(mul(clamped, kb.idx(groups)), group), kb.idx(f.panelGroupBytes())), src);
      Value dst = add(stageBase, add(mul(panel, kb.idx(recordBytes)), at));
      cpAsync(b, loc, sharedElementPointer(b, loc, raw, div(dst, 4)),
              globalElementPointer(b, loc, weights, b.getI8Type(), global), 16,
              select(inside, i32(16), i32(0)));
    };
    if ((i + 1) * threads <= chunks) body();
    else kb.ifThen(lt(e, kb.idx(chunks)), body);
  }
}

Value GpuBlockTile::word(Value byte) { return memref::LoadOp::create(b, loc, raw, ValueRange{div(byte, 4)}); }

Value GpuBlockTile::byteAt(Value byte) {
  Value shift = arith::ShLIOp::create(b, loc, i32(rem(byte, 4)), i32(3));
  Value v = arith::ShRUIOp::create(b, loc, word(byte), shift);
  return arith::AndIOp::create(b, loc, v, i32(255));
}

Value GpuBlockTile::halfAt(Value byte) {
  Value shift = arith::ShLIOp::create(b, loc, i32(rem(div(byte, 2), 2)), i32(4));
  Value v = arith::ShRUIOp::create(b, loc, word(byte), shift);
  Value bits = arith::TruncIOp::create(b, loc, b.getI16Type(), v);
  Value h = arith::BitcastOp::create(b, loc, b.getF16Type(), bits);
  return arith::ExtFOp::create(b, loc, b.getF32Type(), h);
}

Value GpuBlockTile::panelByte(Value stage, Value row, int64_t offset) {
  int64_t panels = tileN / kRows;
  Value base = add(mul(stage, kb.idx(panels * recordBytes)), mul(div(row, kRows), kb.idx(recordBytes)));
  return add(base, kb.idx(offset));
}

SmallVector<Value, 2> GpuBlockTile::fragment(Value stage, Value row, Value k2, int half) {
  const BlockFormat &f = format;
  Value lane = rem(row, kRows);
  Value quants = panelByte(stage, row, quantsAt);
  // The lane's high-bit word: q5 one per row (bit i: value i), q6_k one per half (bits
  // 2i, 2i + 1 of word `half`: value 16·half + i).
  Value high;
  if (f.highBits())
    high = word(add(panelByte(stage, row, highsAt + 4 * kRows * (f.highBits() == 2 ? half : 0)),
                    mul(lane, kb.idx(4))));
  auto value = [&](int64_t offset) -> Value {
    Value i = add(k2, kb.idx(offset));  // the value's index within the half
    Value q;
    if (f.bits == 8) {  // int8, k-major: byte (16·half + i, row)
      Value at = add(quants, add(mul(add(i, kb.idx(16 * half)), kb.idx(kRows)), lane));
      q = arith::ShRSIOp::create(b, loc, arith::ShLIOp::create(b, loc, byteAt(at), i32(24)), i32(24));
    } else {  // the low (half 0) or high (half 1) nibble of byte (i, row)
      Value at = add(quants, add(mul(i, kb.idx(kRows)), lane));
      q = arith::AndIOp::create(b, loc, arith::ShRUIOp::create(b, loc, byteAt(at), i32(4 * half)), i32(15));
      if (f.highBits()) {
        Value bitIndex = f.highBits() == 1 ? add(i, kb.idx(16 * half)) : mul(i, kb.idx(2));
        Value bits = arith::ShRUIOp::create(b, loc, high, i32(bitIndex));
        bits = arith::AndIOp::create(b, loc, bits, i32((1 << f.highBits()) - 1));
        q = arith::OrIOp::create(b, loc, q, arith::ShLIOp::create(b, loc, bits, i32(4)));
      }
      if (f.offset) q = arith::SubIOp::create(b, loc, q, i32(f.offset));
    }
    // |q| <= 128: its f32 has at most 8 significant bits, so its high half is its bf16.
    Value f = arith::SIToFPOp::create(b, loc, b.getF32Type(), q);
    return arith::ShRUIOp::create(b, loc, arith::BitcastOp::create(b, loc, b.getI32Type(), f), i32(16));
  };
  // B regs of m16n8k16: values (2t, 2t + 1) and (2t + 8, 2t + 9) as bf16 pairs (low first).
  auto pair = [&](int64_t offset) -> Value {
    return arith::OrIOp::create(b, loc, value(offset),
                                arith::ShLIOp::create(b, loc, value(offset + 1), i32(16)));
  };
  return {pair(0), pair(8)};
}

Value GpuBlockTile::scale(Value stage, Value row, int half) {
  const BlockFormat &f = format;
  Value lane = rem(row, kRows);
  Value d = halfAt(add(panelByte(stage, row, 0), mul(lane, kb.idx(2))));
  if (!f.kQuant()) return d;
  Value sc = byteAt(add(panelByte(stage, row, scalesAt + (scalesPerHalf() ? kRows * half : 0)), lane));
  Value m = scalesPerHalf()  // q6_k: int8 scales
                ? Value(arith::SIToFPOp::create(
                      b, loc, b.getF32Type(),
                      arith::ShRSIOp::create(b, loc, arith::ShLIOp::create(b, loc, sc, i32(24)), i32(24))))
                : Value(arith::UIToFPOp::create(b, loc, b.getF32Type(), sc));
  return mulf(d, m);  // 11-bit by 8-bit: exact in f32
}

Value GpuBlockTile::minimum(Value stage, Value row) {
  const BlockFormat &f = format;
  Value lane = rem(row, kRows);
  Value m = halfAt(add(panelByte(stage, row, 2 * kRows), mul(lane, kb.idx(2))));
  if (!f.kQuant()) return m;
  Value mins = byteAt(add(panelByte(stage, row, minsAt), lane));
  Value product = mulf(m, arith::UIToFPOp::create(b, loc, b.getF32Type(), mins));
  return arith::NegFOp::create(b, loc, product);
}

} // namespace mvc
