//===- EmuCodegen.cpp -----------------------------------------------------===//
#include "compiler/Codegen/Emu/EmuCodegen.h"

#include "compiler/Codegen/CPU/LowerToObject.h"
#include "compiler/Codegen/Emu/EmuCalls.h"
#include "compiler/Codegen/Emu/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/IRMapping.h"

using namespace mlir;

namespace mvc {

void buildEmuRewritePipeline(OpPassManager &pm) {
  pm.addPass(createEmuLowerSharedMemory());
  pm.addPass(createEmuInstrumentSharedAccesses());
  pm.addPass(createEmuRewriteNvvm());
  pm.addPass(createEmuKernelWrappers());
  pm.addPass(createEmuBindRuntimeTable());
}

OwningOpRef<ModuleOp> extractKernels(ModuleOp host) {
  OpBuilder b(host.getContext());
  OwningOpRef<ModuleOp> kernels = ModuleOp::create(host.getLoc(), StringRef("mvc_emu_kernels"));
  Block *source = host.getBody();
  for (auto gpuModule : host.getOps<gpu::GPUModuleOp>()) {
    source = gpuModule.getBody();
    break;
  }
  b.setInsertionPointToEnd(kernels->getBody());
  IRMapping mapping;
  for (Operation &op : *source)
    if (isa<LLVM::LLVMDialect>(op.getDialect())) b.clone(op, mapping);
  return kernels;
}

absl::StatusOr<std::string> buildEmuKernelLibrary(ModuleOp host, std::string *llvmIrOut,
                                             const KernelCompiledFn &onCompiled) {
  OwningOpRef<ModuleOp> kernels = extractKernels(host);
  std::vector<std::string> names;
  for (auto fn : kernels->getOps<LLVM::LLVMFuncOp>())
    if (isGpuKernel(fn)) names.push_back(fn.getName().str());
  PassManager pm(host.getContext());
  buildEmuRewritePipeline(pm);
  if (failed(pm.run(*kernels))) {
    return absl::InvalidArgumentError("cuda-emu: the kernels cannot be emulated (see the errors above)");
  }
  // A fixed ISA rather than the build machine's: the artifact runs in CI on any x86-64-v3.
  absl::StatusOr<CpuSpec> cpu = resolveCpu("x86-64-v3");
  if (!cpu.ok()) return cpu.status();
  KernelCompiledFn emuCompiled;
  if (onCompiled)
    emuCompiled = [&](const std::string &name, double seconds) { onCompiled("emu " + name, seconds); };
  return buildSharedObject(*kernels, *cpu, names, llvmIrOut, emuCompiled);
}

} // namespace mvc
