//===- LowerToCubin.cpp - NVVM kernels to PTX and cubin ------------------===//
#include "compiler/Codegen/CUDA/LowerToCubin.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/Bitcode/BitcodeWriter.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"

#include <regex>
#include <sstream>

using namespace mlir;

namespace mvc {

namespace {
void initializeNvptx() {
  static bool initialized = [] {
    LLVMInitializeNVPTXTargetInfo();
    LLVMInitializeNVPTXTarget();
    LLVMInitializeNVPTXTargetMC();
    LLVMInitializeNVPTXAsmPrinter();
    return true;
  }();
  (void)initialized;
}
} // namespace

absl::StatusOr<std::string> translateToBitcode(gpu::GPUModuleOp module) {
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, llvmContext, module.getName());
  if (!llvmModule) {
    return absl::InternalError("translation of the gpu kernels to LLVM IR failed");
  }
  std::string bytes;
  llvm::raw_string_ostream os(bytes);
  llvm::WriteBitcodeToFile(*llvmModule, os);
  return bytes;
}

absl::StatusOr<std::string> translateToPtx(gpu::GPUModuleOp module, StringRef chip) {
  absl::StatusOr<std::string> bitcode = translateToBitcode(module);
  if (!bitcode.ok()) return bitcode.status();
  return bitcodeToPtx(*bitcode, chip);
}

absl::StatusOr<std::string> bitcodeToPtx(StringRef bitcode, StringRef chip) {
  initializeNvptx();
  llvm::LLVMContext llvmContext;
  auto parsed = llvm::parseBitcodeFile(llvm::MemoryBufferRef(bitcode, "kernels"), llvmContext);
  if (!parsed) {
    return absl::InternalError("internal error: the gpu kernels' bitcode does not parse: " +
            llvm::toString(parsed.takeError()));
  }
  std::unique_ptr<llvm::Module> llvmModule = std::move(*parsed);
  llvm::Triple triple("nvptx64-nvidia-cuda");
  std::string lookupError;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, lookupError);
  if (!target) return absl::InternalError(lookupError);
  // PTX ISA 8.0 is the first with sm_90a; CUDA 12.0+ drivers JIT it.
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, chip, "+ptx80", llvm::TargetOptions(), std::nullopt, std::nullopt,
      llvm::CodeGenOptLevel::Aggressive));
  if (!tm) {
    return absl::InternalError("LLVM's NVPTX backend does not know chip '" + chip.str() + "'");
  }
  llvmModule->setTargetTriple(triple);
  llvmModule->setDataLayout(tm->createDataLayout());
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
    pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3).run(*llvmModule, mam);
  }
  std::string ptx;
  {
    llvm::raw_string_ostream os(ptx);
    llvm::buffer_ostream bos(os);
    llvm::legacy::PassManager pm;
    if (tm->addPassesToEmitFile(pm, bos, nullptr, llvm::CodeGenFileType::AssemblyFile)) {
      return absl::InternalError("LLVM's NVPTX backend cannot emit PTX for " + chip.str());
    }
    pm.run(*llvmModule);
  }
  return ptx;
}

namespace {

std::optional<std::string> findPtxas() {
  if (auto env = llvm::sys::Process::GetEnv("MVC_PTXAS")) return *env;
  if (auto onPath = llvm::sys::findProgramByName("ptxas")) return *onPath;
  if (auto inToolkit = llvm::sys::findProgramByName("ptxas", {"/usr/local/cuda/bin"}))
    return *inToolkit;
  return std::nullopt;
}

/// The kernel whose body holds line `line` (1-based) of `ptx`.
std::string kernelAtLine(StringRef ptx, int64_t line) {
  std::string kernel;
  std::regex entry(R"(\.entry\s+([A-Za-z_$][\w$]*))");
  int64_t at = 0;
  for (StringRef rest = ptx; !rest.empty() && at < line;) {
    auto [text, tail] = rest.split('\n');
    rest = tail;
    ++at;
    std::smatch m;
    std::string s = text.str();
    if (std::regex_search(s, m, entry)) kernel = m[1];
  }
  return kernel;
}

/// Per-kernel numbers from `ptxas -v` output.
std::vector<PtxasKernelInfo> parseReport(const std::string &log) {
  std::vector<PtxasKernelInfo> out;
  std::regex function(R"(Function properties for (\S+))");
  std::regex frame(R"((\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads)");
  std::regex used(R"(Used (\d+) registers)"), smem(R"((\d+) bytes smem)");
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_search(line, m, function)) {
      out.push_back({m[1]});
    } else if (!out.empty() && std::regex_search(line, m, frame)) {
      out.back().stackBytes = std::stoll(m[1]);
      out.back().spillStores = std::stoll(m[2]);
      out.back().spillLoads = std::stoll(m[3]);
    } else if (!out.empty() && std::regex_search(line, m, used)) {
      out.back().registers = std::stoll(m[1]);
      if (std::regex_search(line, m, smem)) out.back().sharedBytes = std::stoll(m[1]);
    }
  }
  return out;
}

} // namespace

