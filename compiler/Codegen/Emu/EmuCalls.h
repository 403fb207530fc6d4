//===- EmuCalls.h - building calls of the emulator's functions ----*- C++ -*-===//
#ifndef MVC_COMPILER_CODEGEN_EMU_EMUCALLS_H
#define MVC_COMPILER_CODEGEN_EMU_EMUCALLS_H

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

namespace mvc {

/// A kernel of the cuda path: an llvm.func marked nvvm.kernel / gpu.kernel or with the
/// PTX kernel calling convention.
bool isGpuKernel(mlir::LLVM::LLVMFuncOp fn);

/// Calls `mvc_emu_<name>` (declared in `module` on first use with this signature) with
/// `args`; returns its result, or null for void.
mlir::Value callEmu(mlir::OpBuilder &b, mlir::Location loc, mlir::ModuleOp module,
                    llvm::StringRef name, mlir::Type result, mlir::ValueRange args);

} // namespace mvc

#endif
