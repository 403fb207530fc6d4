//===- EmuRewriteNvvm.cpp - NVVM operations into emulator calls -----------===//
#include "compiler/Codegen/Emu/EmuCalls.h"
#include "compiler/Codegen/Emu/Passes.h"
#include "runtime/hal/emu/EmuAbi.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

namespace mvc {
#define GEN_PASS_DEF_EMUREWRITENVVM
#include "compiler/Codegen/Emu/Passes.h.inc"
} // namespace mvc

using namespace mlir;
using mvc::callEmu;

namespace {

/// nvvm.read.ptx.sreg.* → MvcEmuSreg.
std::optional<int> sregCode(StringRef name) {
  static const std::pair<StringRef, int> table[] = {
      {"tid.x", MVC_EMU_SREG_TID_X},       {"tid.y", MVC_EMU_SREG_TID_Y},
      {"tid.z", MVC_EMU_SREG_TID_Z},       {"ntid.x", MVC_EMU_SREG_NTID_X},
      {"ntid.y", MVC_EMU_SREG_NTID_Y},     {"ntid.z", MVC_EMU_SREG_NTID_Z},
      {"ctaid.x", MVC_EMU_SREG_CTAID_X},   {"ctaid.y", MVC_EMU_SREG_CTAID_Y},
      {"ctaid.z", MVC_EMU_SREG_CTAID_Z},   {"nctaid.x", MVC_EMU_SREG_NCTAID_X},
      {"nctaid.y", MVC_EMU_SREG_NCTAID_Y}, {"nctaid.z", MVC_EMU_SREG_NCTAID_Z},
      {"laneid", MVC_EMU_SREG_LANEID},     {"warpid", MVC_EMU_SREG_WARPID},
      {"nwarpid", MVC_EMU_SREG_NWARPID},   {"warpsize", MVC_EMU_SREG_WARPSIZE},
      {"lanemask.eq", MVC_EMU_SREG_LANEMASK_EQ}, {"lanemask.le", MVC_EMU_SREG_LANEMASK_LE},
      {"lanemask.lt", MVC_EMU_SREG_LANEMASK_LT}, {"lanemask.ge", MVC_EMU_SREG_LANEMASK_GE},
      {"lanemask.gt", MVC_EMU_SREG_LANEMASK_GT},
  };
  if (!name.consume_front("nvvm.read.ptx.sreg.")) return std::nullopt;
  for (auto [suffix, code] : table)
    if (name == suffix) return code;
  return std::nullopt;
}

class NvvmRewriter {
public:
  explicit NvvmRewriter(ModuleOp module) : module(module), b(module.getContext()) {}

  /// Rewrites `op` (an NVVM op or a host-illegal LLVM op); false after emitting an error.
  bool rewrite(Operation *op);

private:
  Type i32() { return b.getI32Type(); }
  Value constI32(Location loc, int64_t v) {
    return LLVM::ConstantOp::create(b, loc, i32(), b.getI32IntegerAttr(static_cast<int32_t>(v)));
  }
  Value toHostPtr(Location loc, Value ptr) {
    auto type = cast<LLVM::LLVMPointerType>(ptr.getType());
    if (type.getAddressSpace() == 0) return ptr;
    return LLVM::AddrSpaceCastOp::create(b, loc, LLVM::LLVMPointerType::get(b.getContext()), ptr);
  }
  /// A stack slot of `count` x `element` in the entry block of `op`'s function.
  Value entrySlot(Operation *op, Type element, int count) {
    auto fn = op->getParentOfType<LLVM::LLVMFuncOp>();
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&fn.getBody().front());
    Value n = constI32(op->getLoc(), count);
    return LLVM::AllocaOp::create(b, op->getLoc(), LLVM::LLVMPointerType::get(b.getContext()),
                                  element, n, 16);
  }
  void storeAll(Location loc, ValueRange values, Value slot, Type element) {
    for (auto [i, v] : llvm::enumerate(values)) {
      Value at = LLVM::GEPOp::create(b, loc, slot.getType(), element, slot,
                                     llvm::ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(i)});
      if (v.getType() != element) v = LLVM::BitcastOp::create(b, loc, element, v);
      LLVM::StoreOp::create(b, loc, v, at);
    }
  }
  Value loadAt(Location loc, Value slot, Type element, int i) {
    Value at =
        LLVM::GEPOp::create(b, loc, slot.getType(), element, slot, llvm::ArrayRef<LLVM::GEPArg>{i});
    return LLVM::LoadOp::create(b, loc, element, at);
  }
  /// A struct value of `type` from `fields` (bitcast to the member types).
  Value makeStruct(Location loc, Type type, ValueRange fields) {
    auto structType = cast<LLVM::LLVMStructType>(type);
    Value result = LLVM::UndefOp::create(b, loc, type);
    for (auto [i, v] : llvm::enumerate(fields)) {
      Type member = structType.getBody()[i];
      if (v.getType() != member) v = LLVM::BitcastOp::create(b, loc, member, v);
      result = LLVM::InsertValueOp::create(b, loc, result, v, i);
    }
    return result;
  }
  bool unsupported(Operation *op, StringRef why = "") {
    auto fn = op->getParentOfType<LLVM::LLVMFuncOp>();
    auto diag = op->emitError("cuda-emu: unsupported operation '")
                << op->getName().getStringRef() << "' in kernel '"
                << (fn ? fn.getName() : StringRef("?")) << "'";
    if (!why.empty()) diag << ": " << why;
    return false;
  }

  bool rewriteBarrier(NVVM::BarrierOp op);
  bool rewriteShfl(NVVM::ShflOp op);
  bool rewriteVote(NVVM::VoteSyncOp op);
  bool rewriteMma(NVVM::MmaOp op);
  bool rewriteLdmatrix(NVVM::LdMatrixOp op);
  bool rewriteCpAsync(NVVM::CpAsyncOp op);
  bool rewriteTruncToBf16(LLVM::FPTruncOp op);

  ModuleOp module;
  OpBuilder b;
};

