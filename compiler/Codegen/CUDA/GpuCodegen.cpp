//===- GpuCodegen.cpp - the gpu family's kernels, down to NVVM -----------===//
#include "compiler/Codegen/CUDA/GpuCodegen.h"

#include "compiler/Codegen/CPU/LowerToObject.h"
#include "compiler/Codegen/CUDA/GpuKernels.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

namespace mvc {

gpu::GPUModuleOp getGpuKernelModule(ModuleOp host) {
  for (auto m : host.getOps<gpu::GPUModuleOp>())
    if (m.getName() == kGpuKernelModuleName) return m;
  return {};
}

namespace {

class GpuKernelBackend : public KernelBackend {
public:
  explicit GpuKernelBackend(ModuleOp host) : host(host) {}

  FailureOr<LaunchInfo> emitKernel(StringRef name, DispatchRegionOp region,
                                   const DispatchSignature &sig, const DimsOf &dims) override {
    gpu::GPUModuleOp module = getGpuKernelModule(host);
    if (!module) {
      OpBuilder b(host.getContext());
      b.setInsertionPointToEnd(host.getBody());
      host->setAttr(gpu::GPUDialect::getContainerModuleAttrName(), b.getUnitAttr());
      module = gpu::GPUModuleOp::create(b, host.getLoc(), kGpuKernelModuleName);
    }
    switch (region.getKind()) {
    case DispatchKind::row: return emitGpuRowKernel(module, name, region, sig, dims);
    case DispatchKind::matmul: return emitGpuMatmulKernel(module, name, region, sig, dims);
    case DispatchKind::attention: return emitGpuAttentionKernel(module, name, region, sig, dims);
    case DispatchKind::kv_write: return emitGpuKvWriteKernel(module, name, region, sig, dims);
    case DispatchKind::copy: return emitGpuCopyKernel(module, name, region, sig, dims);
    case DispatchKind::moe_route: return emitGpuMoeRouteKernel(module, name, region, sig, dims);
    }
    llvm_unreachable("unknown dispatch kind");
  }
  bool packsMatmulWeights() const override { return false; }

private:
  ModuleOp host;
};

} // namespace

std::unique_ptr<KernelBackend> createGpuKernelBackend(ModuleOp host) {
  return std::make_unique<GpuKernelBackend>(host);
}

void registerGpuCodegenDialects(DialectRegistry &registry) {
  registry.insert<gpu::GPUDialect, NVVM::NVVMDialect, cf::ControlFlowDialect>();
  // convert-gpu-to-nvvm converts the other dialects in the kernels (arith, cf, memref,
  // math) through their ConvertToLLVM interfaces, which live in these extensions.
  registerAllExtensions(registry);
  registerBuiltinDialectTranslation(registry);
  registerGPUDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerNVVMDialectTranslation(registry);
}

/// convert-gpu-to-nvvm sends sqrt, floor and fabs to libdevice (__nv_sqrtf, ...), whose
/// f32/f64 versions are the IEEE operations LLVM's own intrinsics are: use the intrinsics,
/// so the kernels need no libdevice and the emulator sees plain LLVM math.
static void replaceLibdeviceWithIntrinsics(ModuleOp host) {
  SmallVector<LLVM::CallOp> calls;
  host.walk([&](LLVM::CallOp call) { calls.push_back(call); });
  for (LLVM::CallOp call : calls) {
    std::optional<StringRef> callee = call.getCallee();
    if (!callee || call.getNumOperands() < 1) continue;
    OpBuilder b(call);
    Value x = call.getOperand(0), r;
    if (*callee == "__nv_fmaf" || *callee == "__nv_fma")
      r = LLVM::FMAOp::create(b, call.getLoc(), x, call.getOperand(1), call.getOperand(2));
    else if (*callee == "__nv_sqrtf" || *callee == "__nv_sqrt")
      r = LLVM::SqrtOp::create(b, call.getLoc(), x);
    else if (*callee == "__nv_floorf" || *callee == "__nv_floor")
      r = LLVM::FFloorOp::create(b, call.getLoc(), x);
    else if (*callee == "__nv_fabsf" || *callee == "__nv_fabs")
      r = LLVM::FAbsOp::create(b, call.getLoc(), x);
    else continue;
    call.getResult().replaceAllUsesWith(r);
    call.erase();
  }
  SmallVector<LLVM::LLVMFuncOp> unused;
  host.walk([&](LLVM::LLVMFuncOp fn) {
    if (fn.isExternal() && fn.getName().starts_with("__nv_") &&
        SymbolTable::symbolKnownUseEmpty(fn, fn->getParentOp()))
      unused.push_back(fn);
  });
  for (LLVM::LLVMFuncOp fn : unused) fn.erase();
}

LogicalResult lowerGpuKernelsToNVVM(ModuleOp host) {
  static bool registered = (registerAllPasses(), true);
  (void)registered;
  PassManager pm(host.getContext());
  // exp/tanh/erf as the cpu kernels compute them (no libdevice); then sqrt, fma and floor
  // become LLVM intrinsics (replaceLibdeviceWithIntrinsics).
  pm.addPass(createApproximateMathPass());
  pm.addPass(createCanonicalizerPass());
  std::string pipeline =
      "arith-expand{include-bf16=true},convert-scf-to-cf,"
      "gpu.module(convert-gpu-to-nvvm{index-bitwidth=64}),reconcile-unrealized-casts";
  if (failed(parsePassPipeline(pipeline, pm))) return failure();
  if (failed(pm.run(host))) return failure();
  replaceLibdeviceWithIntrinsics(host);
  // cp.async and ldmatrix address shared memory in 16-byte units: every workgroup array
  // starts on a 16-byte boundary (the lowering leaves them at their element alignment).
  host.walk([](LLVM::GlobalOp global) {
    if (global.getAddrSpace() == 3 && global.getAlignment().value_or(0) < 16)
      global.setAlignment(16);
  });
  // Anything outside the agreed NVVM vocabulary (runtime/hal/emu emulates it) is a bug here.
  LLVM::CallOp libdeviceCall;
  host.walk([&](LLVM::CallOp call) {
    if (auto callee = call.getCallee(); callee && callee->starts_with("__nv_") && !libdeviceCall)
      libdeviceCall = call;
  });
  if (libdeviceCall)
    return libdeviceCall.emitError("gpu kernels must not call libdevice ('")
           << *libdeviceCall.getCallee() << "')";
  return success();
}

} // namespace mvc
