//===- LowerToObject.cpp - kernel module to a host shared object ---------===//
#include "compiler/Codegen/CPU/LowerToObject.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/X86Vector/X86VectorDialect.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/Passes.h"

#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

#include <fstream>
#include <sstream>

using namespace mlir;

namespace mvc {

FailureOr<CpuSpec> resolveCpu(const std::string &name, std::string &error) {
  CpuSpec spec;
  const char *v3 = "+avx,+avx2,+fma,+f16c,+bmi,+bmi2,+lzcnt,+movbe,+popcnt,+sse4.2";
  std::vector<std::string> v3Req = {"avx2", "fma", "f16c"};
  std::vector<std::string> v4Req = {"avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512dq", "avx512vl"};
  if (name == "x86-64-v3") {
    spec = {"x86-64-v3", v3, v3Req, {8, false}};
  } else if (name == "x86-64-v4") {
    spec = {"x86-64-v4", std::string(v3) + ",+avx512f,+avx512bw,+avx512dq,+avx512vl,+avx512cd",
            v4Req, {16, false}};
  } else if (name == "native") {
    llvm::StringMap<bool> host = llvm::sys::getHostCPUFeatures();
    bool avx512 = host.lookup("avx512f") && host.lookup("avx512bw") && host.lookup("avx512vl") &&
                  host.lookup("avx512dq");
    if (!host.lookup("avx2") || !host.lookup("fma")) {
      error = "this CPU lacks AVX2/FMA, the least mvc's cpu target needs";
      return failure();
    }
    bool bf16 = avx512 && host.lookup("avx512bf16");
    spec.cpuName = avx512 ? "x86-64-v4" : "x86-64-v3";
    spec.llvmFeatures = std::string(v3) +
                        (avx512 ? ",+avx512f,+avx512bw,+avx512dq,+avx512vl,+avx512cd" : "") +
                        (bf16 ? ",+avx512bf16" : "");
    spec.required = avx512 ? v4Req : v3Req;
    if (bf16) spec.required.push_back("avx512bf16");
    spec.codegen = {avx512 ? 16 : 8, bf16};
  } else {
    error = "unknown --cpu '" + name + "' (expected native, x86-64-v3 or x86-64-v4)";
    return failure();
  }
  return spec;
}

namespace {
/// Vectorizable polynomial forms of tanh/erf/exp instead of scalar libm calls.
struct ApproximateMathPass : PassWrapper<ApproximateMathPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(ApproximateMathPass)
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populatePolynomialApproximateTanhPattern(patterns);
    populatePolynomialApproximateErfPattern(patterns);
    populateMathPolynomialApproximationPatterns(
        patterns, [](StringRef name) { return name.ends_with("exp"); });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns)))) signalPassFailure();
  }
};
} // namespace

std::unique_ptr<Pass> createApproximateMathPass() { return std::make_unique<ApproximateMathPass>(); }

LogicalResult lowerKernelsToLLVMDialect(ModuleOp kernels, const CpuSpec &cpu) {
  static bool registered = (registerAllPasses(), true);
  (void)registered;
  PassManager pm(kernels.getContext());
  pm.addPass(std::make_unique<ApproximateMathPass>());
  pm.addPass(createCanonicalizerPass());
  // f32 -> bf16 truncations: one vcvtneps2bf16 per 16 lanes where the CPU has avx512bf16
  // (round to nearest even, as the expansion; it also flushes f32 denormals, below 1.2e-38,
  // to zero); elsewhere integer ops, since LLVM would call __truncsfbf2, which the
  // kernels' shared object does not link.
  std::string pipeline =
      std::string("arith-expand{include-bf16=") + (cpu.codegen.bf16Dot ? "false" : "true") + "}," +
      "convert-scf-to-cf,"
      "convert-vector-to-llvm{enable-x86vector=true},expand-strided-metadata,"
      "finalize-memref-to-llvm,convert-math-to-llvm,convert-arith-to-llvm,"
      "convert-cf-to-llvm,convert-func-to-llvm,reconcile-unrealized-casts";
  if (failed(parsePassPipeline(pipeline, pm))) return failure();
  return pm.run(kernels);
}