bool NvvmRewriter::rewrite(Operation *op) {
  Location loc = op->getLoc();
  b.setInsertionPoint(op);
  if (auto code = sregCode(op->getName().getStringRef())) {
    Value v = callEmu(b, loc, module, "sreg", i32(), {constI32(loc, *code)});
    op->getResult(0).replaceAllUsesWith(v);
  } else if (isa<NVVM::Barrier0Op>(op)) {
    callEmu(b, loc, module, "barrier", i32(),
            {constI32(loc, 0), constI32(loc, -1), constI32(loc, MVC_EMU_BARRIER_NONE),
             constI32(loc, 0)});
  } else if (auto barrier = dyn_cast<NVVM::BarrierOp>(op)) {
    if (!rewriteBarrier(barrier)) return false;
  } else if (auto sync = dyn_cast<NVVM::SyncWarpOp>(op)) {
    callEmu(b, loc, module, "warp_sync", {}, {sync.getMask()});
  } else if (auto shfl = dyn_cast<NVVM::ShflOp>(op)) {
    if (!rewriteShfl(shfl)) return false;
  } else if (auto vote = dyn_cast<NVVM::VoteSyncOp>(op)) {
    if (!rewriteVote(vote)) return false;
  } else if (auto mma = dyn_cast<NVVM::MmaOp>(op)) {
    if (!rewriteMma(mma)) return false;
  } else if (auto ldmatrix = dyn_cast<NVVM::LdMatrixOp>(op)) {
    if (!rewriteLdmatrix(ldmatrix)) return false;
  } else if (auto copy = dyn_cast<NVVM::CpAsyncOp>(op)) {
    if (!rewriteCpAsync(copy)) return false;
  } else if (isa<NVVM::CpAsyncCommitGroupOp>(op)) {
    callEmu(b, loc, module, "cp_async_commit", {}, {});
  } else if (auto wait = dyn_cast<NVVM::CpAsyncWaitGroupOp>(op)) {
    callEmu(b, loc, module, "cp_async_wait", {}, {constI32(loc, wait.getN())});
  } else if (auto trunc = dyn_cast<LLVM::FPTruncOp>(op)) {
    if (!rewriteTruncToBf16(trunc)) return false;
    return true; // replaced and erased
  } else if (isa<LLVM::InlineAsmOp>(op)) {
    return unsupported(op, "inline PTX assembly cannot run on the host");
  } else if (auto call = dyn_cast<LLVM::CallOp>(op)) {
    return unsupported(op, ("'" + *call.getCallee() + "' is an NVPTX-only function").str());
  } else {
    return unsupported(op);
  }
  op->erase();
  return true;
}

bool NvvmRewriter::rewriteBarrier(NVVM::BarrierOp op) {
  Location loc = op.getLoc();
  Value id = op.getBarrierId() ? op.getBarrierId() : constI32(loc, 0);
  Value count = op.getNumberOfThreads() ? op.getNumberOfThreads() : constI32(loc, -1);
  int reduction = MVC_EMU_BARRIER_NONE;
  if (auto kind = op.getReductionOp()) {
    switch (*kind) {
    case NVVM::BarrierReduction::POPC: reduction = MVC_EMU_BARRIER_POPC; break;
    case NVVM::BarrierReduction::AND: reduction = MVC_EMU_BARRIER_AND; break;
    case NVVM::BarrierReduction::OR: reduction = MVC_EMU_BARRIER_OR; break;
    }
  }
  Value pred = op.getReductionPredicate() ? op.getReductionPredicate() : constI32(loc, 0);
  Value result = callEmu(b, loc, module, "barrier", i32(),
                         {id, count, constI32(loc, reduction), pred});
  if (op.getRes()) op.getRes().replaceAllUsesWith(result);
  return true;
}

