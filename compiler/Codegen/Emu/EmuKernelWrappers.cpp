//===- EmuKernelWrappers.cpp - host entry points of emulated kernels ------===//
#include "compiler/Codegen/Emu/EmuCalls.h"
#include "compiler/Codegen/Emu/Passes.h"
#include "runtime/hal/emu/EmuAbi.h"

namespace mvc {
#define GEN_PASS_DEF_EMUKERNELWRAPPERS
#include "compiler/Codegen/Emu/Passes.h.inc"
} // namespace mvc

using namespace mlir;

namespace {

/// `int NAME(void)` or `const char *NAME(void)` returning a constant.
void addConstantFunction(OpBuilder &b, ModuleOp module, StringRef name, Type type,
                         const std::function<Value(OpBuilder &, Location)> &value) {
  Location loc = module.getLoc();
  b.setInsertionPointToEnd(module.getBody());
  auto fn = LLVM::LLVMFuncOp::create(b, loc, name, LLVM::LLVMFunctionType::get(type, {}));
  b.setInsertionPointToStart(fn.addEntryBlock(b));
  LLVM::ReturnOp::create(b, loc, value(b, loc));
}

/// Replaces kernel `body` by `NAME(ptr params)` calling the renamed body; returns the
/// parameter count.
size_t wrapKernel(OpBuilder &b, LLVM::LLVMFuncOp body) {
  std::string name = body.getName().str();
  Location loc = body.getLoc();
  body.setName(name + ".emu_body");
  body.setLinkage(LLVM::Linkage::Internal);
  body.setCConv(LLVM::cconv::CConv::C);
  for (NamedAttribute attr : llvm::to_vector(body->getAttrs()))
    if (attr.getName().strref().starts_with("nvvm.") || attr.getName() == "gpu.kernel")
      body->removeAttr(attr.getName());

  MLIRContext *ctx = b.getContext();
  Type ptr = LLVM::LLVMPointerType::get(ctx);
  b.setInsertionPointAfter(body);
  auto wrapper = LLVM::LLVMFuncOp::create(
      b, loc, name, LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx), {ptr}));
  Block *entry = wrapper.addEntryBlock(b);
  b.setInsertionPointToStart(entry);
  SmallVector<Value> args;
  for (auto [i, type] : llvm::enumerate(body.getFunctionType().getParams())) {
    Value slot = LLVM::GEPOp::create(b, loc, ptr, ptr, entry->getArgument(0),
                                     llvm::ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(i)});
    Value address = LLVM::LoadOp::create(b, loc, ptr, slot);
    args.push_back(LLVM::LoadOp::create(b, loc, type, address));
  }
  LLVM::CallOp::create(b, loc, body, args);
  LLVM::ReturnOp::create(b, loc, ValueRange{});
  return args.size();
}

struct EmuKernelWrappersPass : public mvc::impl::EmuKernelWrappersBase<EmuKernelWrappersPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    OpBuilder b(&getContext());
    std::string info = "{";
    for (auto fn : llvm::to_vector(module.getOps<LLVM::LLVMFuncOp>())) {
      if (!mvc::isGpuKernel(fn)) continue;
      int64_t shared = 0;
      if (auto attr = fn->getAttrOfType<IntegerAttr>("mvc.emu.static_shared"))
        shared = attr.getInt();
      std::string name = fn.getName().str();
      size_t params = wrapKernel(b, fn);
      info += (info.size() > 1 ? ", \"" : "\"") + name + "\": [" + std::to_string(shared) +
              ", " + std::to_string(params) + "]";
    }
    info += "}";
    Type ptr = LLVM::LLVMPointerType::get(&getContext());
    addConstantFunction(b, module, "mvc_emu_abi_version", b.getI32Type(),
                        [](OpBuilder &b, Location loc) -> Value {
                          return LLVM::ConstantOp::create(b, loc, b.getI32Type(),
                                                          b.getI32IntegerAttr(MVC_EMU_ABI_VERSION));
                        });
    b.setInsertionPointToEnd(module.getBody());
    auto text = LLVM::GlobalOp::create(b, module.getLoc(),
                                       LLVM::LLVMArrayType::get(b.getI8Type(), info.size() + 1),
                                       /*isConstant=*/true, LLVM::Linkage::Internal,
                                       "mvc_emu_kernel_info_text", b.getStringAttr(info + '\0'));
    addConstantFunction(b, module, "mvc_emu_kernel_info", ptr,
                        [&](OpBuilder &b, Location loc) -> Value {
                          return LLVM::AddressOfOp::create(b, loc, text);
                        });
  }
};

} // namespace
