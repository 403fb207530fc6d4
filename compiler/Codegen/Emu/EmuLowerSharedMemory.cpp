//===- EmuLowerSharedMemory.cpp - shared memory into the block arena -----===//
#include "compiler/Codegen/Emu/EmuCalls.h"
#include "compiler/Codegen/Emu/Passes.h"

#include "mlir/Interfaces/DataLayoutInterfaces.h"

#include <map>

namespace mvc {
#define GEN_PASS_DEF_EMULOWERSHAREDMEMORY
#include "compiler/Codegen/Emu/Passes.h.inc"
} // namespace mvc

using namespace mlir;

namespace {

constexpr unsigned kSharedAddressSpace = 3;
constexpr uint64_t kDefaultAlignment = 16;

uint64_t alignTo(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

/// A zero-sized external shared global: the dynamic shared memory of the launch.
bool isDynamicShared(LLVM::GlobalOp global, const DataLayout &layout) {
  return layout.getTypeSize(global.getGlobalType()) == 0;
}

struct EmuLowerSharedMemoryPass
    : public mvc::impl::EmuLowerSharedMemoryBase<EmuLowerSharedMemoryPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    DataLayout layout(module);
    llvm::SmallVector<LLVM::GlobalOp> shared;
    for (auto global : module.getOps<LLVM::GlobalOp>())
      if (global.getAddrSpace() == kSharedAddressSpace) shared.push_back(global);
    if (shared.empty()) return;

    bool failed = false;
    for (auto fn : module.getOps<LLVM::LLVMFuncOp>()) {
      if (fn.isExternal()) continue;
      // The globals this function takes the address of, in module order.
      llvm::SmallVector<LLVM::AddressOfOp> uses;
      fn.walk([&](LLVM::AddressOfOp addressOf) {
        if (auto global = dyn_cast_or_null<LLVM::GlobalOp>(
                SymbolTable::lookupNearestSymbolFrom(addressOf, addressOf.getGlobalNameAttr())))
          if (global.getAddrSpace() == kSharedAddressSpace) uses.push_back(addressOf);
      });
      if (uses.empty()) continue;
      if (!mvc::isGpuKernel(fn)) {
        uses.front().emitError("cuda-emu: shared memory global '")
            << uses.front().getGlobalName() << "' used in function '" << fn.getName()
            << "', which is not a kernel";
        failed = true;
        continue;
      }
      std::map<StringRef, uint64_t> offsets;
      uint64_t size = 0;
      for (LLVM::GlobalOp global : shared) {
        bool used = llvm::any_of(uses, [&](LLVM::AddressOfOp op) {
          return op.getGlobalName() == global.getSymName();
        });
        if (!used || isDynamicShared(global, layout)) continue;
        size = alignTo(size, global.getAlignment().value_or(kDefaultAlignment));
        offsets[global.getSymName()] = size;
        size += layout.getTypeSize(global.getGlobalType());
      }
      size = alignTo(size, kDefaultAlignment);
      for (LLVM::GlobalOp global : shared)
        if (isDynamicShared(global, layout)) {
          if (global.getAlignment().value_or(kDefaultAlignment) > kDefaultAlignment) {
            global.emitError("cuda-emu: dynamic shared memory aligned to more than 16 bytes");
            failed = true;
          }
          offsets[global.getSymName()] = size;
        }

      OpBuilder b(fn.getBody());
      Type ptr = LLVM::LLVMPointerType::get(&getContext());
      Value base = mvc::callEmu(b, fn.getLoc(), module, "shared_base", ptr, {});
      for (LLVM::AddressOfOp use : uses) {
        b.setInsertionPoint(use);
        Value address = LLVM::GEPOp::create(
            b, use.getLoc(), ptr, b.getI8Type(), base,
            llvm::ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(offsets[use.getGlobalName()])});
        use.replaceAllUsesWith(
            LLVM::AddrSpaceCastOp::create(b, use.getLoc(), use.getType(), address).getResult());
        use.erase();
      }
      fn->setAttr("mvc.emu.static_shared", b.getI64IntegerAttr(static_cast<int64_t>(size)));
    }
    if (failed) return signalPassFailure();
    for (LLVM::GlobalOp global : shared) global.erase();
  }
};

} // namespace
