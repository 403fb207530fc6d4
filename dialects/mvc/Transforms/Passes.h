//===- Passes.h - graph passes of the mvc dialect ------------------*- C++ -*-===//
#ifndef MVC_DIALECTS_MVC_TRANSFORMS_PASSES_H
#define MVC_DIALECTS_MVC_TRANSFORMS_PASSES_H

#include "dialects/mvc/IR/MvcOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"

namespace mvc {
#define GEN_PASS_DECL
#include "dialects/mvc/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "dialects/mvc/Transforms/Passes.h.inc"
} // namespace mvc

#endif