bool NvvmRewriter::rewriteShfl(NVVM::ShflOp op) {
  Location loc = op.getLoc();
  int kind = 0;
  switch (op.getKind()) {
  case NVVM::ShflKind::bfly: kind = MVC_EMU_SHFL_BFLY; break;
  case NVVM::ShflKind::up: kind = MVC_EMU_SHFL_UP; break;
  case NVVM::ShflKind::down: kind = MVC_EMU_SHFL_DOWN; break;
  case NVVM::ShflKind::idx: kind = MVC_EMU_SHFL_IDX; break;
  }
  Value value = op.getVal();
  Type valueType = value.getType();
  if (!valueType.isInteger(32)) value = LLVM::BitcastOp::create(b, loc, i32(), value);
  Value packed = callEmu(b, loc, module, "shfl", b.getI64Type(),
                         {constI32(loc, kind), op.getThreadMask(), value, op.getOffset(),
                          op.getMaskAndClamp()});
  Value result = LLVM::TruncOp::create(b, loc, i32(), packed);
  if (!valueType.isInteger(32)) result = LLVM::BitcastOp::create(b, loc, valueType, result);
  if (op.getReturnValueAndIsValid()) {
    Value shift = LLVM::ConstantOp::create(b, loc, b.getI64Type(), b.getI64IntegerAttr(32));
    Value valid =
        LLVM::TruncOp::create(b, loc, b.getI1Type(), LLVM::LShrOp::create(b, loc, packed, shift));
    result = makeStruct(loc, op.getType(), {result, valid});
  }
  op.getResult().replaceAllUsesWith(result);
  return true;
}

bool NvvmRewriter::rewriteVote(NVVM::VoteSyncOp op) {
  Location loc = op.getLoc();
  int kind = 0;
  switch (op.getKind()) {
  case NVVM::VoteSyncKind::any: kind = MVC_EMU_VOTE_ANY; break;
  case NVVM::VoteSyncKind::all: kind = MVC_EMU_VOTE_ALL; break;
  case NVVM::VoteSyncKind::ballot: kind = MVC_EMU_VOTE_BALLOT; break;
  case NVVM::VoteSyncKind::uni: kind = MVC_EMU_VOTE_UNI; break;
  }
  Value pred = LLVM::ZExtOp::create(b, loc, i32(), op.getPred());
  Value result =
      callEmu(b, loc, module, "vote", i32(), {constI32(loc, kind), op.getMask(), pred});
  if (!op.getType().isInteger(32)) result = LLVM::TruncOp::create(b, loc, op.getType(), result);
  op.getResult().replaceAllUsesWith(result);
  return true;
}

bool NvvmRewriter::rewriteMma(NVVM::MmaOp op) {
  Location loc = op.getLoc();
  NVVM::MMAShapeAttr shape = op.getShape();
  if (op.getLayoutA() != NVVM::MMALayout::row || op.getLayoutB() != NVVM::MMALayout::col)
    return unsupported(op, "only row.col mma.sync is emulated");
  std::optional<NVVM::MMATypes> type = op.getMultiplicandAPtxType();
  if (!type && !op.getOperandA().empty())
    type = NVVM::MmaOp::inferOperandMMAType(op.getOperandA().front().getType(),
                                            /*isAccumulator=*/false);
  auto resultType = cast<LLVM::LLVMStructType>(op.getType());
  bool f32Accumulators = resultType.getBody().size() == 4 &&
                         llvm::all_of(resultType.getBody(), [](Type t) { return t.isF32(); });
  int code = -1;
  if (type && f32Accumulators && shape.getM() == 16 && shape.getN() == 8) {
    if (*type == NVVM::MMATypes::bf16 && shape.getK() == 16) code = MVC_EMU_MMA_M16N8K16_BF16;
    else if (*type == NVVM::MMATypes::bf16 && shape.getK() == 8) code = MVC_EMU_MMA_M16N8K8_BF16;
    else if (*type == NVVM::MMATypes::tf32 && shape.getK() == 8) code = MVC_EMU_MMA_M16N8K8_TF32;
    else if (*type == NVVM::MMATypes::f16 && shape.getK() == 16) code = MVC_EMU_MMA_M16N8K16_F16;
  }
  if (code < 0)
    return unsupported(op, "emulated forms: m16n8k16 bf16/f16 and m16n8k8 bf16/tf32 with f32 "
                           "accumulators");
  Value a = entrySlot(op, i32(), 4), bSlot = entrySlot(op, i32(), 2);
  Value c = entrySlot(op, b.getF32Type(), 4), d = entrySlot(op, b.getF32Type(), 4);
  storeAll(loc, op.getOperandA(), a, i32());
  storeAll(loc, op.getOperandB(), bSlot, i32());
  storeAll(loc, op.getOperandC(), c, b.getF32Type());
  callEmu(b, loc, module, "mma", {}, {constI32(loc, code), a, bSlot, c, d});
  SmallVector<Value> fields;
  for (int i = 0; i < 4; ++i) fields.push_back(loadAt(loc, d, b.getF32Type(), i));
  op.getResult().replaceAllUsesWith(makeStruct(loc, op.getType(), fields));
  return true;
}

