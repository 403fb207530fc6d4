//===- Passes.h - cuda-emu: NVVM kernels to host code --------------*- C++ -*-===//
#ifndef MVC_COMPILER_CODEGEN_EMU_PASSES_H
#define MVC_COMPILER_CODEGEN_EMU_PASSES_H

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mvc {
#define GEN_PASS_DECL
#include "compiler/Codegen/Emu/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "compiler/Codegen/Emu/Passes.h.inc"
} // namespace mvc

#endif
