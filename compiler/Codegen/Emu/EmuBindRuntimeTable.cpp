//===- EmuBindRuntimeTable.cpp - emulator calls through the runtime's table --===//
#include "compiler/Codegen/Emu/Passes.h"
#include "runtime/hal/emu/EmuAbi.h"

namespace mvc {
#define GEN_PASS_DEF_EMUBINDRUNTIMETABLE
#include "compiler/Codegen/Emu/Passes.h.inc"
} // namespace mvc

using namespace mlir;

namespace {

/// The table slot of mvc_emu_<name>, in MVC_EMU_FUNCTIONS order.
std::optional<int32_t> slotOf(StringRef symbol) {
  static const char *const names[] = {
#define MVC_EMU_NAME(name) "mvc_emu_" #name,
      MVC_EMU_FUNCTIONS(MVC_EMU_NAME)
#undef MVC_EMU_NAME
  };
  for (int32_t i = 0; i < static_cast<int32_t>(std::size(names)); ++i)
    if (symbol == names[i]) return i;
  return std::nullopt;
}

struct EmuBindRuntimeTablePass
    : public mvc::impl::EmuBindRuntimeTableBase<EmuBindRuntimeTablePass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    OpBuilder b(ctx);
    Location loc = module.getLoc();
    Type ptr = LLVM::LLVMPointerType::get(ctx);
    b.setInsertionPointToStart(module.getBody());
    auto table = LLVM::GlobalOp::create(b, loc, ptr, /*isConstant=*/false, LLVM::Linkage::External,
                                        "mvc_emu_table", Attribute());
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&table.getInitializerRegion().emplaceBlock());
      LLVM::ReturnOp::create(b, loc, LLVM::ZeroOp::create(b, loc, ptr).getResult());
    }
    for (auto fn : llvm::to_vector(module.getOps<LLVM::LLVMFuncOp>())) {
      if (!fn.isExternal() || !fn.getName().starts_with("mvc_emu_")) continue;
      std::optional<int32_t> slot = slotOf(fn.getName());
      if (!slot) {
        fn.emitError("cuda-emu: '") << fn.getName() << "' is not a function of the emulator";
        return signalPassFailure();
      }
      fn.setLinkage(LLVM::Linkage::Internal);
      Block *entry = fn.addEntryBlock(b);
      b.setInsertionPointToStart(entry);
      Value base = LLVM::LoadOp::create(b, loc, ptr, LLVM::AddressOfOp::create(b, loc, table));
      Value at = LLVM::GEPOp::create(b, loc, ptr, ptr, base, llvm::ArrayRef<LLVM::GEPArg>{*slot});
      Value target = LLVM::LoadOp::create(b, loc, ptr, at);
      SmallVector<Value> operands{target};
      llvm::append_range(operands, entry->getArguments());
      if (fn.getFunctionType().getReturnType() != LLVM::LLVMVoidType::get(ctx)) {
        auto call = LLVM::CallOp::create(b, loc, fn.getFunctionType(), operands);
        LLVM::ReturnOp::create(b, loc, call.getResult());
        continue;
      }
      // A null slot of a void function: the runtime does not want the call (the shared
      // memory checks when switched off), and the kernel pays one branch, not a call.
      Block *callBlock = fn.addBlock(), *done = fn.addBlock();
      Value null = LLVM::ZeroOp::create(b, loc, ptr);
      Value absent = LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::eq, target, null);
      LLVM::CondBrOp::create(b, loc, absent, done, callBlock);
      b.setInsertionPointToStart(callBlock);
      LLVM::CallOp::create(b, loc, fn.getFunctionType(), operands);
      LLVM::BrOp::create(b, loc, done);
      b.setInsertionPointToStart(done);
      LLVM::ReturnOp::create(b, loc, ValueRange{});
    }
  }
};

} // namespace
