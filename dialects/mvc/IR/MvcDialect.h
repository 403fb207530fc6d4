//===- MvcDialect.h - the mvc dialect -----------------------------*- C++ -*-===//
#ifndef MVC_DIALECTS_MVC_IR_MVCDIALECT_H
#define MVC_DIALECTS_MVC_IR_MVCDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Dialect.h"

#include "dialects/mvc/IR/MvcDialect.h.inc"

#endif