bool NvvmRewriter::rewriteLdmatrix(NVVM::LdMatrixOp op) {
  Location loc = op.getLoc();
  NVVM::LdStMatrixShapeAttr shape = op.getShape();
  if (shape.getM() != 8 || shape.getN() != 8 || op.getEltType() != NVVM::LdStMatrixEltType::B16)
    return unsupported(op, "only m8n8 .b16 ldmatrix is emulated");
  int num = static_cast<int>(op.getNum());
  Value out = entrySlot(op, i32(), 4);
  callEmu(b, loc, module, "ldmatrix", {},
          {toHostPtr(loc, op.getPtr()), constI32(loc, num),
           constI32(loc, op.getLayout() == NVVM::MMALayout::col ? 1 : 0), out});
  SmallVector<Value> words;
  for (int i = 0; i < num; ++i) words.push_back(loadAt(loc, out, i32(), i));
  Value result = num == 1 && !isa<LLVM::LLVMStructType>(op.getType())
                     ? words.front()
                     : makeStruct(loc, op.getType(), words);
  op.getResult().replaceAllUsesWith(result);
  return true;
}

bool NvvmRewriter::rewriteCpAsync(NVVM::CpAsyncOp op) {
  Location loc = op.getLoc();
  Value size = constI32(loc, op.getSize());
  Value sourceSize = op.getCpSize() ? op.getCpSize() : size;
  callEmu(b, loc, module, "cp_async", {},
          {toHostPtr(loc, op.getDst()), toHostPtr(loc, op.getSrc()), size, sourceSize});
  return true;
}

bool NvvmRewriter::rewriteTruncToBf16(LLVM::FPTruncOp op) {
  Location loc = op.getLoc();
  auto vector = dyn_cast<VectorType>(op.getType());
  Type i16 = b.getIntegerType(16);
  auto convert = [&](Value f32) {
    return LLVM::BitcastOp::create(b, loc, b.getBF16Type(),
                                   callEmu(b, loc, module, "f32_to_bf16", i16, {f32}));
  };
  Value result;
  if (!vector) {
    result = convert(op.getArg());
  } else {
    result = LLVM::UndefOp::create(b, loc, op.getType());
    for (int64_t i = 0; i < vector.getNumElements(); ++i) {
      Value index = LLVM::ConstantOp::create(b, loc, b.getI64Type(), b.getI64IntegerAttr(i));
      Value element = LLVM::ExtractElementOp::create(b, loc, op.getArg(), index);
      result = LLVM::InsertElementOp::create(b, loc, result, convert(element), index);
    }
  }
  op.getResult().replaceAllUsesWith(result);
  op.erase();
  return true;
}

/// Ops this pass must replace: NVVM ops, f32 -> bf16 truncations, inline assembly, calls
/// of NVPTX-only declarations (libdevice, NVVM intrinsics).
bool needsRewrite(Operation *op) {
  if (isa<NVVM::NVVMDialect>(op->getDialect())) return true;
  if (auto trunc = dyn_cast<LLVM::FPTruncOp>(op))
    return getElementTypeOrSelf(trunc.getType()).isBF16();
  if (isa<LLVM::InlineAsmOp>(op)) return true;
  if (auto call = dyn_cast<LLVM::CallOp>(op))
    if (auto callee = call.getCallee())
      return callee->starts_with("__nv_") || callee->starts_with("llvm.nvvm.");
  return false;
}

struct EmuRewriteNvvmPass : public mvc::impl::EmuRewriteNvvmBase<EmuRewriteNvvmPass> {
  void runOnOperation() override {
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (needsRewrite(op)) ops.push_back(op);
    });
    NvvmRewriter rewriter(getOperation());
    bool ok = true;
    for (Operation *op : ops) ok &= rewriter.rewrite(op);
    if (!ok) signalPassFailure();
  }
};

} // namespace
