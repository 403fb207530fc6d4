//===- MvcDialect.cpp - the mvc dialect ----------------------------------===//
#include "dialects/mvc/IR/MvcDialect.h"
#include "dialects/mvc/IR/MvcOps.h"

using namespace mlir;
using namespace mvc;

#include "dialects/mvc/IR/MvcDialect.cpp.inc"

void MvcDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/mvc/IR/MvcOps.cpp.inc"
      >();
}