absl::StatusOr<std::string> assembleCubin(StringRef ptx, StringRef chip,
                                          std::vector<PtxasKernelInfo> *report) {
  std::optional<std::string> ptxas = findPtxas();
  if (!ptxas) {
    return absl::FailedPreconditionError("ptxas not found (looked at $MVC_PTXAS, PATH and /usr/local/cuda/bin): the cuda "
            "targets need the CUDA toolkit's ptxas");
  }
  llvm::SmallString<128> ptxPath, cubinPath, logPath;
  if (llvm::sys::fs::createTemporaryFile("mvc-kernels", "ptx", ptxPath) ||
      llvm::sys::fs::createTemporaryFile("mvc-kernels", "cubin", cubinPath) ||
      llvm::sys::fs::createTemporaryFile("mvc-ptxas", "log", logPath)) {
    return absl::InternalError("cannot create temporary files for ptxas");
  }
  llvm::scope_exit cleanup([&] {
    llvm::sys::fs::remove(ptxPath);
    llvm::sys::fs::remove(cubinPath);
    llvm::sys::fs::remove(logPath);
  });
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(ptxPath, ec);
    if (ec) {
      return absl::InternalError("cannot write " + ptxPath.str().str() + ": " + ec.message());
    }
    os << ptx;
  }
  std::string arch = "-arch=" + chip.str();
  SmallVector<StringRef> args = {*ptxas, arch, "-O3", "-v", ptxPath, "-o", cubinPath};
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(logPath), StringRef(logPath)};
  std::string execError;
  int rc = llvm::sys::ExecuteAndWait(*ptxas, args, std::nullopt, redirects, 0, 0, &execError);
  auto log = llvm::MemoryBuffer::getFile(logPath);
  std::string logText = log ? (*log)->getBuffer().str() : "";
  if (rc != 0) {
    // "ptxas /tmp/x.ptx, line 12; error   : ..." -> the kernel holding line 12.
    std::string message, kernel;
    std::istringstream in(logText);
    for (std::string line; std::getline(in, line);) {
      if (line.find("error") == std::string::npos) continue;
      std::smatch m;
      if (kernel.empty() && std::regex_search(line, m, std::regex(R"(line (\d+);)")))
        kernel = kernelAtLine(ptx, std::stoll(m[1]));
      auto colon = line.find(": ", line.find("error"));
      message += (message.empty() ? "" : "; ") + line.substr(colon == std::string::npos ? 0 : colon + 2);
    }
    if (message.empty()) message = execError.empty() ? "exit code " + std::to_string(rc) : execError;
    return absl::InvalidArgumentError("ptxas rejected " + (kernel.empty() ? std::string("the kernels") : "kernel '" + kernel + "'") +
            " for " + chip.str() + ": " + message);
  }
  if (report) *report = parseReport(logText);
  auto cubin = llvm::MemoryBuffer::getFile(cubinPath, /*IsText=*/false);
  if (!cubin) {
    return absl::InternalError("ptxas wrote no cubin for " + chip.str());
  }
  return (*cubin)->getBuffer().str();
}

OwningOpRef<gpu::GPUModuleOp> extractKernel(gpu::GPUModuleOp module, StringRef name) {
  OwningOpRef<gpu::GPUModuleOp> copy = cast<gpu::GPUModuleOp>(module->clone());
  SmallVector<Operation *> others;
  for (Operation &op : copy->getBody()->without_terminator())
    if (auto fn = dyn_cast<LLVM::LLVMFuncOp>(op); fn && fn.getName() != name) others.push_back(fn);
  for (Operation *op : others) op->erase();
  // Shared-memory globals of the erased kernels.
  SmallVector<Operation *> unused;
  for (Operation &op : copy->getBody()->without_terminator())
    if (auto global = dyn_cast<LLVM::GlobalOp>(op))
      if (SymbolTable::symbolKnownUseEmpty(global, copy->getOperation())) unused.push_back(global);
  for (Operation *op : unused) op->erase();
  return copy;
}

} // namespace mvc
