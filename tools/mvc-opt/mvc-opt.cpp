//===- mvc-opt.cpp - mlir-opt with the mvc dialect and passes -------------===//
#include "compiler/Codegen/Common/Passes.h"
#include "compiler/Codegen/Emu/Passes.h"
#include "dialects/mvc/IR/MvcDialect.h"
#include "dialects/mvc/Transforms/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<mvc::MvcDialect, mlir::func::FuncDialect, mlir::arith::ArithDialect,
                  mlir::tensor::TensorDialect, mlir::LLVM::LLVMDialect, mlir::NVVM::NVVMDialect,
                  mlir::gpu::GPUDialect>();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  mvc::registerMvcPasses();
  mvc::registerMvcEmuPasses();
  mvc::registerMvcCodegenPasses();
  return mlir::failed(
      mlir::MlirOptMain(argc, argv, "mvc optimizer driver\n", registry)) ? 1 : 0;
}
