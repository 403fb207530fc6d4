//===- EmuInstrumentSharedAccesses.cpp - shared accesses reported to the emulator ---===//
#include "compiler/Codegen/Emu/EmuCalls.h"
#include "compiler/Codegen/Emu/Passes.h"
#include "runtime/hal/emu/EmuAbi.h"

#include "mlir/Interfaces/DataLayoutInterfaces.h"

namespace mvc {
#define GEN_PASS_DEF_EMUINSTRUMENTSHAREDACCESSES
#include "compiler/Codegen/Emu/Passes.h.inc"
} // namespace mvc

using namespace mlir;

namespace {

constexpr unsigned kSharedAddressSpace = 3;

/// The shared-memory address `op` accesses, the accessed type and the MvcEmuAccess kind;
/// a null address for anything else.
std::tuple<Value, Type, int> sharedAccess(Operation *op) {
  Value address;
  Type type;
  int kind = MVC_EMU_ACCESS_READ;
  if (auto load = dyn_cast<LLVM::LoadOp>(op)) {
    address = load.getAddr();
    type = load.getType();
  } else if (auto store = dyn_cast<LLVM::StoreOp>(op)) {
    address = store.getAddr();
    type = store.getValue().getType();
    kind = MVC_EMU_ACCESS_WRITE;
  } else if (auto rmw = dyn_cast<LLVM::AtomicRMWOp>(op)) {
    address = rmw.getPtr();
    type = rmw.getVal().getType();
    kind = MVC_EMU_ACCESS_ATOMIC;
  } else if (auto cmpxchg = dyn_cast<LLVM::AtomicCmpXchgOp>(op)) {
    address = cmpxchg.getPtr();
    type = cmpxchg.getVal().getType();
    kind = MVC_EMU_ACCESS_ATOMIC;
  }
  auto pointer = address ? dyn_cast<LLVM::LLVMPointerType>(address.getType()) : nullptr;
  if (!pointer || pointer.getAddressSpace() != kSharedAddressSpace) return {Value(), Type(), 0};
  return {address, type, kind};
}

struct EmuInstrumentSharedAccessesPass
    : public mvc::impl::EmuInstrumentSharedAccessesBase<EmuInstrumentSharedAccessesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    DataLayout layout(module);
    OpBuilder b(&getContext());
    Type ptr = LLVM::LLVMPointerType::get(&getContext());
    SmallVector<Operation *> accesses;
    module.walk([&](Operation *op) {
      if (std::get<0>(sharedAccess(op))) accesses.push_back(op);
    });
    for (Operation *op : accesses) {
      auto [address, type, kind] = sharedAccess(op);
      Location loc = op->getLoc();
      b.setInsertionPoint(op);
      Value host = LLVM::AddrSpaceCastOp::create(b, loc, ptr, address);
      Value bytes = LLVM::ConstantOp::create(
          b, loc, b.getI32Type(),
          b.getI32IntegerAttr(static_cast<int32_t>(layout.getTypeSize(type))));
      Value kindValue = LLVM::ConstantOp::create(b, loc, b.getI32Type(), b.getI32IntegerAttr(kind));
      mvc::callEmu(b, loc, module, "shared_access", {}, {host, bytes, kindValue});
    }
  }
};

} // namespace
