//===- EmuCalls.cpp -------------------------------------------------------===//
#include "compiler/Codegen/Emu/EmuCalls.h"

using namespace mlir;

namespace mvc {

bool isGpuKernel(LLVM::LLVMFuncOp fn) {
  return fn->hasAttr("nvvm.kernel") || fn->hasAttr("gpu.kernel") ||
         fn.getCConv() == LLVM::cconv::CConv::PTX_Kernel;
}

Value callEmu(OpBuilder &b, Location loc, ModuleOp module, StringRef name, Type result,
              ValueRange args) {
  std::string symbol = ("mvc_emu_" + name).str();
  auto fn = module.lookupSymbol<LLVM::LLVMFuncOp>(symbol);
  MLIRContext *ctx = b.getContext();
  Type resultType = result ? result : LLVM::LLVMVoidType::get(ctx);
  if (!fn) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToEnd(module.getBody());
    SmallVector<Type> params(args.getTypes());
    fn = LLVM::LLVMFuncOp::create(b, loc, symbol, LLVM::LLVMFunctionType::get(resultType, params));
  }
  auto call = LLVM::CallOp::create(b, loc, fn, args);
  return result ? call.getResult() : Value();
}

} // namespace mvc