FailureOr<std::string> buildSharedObject(ModuleOp lowered, const CpuSpec &cpu,
                                         const std::vector<std::string> &kernelNames,
                                         std::string *llvmIrOut, std::string &error) {
  registerBuiltinDialectTranslation(*lowered.getContext());
  registerLLVMDialectTranslation(*lowered.getContext());
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> module = translateModuleToLLVMIR(lowered, llvmContext, "mvc_kernels");
  if (!module) {
    error = "translation of the kernels to LLVM IR failed";
    return failure();
  }

  // The library describes itself: ABI version and kernel names.
  std::string info = "{\"abi\": 1, \"kernels\": [";
  for (size_t i = 0; i < kernelNames.size(); ++i)
    info += (i ? ", \"" : "\"") + kernelNames[i] + "\"";
  info += "]}";
  {
    llvm::IRBuilder<> ir(llvmContext);
    auto *fnType = llvm::FunctionType::get(ir.getPtrTy(), false);
    auto *fn = llvm::Function::Create(fnType, llvm::Function::ExternalLinkage,
                                      "mvc_kernel_library_info", module.get());
    ir.SetInsertPoint(llvm::BasicBlock::Create(llvmContext, "entry", fn));
    ir.CreateRet(ir.CreateGlobalString(info, "mvc_info"));
  }

  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  std::string triple = "x86_64-unknown-linux-gnu";
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(llvm::Triple(triple), error);
  if (!target) return failure();
  llvm::TargetOptions options;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      llvm::Triple(triple), cpu.cpuName, cpu.llvmFeatures, options, llvm::Reloc::PIC_,
      std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  module->setTargetTriple(llvm::Triple(triple));
  module->setDataLayout(tm->createDataLayout());
  for (llvm::Function &f : *module) {
    if (f.isDeclaration()) continue;
    f.addFnAttr("target-cpu", cpu.cpuName);
    f.addFnAttr("target-features", cpu.llvmFeatures);
    f.addFnAttr("prefer-vector-width", "512");
  }

  {
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PassBuilder pb(tm.get());
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3).run(*module, mam);
  }
  if (llvmIrOut) {
    llvm::raw_string_ostream os(*llvmIrOut);
    module->print(os, nullptr);
  }

  llvm::SmallString<128> objPath, soPath;
  if (llvm::sys::fs::createTemporaryFile("mvc-kernels", "o", objPath) ||
      llvm::sys::fs::createTemporaryFile("mvc-kernels", "so", soPath)) {
    error = "cannot create temporary files for the kernel object";
    return failure();
  }
  auto cleanup = [&] {
    llvm::sys::fs::remove(objPath);
    llvm::sys::fs::remove(soPath);
  };
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(objPath, ec);
    llvm::legacy::PassManager pm;
    if (ec || tm->addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::ObjectFile)) {
      error = "cannot emit the kernel object";
      cleanup();
      return failure();
    }
    pm.run(*module);
  }
  // Link with the system C compiler driver: only libc/libm may stay undefined.
  auto cc = llvm::sys::findProgramByName("cc");
  if (!cc) {
    error = "no C compiler driver 'cc' found to link the kernel library";
    cleanup();
    return failure();
  }
  std::string ccPath = *cc;
  std::vector<llvm::StringRef> args = {ccPath, "-shared", "-nostartfiles", "-o", soPath,
                                       objPath, "-lm"};
  std::string linkError;
  int rc = llvm::sys::ExecuteAndWait(ccPath, args, std::nullopt, {}, 0, 0, &linkError);
  if (rc != 0) {
    error = "linking the kernel library failed (" + ccPath + " exit " + std::to_string(rc) +
            ") " + linkError;
    cleanup();
    return failure();
  }
  std::ifstream in(std::string(soPath), std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  cleanup();
  return bytes.str();
}

} // namespace mvc
