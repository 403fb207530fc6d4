//===- GpuArtifact.cpp - the gpu family's kernel sections ----------------===//
#include "compiler/Codegen/CUDA/GpuArtifact.h"
#include "compiler/Codegen/Emu/EmuCodegen.h"

#include "compiler/Codegen/CUDA/GpuCodegen.h"
#include "compiler/Codegen/CUDA/LowerToCubin.h"

#include "runtime/util/StatusMacros.h"
#include "llvm/Support/FileSystem.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <thread>
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace mvc {
namespace {

/// The chip LLVM generates the PTX of a virtual architecture for.
std::string chipOf(const std::string &arch) {
  return arch.rfind("compute_", 0) == 0 ? "sm_" + arch.substr(8) : arch;
}

absl::Status writeFile(const std::string &path, const std::string &bytes) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (!ec) os << bytes;
  if (ec) return absl::UnavailableError("cannot write '" + path + "': " + ec.message());
  return absl::OkStatus();
}

/// Every kernel on its own: NAME.<sm>.cubin and NAME.<compute>.ptx.
absl::Status emitKernelFiles(gpu::GPUModuleOp module, const GpuVariants &variants,
                             const std::vector<std::string> &kernelNames,
                             const std::string &dir) {
  if (std::error_code ec = llvm::sys::fs::create_directories(dir))
    return absl::UnavailableError("cannot create '" + dir + "': " + ec.message());
  for (const std::string &name : kernelNames) {
    OwningOpRef<gpu::GPUModuleOp> one = extractKernel(module, name);
    std::map<std::string, std::string> ptxOf;
    for (const std::string &arch : variants.cudaArchs) {
      MVC_ASSIGN_OR_RETURN(ptxOf[arch], translateToPtx(*one, arch));
      MVC_ASSIGN_OR_RETURN(std::string cubin, assembleCubin(ptxOf[arch], arch, nullptr));
      MVC_RETURN_IF_ERROR(writeFile(dir + "/" + name + "." + arch + ".cubin", cubin));
    }
    if (!variants.ptxArch.empty()) {
      std::string chip = chipOf(variants.ptxArch);
      if (!ptxOf.count(chip)) {
        MVC_ASSIGN_OR_RETURN(ptxOf[chip], translateToPtx(*one, chip));
      }
      MVC_RETURN_IF_ERROR(writeFile(dir + "/" + name + "." + variants.ptxArch + ".ptx", ptxOf[chip]));
    }
  }
  return absl::OkStatus();
}

} // namespace

absl::StatusOr<GpuKernelSections>
buildGpuKernelSections(ModuleOp host, const GpuVariants &variants,
                       const std::vector<std::string> &kernelNames,
                       const std::string &emitKernelsDir, const KernelCompiledFn &onCompiled) {
  gpu::GPUModuleOp module = getGpuKernelModule(host);
  if (!module) {
    return absl::InternalError("internal error: no gpu kernels to compile");
  }
  GpuKernelSections out;
  out.target.kind = "cuda";
  std::vector<KernelVariant> &list = out.target.variants;
  MVC_ASSIGN_OR_RETURN(std::string bitcode, translateToBitcode(module));

  // One job per chip: LLVM O3 + NVPTX, then ptxas. Jobs own their LLVM contexts and share
  // nothing, so they run on threads of their own while this thread builds the cuda-emu
  // library (MLIR passes stay on this thread).
  struct ChipJob {
    std::string chip;
    bool keepCubin;  // a cubin section; otherwise assembled only to check the PTX fallback
    std::string ptx, cubin;
    absl::Status status;
  };
  std::vector<ChipJob> jobs;
  for (const std::string &arch : variants.cudaArchs) jobs.push_back({arch, true});
  // compute_80's PTX is sm_80's (the .target of a PTX is the least SM that runs it). The
  // fallback must assemble too: a driver JIT error on a user's GPU is too late.
  std::string ptxChip = variants.ptxArch.empty() ? "" : chipOf(variants.ptxArch);
  if (!ptxChip.empty() &&
      std::find(variants.cudaArchs.begin(), variants.cudaArchs.end(), ptxChip) ==
          variants.cudaArchs.end())
    jobs.push_back({ptxChip, false});
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < jobs.size();) {
      ChipJob &job = jobs[i];
      auto begin = std::chrono::steady_clock::now();
      absl::StatusOr<std::string> ptx = bitcodeToPtx(bitcode, job.chip);
      job.status = ptx.status();
      if (!ptx.ok()) continue;
      job.ptx = std::move(*ptx);
      absl::StatusOr<std::string> cubin = assembleCubin(job.ptx, job.chip, nullptr);
      job.status = cubin.status();
      if (!cubin.ok()) continue;
      if (job.keepCubin) job.cubin = std::move(*cubin);
      if (onCompiled)
        onCompiled("cuda " + job.chip + " (all kernels)",
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count());
    }
  };
  std::vector<std::thread> pool;
  int threads = std::min<int>(codegenThreads(), int(jobs.size()));
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
  absl::StatusOr<std::string> emuLibrary = std::string();
  if (!variants.emuArchs.empty()) {
    // cuda-emu: the same NVVM kernels, rewritten into emulator calls and built for the
    // host (compiler/Codegen/Emu). Every emu arch gets the same library: the cuda path
    // emits the same kernels for each.
    emuLibrary = buildEmuKernelLibrary(host, nullptr, onCompiled);
  }
  for (std::thread &t : pool) t.join();
  for (ChipJob &job : jobs) MVC_RETURN_IF_ERROR(job.status);
  MVC_RETURN_IF_ERROR(emuLibrary.status());
  for (ChipJob &job : jobs) {
    if (!job.keepCubin) continue;
    std::string section = "kernels.cuda." + job.chip;
    out.sections.push_back({section, std::move(job.cubin)});
    list.push_back({job.chip, "cubin", section});
  }
  if (!ptxChip.empty()) {
    std::string section = "kernels.cuda." + variants.ptxArch;
    for (ChipJob &job : jobs)
      if (job.chip == ptxChip) {
        out.sections.push_back({section, job.ptx});
        break;
      }
    list.push_back({variants.ptxArch, "ptx", section});
  }
  if (!variants.emuArchs.empty()) {
    for (const std::string &arch : variants.emuArchs) {
      std::string section = "kernels.cuda-emu." + arch;
      out.sections.push_back({section, *emuLibrary});
      list.push_back({arch, "emu", section});
      if (!emitKernelsDir.empty()) {
        if (std::error_code ec = llvm::sys::fs::create_directories(emitKernelsDir))
          return absl::UnavailableError("cannot create '" + emitKernelsDir + "': " + ec.message());
        MVC_RETURN_IF_ERROR(writeFile(emitKernelsDir + "/" + section + ".so", *emuLibrary));
      }
    }
  }
  if (!emitKernelsDir.empty())
    MVC_RETURN_IF_ERROR(emitKernelFiles(module, variants, kernelNames, emitKernelsDir));
  return out;
}

} // namespace mvc
