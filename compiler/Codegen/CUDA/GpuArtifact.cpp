//===- GpuArtifact.cpp - the gpu family's kernel sections ----------------===//
#include "compiler/Codegen/CUDA/GpuArtifact.h"
#include "compiler/Codegen/Emu/EmuCodegen.h"

#include "compiler/Codegen/CUDA/GpuCodegen.h"
#include "compiler/Codegen/CUDA/LowerToCubin.h"

#include "llvm/Support/FileSystem.h"

#include <map>
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace mvc {
namespace {

/// The chip LLVM generates the PTX of a virtual architecture for.
std::string chipOf(const std::string &arch) {
  return arch.rfind("compute_", 0) == 0 ? "sm_" + arch.substr(8) : arch;
}

bool writeFile(const std::string &path, const std::string &bytes, std::string &error) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (!ec) os << bytes;
  if (ec) error = "cannot write '" + path + "': " + ec.message();
  return !ec;
}

/// Every kernel on its own: NAME.<sm>.cubin and NAME.<compute>.ptx.
LogicalResult emitKernelFiles(gpu::GPUModuleOp module, const GpuVariants &variants,
                              const std::vector<std::string> &kernelNames,
                              const std::string &dir, std::string &error) {
  if (std::error_code ec = llvm::sys::fs::create_directories(dir)) {
    error = "cannot create '" + dir + "': " + ec.message();
    return failure();
  }
  for (const std::string &name : kernelNames) {
    OwningOpRef<gpu::GPUModuleOp> one = extractKernel(module, name);
    std::map<std::string, std::string> ptxOf;
    for (const std::string &arch : variants.cudaArchs) {
      auto ptx = translateToPtx(*one, arch, error);
      if (failed(ptx)) return failure();
      ptxOf[arch] = *ptx;
      auto cubin = assembleCubin(*ptx, arch, nullptr, error);
      if (failed(cubin) || !writeFile(dir + "/" + name + "." + arch + ".cubin", *cubin, error))
        return failure();
    }
    if (!variants.ptxArch.empty()) {
      std::string chip = chipOf(variants.ptxArch);
      if (!ptxOf.count(chip)) {
        auto ptx = translateToPtx(*one, chip, error);
        if (failed(ptx)) return failure();
        ptxOf[chip] = *ptx;
      }
      if (!writeFile(dir + "/" + name + "." + variants.ptxArch + ".ptx", ptxOf[chip], error))
        return failure();
    }
  }
  return success();
}

} // namespace

FailureOr<GpuKernelSections> buildGpuKernelSections(ModuleOp host, const GpuVariants &variants,
                                                    const std::vector<std::string> &kernelNames,
                                                    const std::string &emitKernelsDir,
                                                    std::string &error) {
  gpu::GPUModuleOp module = getGpuKernelModule(host);
  if (!module) {
    error = "internal error: no gpu kernels to compile";
    return failure();
  }
  GpuKernelSections out;
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  std::map<std::string, std::string> ptxOf; // chip -> PTX assembled for it
  for (const std::string &arch : variants.cudaArchs) {
    auto ptx = translateToPtx(module, arch, error);
    if (failed(ptx)) return failure();
    ptxOf[arch] = *ptx;
    auto cubin = assembleCubin(*ptx, arch, nullptr, error);
    if (failed(cubin)) return failure();
    std::string section = "kernels.cuda." + arch;
    out.sections.push_back({section, *cubin});
    list.push_back({{"arch", arch}, {"format", "cubin"}, {"section", section}});
  }
  if (!variants.ptxArch.empty()) {
    // compute_80's PTX is sm_80's (the .target of a PTX is the least SM that runs it).
    std::string chip = chipOf(variants.ptxArch);
    if (!ptxOf.count(chip)) {
      auto ptx = translateToPtx(module, chip, error);
      if (failed(ptx)) return failure();
      // The fallback must assemble too: a driver JIT error on a user's GPU is too late.
      if (failed(assembleCubin(*ptx, chip, nullptr, error))) return failure();
      ptxOf[chip] = *ptx;
    }
    std::string section = "kernels.cuda." + variants.ptxArch;
    out.sections.push_back({section, ptxOf[chip]});
    list.push_back({{"arch", variants.ptxArch}, {"format", "ptx"}, {"section", section}});
  }
  if (!variants.emuArchs.empty()) {
    // cuda-emu: the same NVVM kernels, rewritten into emulator calls and built for the
    // host (compiler/Codegen/Emu). Every emu arch gets the same library: the cuda path
    // emits the same kernels for each.
    auto library = buildEmuKernelLibrary(host, error);
    if (failed(library)) return failure();
    for (const std::string &arch : variants.emuArchs) {
      std::string section = "kernels.cuda-emu." + arch;
      out.sections.push_back({section, *library});
      list.push_back({{"arch", arch}, {"format", "emu"}, {"section", section}});
      if (!emitKernelsDir.empty()) {
        if (std::error_code ec = llvm::sys::fs::create_directories(emitKernelsDir)) {
          error = "cannot create '" + emitKernelsDir + "': " + ec.message();
          return failure();
        }
        if (!writeFile(emitKernelsDir + "/" + section + ".so", *library, error))
          return failure();
      }
    }
  }
  if (!emitKernelsDir.empty() &&
      failed(emitKernelFiles(module, variants, kernelNames, emitKernelsDir, error)))
    return failure();
  out.target = {{"kind", "cuda"}, {"variants", list}};
  return out;
}

} // namespace mvc
