//===- Passes.h - codegen passes shared by every target ----------*- C++ -*-===//
#ifndef MVC_COMPILER_CODEGEN_COMMON_PASSES_H
#define MVC_COMPILER_CODEGEN_COMMON_PASSES_H

#include <map>
#include <string>

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mvc {
#define GEN_PASS_DECL
#include "compiler/Codegen/Common/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "compiler/Codegen/Common/Passes.h.inc"

/// The `mvc.kernel_aliases` of a module after DeduplicateKernels: erased name -> kept name.
std::map<std::string, std::string> kernelAliases(mlir::ModuleOp module);
} // namespace mvc

#endif
