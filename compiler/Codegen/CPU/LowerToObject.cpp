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

#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/Bitcode/BitcodeWriter.h"
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
#include "llvm/Transforms/Utils/Cloning.h"
#include "llvm/TargetParser/Host.h"

#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>
#include <sstream>

using namespace mlir;

namespace mvc {

absl::StatusOr<CpuSpec> resolveCpu(const std::string &name) {
  CpuSpec spec;
  const char *v3 = "+avx,+avx2,+fma,+f16c,+bmi,+bmi2,+lzcnt,+movbe,+popcnt,+sse4.2";
  std::vector<std::string> v3Req = {"avx2", "fma", "f16c"};
  std::vector<std::string> v4Req = {"avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512dq", "avx512vl"};
  if (name == "x86-64-v3") {
    spec = {"x86-64-v3", v3, v3Req, {8, false}};
  } else if (name == "x86-64-v4") {
    spec = {"x86-64-v4", std::string(v3) + ",+avx512f,+avx512bw,+avx512dq,+avx512vl,+avx512cd",
            v4Req, {16, false}};
  } else if (name == "native" || name == "native-noamx") {
    llvm::StringMap<bool> host = llvm::sys::getHostCPUFeatures();
    bool avx512 = host.lookup("avx512f") && host.lookup("avx512bw") && host.lookup("avx512vl") &&
                  host.lookup("avx512dq");
    if (!host.lookup("avx2") || !host.lookup("fma")) {
      return absl::FailedPreconditionError("this CPU lacks AVX2/FMA, the least mvc's cpu target needs");
    }
    bool bf16 = avx512 && host.lookup("avx512bf16");
    spec.cpuName = avx512 ? "x86-64-v4" : "x86-64-v3";
    spec.llvmFeatures = std::string(v3) +
                        (avx512 ? ",+avx512f,+avx512bw,+avx512dq,+avx512vl,+avx512cd" : "") +
                        (bf16 ? ",+avx512bf16" : "");
    spec.required = avx512 ? v4Req : v3Req;
    if (bf16) spec.required.push_back("avx512bf16");
    spec.codegen = {avx512 ? 16 : 8, bf16};
    // Integer dot products (vpdpbusd) over bytes permuted across the vector (vpermb,
    // vpmultishiftqb): the block-format matmuls' int8 decode path.
    if (avx512 && host.lookup("avx512vnni") && host.lookup("avx512vbmi")) {
      spec.llvmFeatures += ",+avx512vnni,+avx512vbmi";
      spec.required.push_back("avx512vnni");
      spec.required.push_back("avx512vbmi");
      spec.codegen.int8Dot = true;
    }
    // AMX bf16 tiles for the bf16-weight matmuls; the runtime asks Linux for the tile
    // state (arch_prctl) when the manifest lists an amx feature.
    if (bf16 && host.lookup("amx-tile") && host.lookup("amx-bf16") && name == "native") {
      spec.llvmFeatures += ",+amx-tile,+amx-bf16";
      spec.required.push_back("amx-tile");
      spec.required.push_back("amx-bf16");
      spec.codegen.amxBf16 = true;
    }
  } else {
    return absl::InvalidArgumentError("unknown --cpu '" + name + "' (expected native, native-noamx, x86-64-v3 or x86-64-v4)");
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
      "convert-to-llvm{filter-dialects=cf,func,amx},reconcile-unrealized-casts";
  if (failed(parsePassPipeline(pipeline, pm))) return failure();
  return pm.run(kernels);
}

namespace {

/// Splits `module` into independently compiled parts: one per externally visible function
/// definition, and one holding every other external definition (globals such as the
/// emulator's runtime table). Internal functions and constants are copied into every part
/// (O3 drops the unused copies). Returns the parts as bitcode, so that each can be parsed
/// into an LLVMContext of its own and compiled on its own thread; a single part when the
/// module holds internal mutable state that copies would split.
std::vector<std::pair<std::string, std::string>> splitIntoParts(llvm::Module &module) {
  auto serialize = [](const llvm::Module &m) {
    std::string bytes;
    llvm::raw_string_ostream os(bytes);
    llvm::WriteBitcodeToFile(m, os);
    return bytes;
  };
  bool splittable = true;
  for (llvm::GlobalVariable &g : module.globals())
    if (g.hasLocalLinkage() && !g.isConstant()) splittable = false;
  if (!splittable) return {{"kernels", serialize(module)}};

  std::vector<const llvm::Function *> roots;
  for (const llvm::Function &f : module)
    if (!f.isDeclaration() && !f.hasLocalLinkage()) roots.push_back(&f);
  std::vector<std::pair<std::string, std::string>> parts;
  auto sharedLocal = [](const llvm::GlobalValue *gv) {
    return gv->hasLocalLinkage() &&
           (isa<llvm::Function>(gv) || cast<llvm::GlobalVariable>(gv)->isConstant());
  };
  for (const llvm::Function *root : roots) {
    llvm::ValueToValueMapTy map;
    std::unique_ptr<llvm::Module> part = llvm::CloneModule(
        module, map, [&](const llvm::GlobalValue *gv) { return gv == root || sharedLocal(gv); });
    parts.push_back({root->getName().str(), serialize(*part)});
  }
  llvm::ValueToValueMapTy map;
  std::unique_ptr<llvm::Module> rest = llvm::CloneModule(module, map, [&](const llvm::GlobalValue *gv) {
    return !isa<llvm::Function>(gv) || sharedLocal(gv);
  });
  parts.push_back({"(globals)", serialize(*rest)});
  return parts;
}

/// One part: parsed in its own context, optimized (O3) and emitted as an object file.
struct PartResult {
  std::string objectPath, llvmIr, error;
};

PartResult compilePart(const std::string &bitcode, const CpuSpec &cpu, bool wantIr) {
  PartResult result;
  llvm::LLVMContext context;
  auto parsed = llvm::parseBitcodeFile(llvm::MemoryBufferRef(bitcode, "part"), context);
  if (!parsed) {
    result.error = "internal error: a kernel part does not parse: " + llvm::toString(parsed.takeError());
    return result;
  }
  std::unique_ptr<llvm::Module> module = std::move(*parsed);
  std::string triple = "x86_64-unknown-linux-gnu";
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(llvm::Triple(triple), result.error);
  if (!target) return result;
  llvm::TargetOptions options;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      llvm::Triple(triple), cpu.cpuName, cpu.llvmFeatures, options, llvm::Reloc::PIC_,
      std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  module->setDataLayout(tm->createDataLayout());
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
  if (wantIr) {
    llvm::raw_string_ostream os(result.llvmIr);
    module->print(os, nullptr);
  }
  llvm::SmallString<128> objPath;
  int fd;
  if (llvm::sys::fs::createTemporaryFile("mvc-kernels", "o", fd, objPath)) {
    result.error = "cannot create a temporary file for a kernel object";
    return result;
  }
  result.objectPath = std::string(objPath);
  llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
  llvm::legacy::PassManager pm;
  if (tm->addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::ObjectFile)) {
    result.error = "cannot emit a kernel object";
    return result;
  }
  pm.run(*module);
  os.flush();
  if (os.has_error()) result.error = "cannot write the kernel object " + result.objectPath;
  return result;
}

} // namespace

namespace {
std::atomic<int> requestedThreads{0};
} // namespace

void setCodegenThreads(int n) { requestedThreads = n; }

int codegenThreads() {
  if (int n = requestedThreads.load(); n > 0) return n;
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : int(n);
}

absl::StatusOr<std::string> buildSharedObject(ModuleOp lowered, const CpuSpec &cpu,
                                              const std::vector<std::string> &kernelNames,
                                              std::string *llvmIrOut,
                                         const KernelCompiledFn &onCompiled) {
  registerBuiltinDialectTranslation(*lowered.getContext());
  registerLLVMDialectTranslation(*lowered.getContext());
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  std::vector<std::pair<std::string, std::string>> parts;
  {
    llvm::LLVMContext llvmContext;
    std::unique_ptr<llvm::Module> module =
        translateModuleToLLVMIR(lowered, llvmContext, "mvc_kernels");
    if (!module) {
      return absl::InternalError("translation of the kernels to LLVM IR failed");
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
    module->setTargetTriple(llvm::Triple("x86_64-unknown-linux-gnu"));
    for (llvm::Function &f : *module) {
      if (f.isDeclaration()) continue;
      f.addFnAttr("target-cpu", cpu.cpuName);
      f.addFnAttr("target-features", cpu.llvmFeatures);
      f.addFnAttr("prefer-vector-width", "512");
    }
    parts = splitIntoParts(*module);
  }

  // Parts compile independently (a context, a target machine and an object file each), the
  // largest first so that one big kernel does not start last.
  std::vector<size_t> order(parts.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return parts[a].second.size() > parts[b].second.size();
  });
  std::vector<PartResult> results(parts.size());
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t k; (k = next.fetch_add(1)) < order.size();) {
      size_t i = order[k];
      auto begin = std::chrono::steady_clock::now();
      results[i] = compilePart(parts[i].second, cpu, llvmIrOut != nullptr);
      double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
      if (onCompiled) onCompiled(parts[i].first, seconds);
    }
  };
  int threads = std::min<int>(codegenThreads(), int(parts.size()));
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (std::thread &t : pool) t.join();

  llvm::SmallString<128> soPath;
  std::vector<std::string> objects;
  auto cleanup = [&] {
    for (const std::string &o : objects) llvm::sys::fs::remove(o);
    if (!soPath.empty()) llvm::sys::fs::remove(soPath);
  };
  for (PartResult &r : results) {
    if (!r.objectPath.empty()) objects.push_back(r.objectPath);
    if (llvmIrOut) *llvmIrOut += r.llvmIr;
  }
  for (PartResult &r : results)
    if (!r.error.empty()) {
      cleanup();
      return absl::InternalError(r.error);
    }
  if (llvm::sys::fs::createTemporaryFile("mvc-kernels", "so", soPath)) {
    cleanup();
    return absl::InternalError("cannot create a temporary file for the kernel library");
  }
  // Link with the system C compiler driver: only libc/libm may stay undefined.
  auto cc = llvm::sys::findProgramByName("cc");
  if (!cc) {
    cleanup();
    return absl::FailedPreconditionError("no C compiler driver 'cc' found to link the kernel library");
  }
  std::string ccPath = *cc;
  std::vector<llvm::StringRef> args = {ccPath, "-shared", "-nostartfiles", "-o", soPath};
  for (const std::string &o : objects) args.push_back(o);
  args.push_back("-lm");
  std::string linkError;
  int rc = llvm::sys::ExecuteAndWait(ccPath, args, std::nullopt, {}, 0, 0, &linkError);
  if (rc != 0) {
    cleanup();
    return absl::InternalError("linking the kernel library failed (" + ccPath + " exit " + std::to_string(rc) +
            ") " + linkError);
  }
  std::ifstream in(std::string(soPath), std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  cleanup();
  return bytes.str();
}

} // namespace mvc
