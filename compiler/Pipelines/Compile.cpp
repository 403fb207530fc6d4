//===- Compile.cpp - the phases of mvc-compile ---------------------------===//
#include "compiler/Pipelines/Compile.h"

#include "compiler/Artifact/ArtifactWriter.h"
#include "compiler/Pipelines/Checkpoint.h"
#include "compiler/Codegen/CPU/Kernels.h"
#include "compiler/Codegen/CPU/LowerToObject.h"
#include "compiler/Codegen/Common/Passes.h"
#include "compiler/Codegen/CUDA/GpuArtifact.h"
#include "compiler/Codegen/CUDA/GpuCodegen.h"
#include "compiler/Pipelines/Targets.h"
#include "compiler/Schedule/ProgramCompiler.h"
#include "compiler/Weights/WeightPacking.h"
#include "dialects/mvc/IR/MvcDialect.h"
#include "dialects/mvc/Transforms/Passes.h"
#include "runtime/util/Npy.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/X86Vector/X86VectorDialect.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/IR/Verifier.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <fstream>
#include <sstream>
#include <iostream>
#include <random>

using namespace mlir;
using json = nlohmann::ordered_json;

namespace mvc {

static const char *kPhases[] = {"input", "graph", "dispatch", "kernels", "llvm", "artifact"};

bool isPhase(const std::string &name) {
  for (const char *p : kPhases)
    if (name == p) return true;
  return false;
}

namespace {

int fail(const std::string &message) {
  std::cerr << "mvc-compile: error: " << message << "\n";
  return 1;
}

/// Prints `text` as the result of phase `phase` when asked to; true when compilation stops.
struct PhaseControl {
  const CompileOptions &opts;
  bool emit(const std::string &phase, const std::function<void(llvm::raw_ostream &)> &print,
            int &exitCode) {
    if (opts.dumpAfter == phase) {
      llvm::errs() << "// ----- after phase '" << phase << "' -----\n";
      print(llvm::errs());
    }
    if (opts.compileTo != phase) return false;
    exitCode = 0;
    if (opts.output.empty() || opts.output == "-") {
      print(llvm::outs());
      return true;
    }
    std::error_code ec;
    llvm::raw_fd_ostream os(opts.output + ".tmp", ec);
    if (ec) { exitCode = fail("cannot write '" + opts.output + "': " + ec.message()); return true; }
    print(os);
    os.close();
    llvm::sys::fs::rename(opts.output + ".tmp", opts.output);
    return true;
  }
};

StoredType storedTypeOf(Type t) {
  if (t.isBF16()) return StoredType::BF16;
  if (t.isInteger(32)) return StoredType::I32;
  return StoredType::F32;
}

/// The f32 values of a weight: from the constant, DIR/NAME.npy, or the seeded generator.
FailureOr<std::vector<float>> weightValues(const WeightEntry &w, const CompileOptions &opts,
                                           const CheckpointSource *checkpoint,
                                           std::string &error) {
  int64_t count = w.type.getNumElements();
  std::vector<float> values(count);
  if (w.constant) {
    if (isa<FloatType>(w.constant.getElementType())) {
      int64_t i = 0;
      for (APFloat v : w.constant.getValues<APFloat>()) values[i++] = v.convertToFloat();
    } else {
      int64_t i = 0;
      for (APInt v : w.constant.getValues<APInt>()) values[i++] = float(v.getSExtValue());
    }
    return values;
  }
  if (checkpoint && checkpoint->contains(w.sourceName)) {
    auto shape = checkpoint->shape(w.sourceName);
    std::vector<int64_t> want(w.type.getShape().begin(), w.type.getShape().end());
    if (!w.sourceShape.empty()) want = w.sourceShape;
    if (!shape.ok()) { error = std::string(shape.status().message()); return failure(); }
    if (*shape != want) {
      std::string got, expect;
      for (int64_t d : *shape) got += (got.empty() ? "" : ", ") + std::to_string(d);
      for (int64_t d : want) expect += (expect.empty() ? "" : ", ") + std::to_string(d);
      error = checkpoint->path() + ": tensor '" + w.sourceName + "' has shape [" + got +
              "], the config implies [" + expect + "]";
      return failure();
    }
    auto data = checkpoint->readAsF32(w.sourceName);
    if (!data.ok()) { error = std::string(data.status().message()); return failure(); }
    return std::move(*data);
  }
  if (checkpoint && !opts.randomSeed) {
    error = checkpoint->path() + ": no tensor '" + w.sourceName + "'";
    return failure();
  }
  if (!opts.weightsDir.empty()) {
    std::string path = opts.weightsDir + "/" + w.sourceName + ".npy";
    if (llvm::sys::fs::exists(path) || !opts.randomSeed) {
      auto npy = readNpy(path);
      if (!npy.ok()) { error = "weight '" + w.sourceName + "': " + std::string(npy.status().message()); return failure(); }
      std::vector<int64_t> want(w.type.getShape().begin(), w.type.getShape().end());
    if (!w.sourceShape.empty()) want = w.sourceShape;
      if (npy->shape != want || npy->dtype != DType::F32) {
        error = "weight '" + w.sourceName + "': " + path + " must be f32 with the shape the graph declares";
        return failure();
      }
      std::memcpy(values.data(), npy->data.data(), count * 4);
      return values;
    }
  }
  if (!opts.randomSeed) {
    error = "weight '" + w.sourceName + "' has no values: give --weights DIR or --random-weights SEED";
    return failure();
  }
  // Seeded per weight name, so a weight's values do not depend on the others.
  std::seed_seq seq{*opts.randomSeed, uint64_t(std::hash<std::string>()(w.sourceName))};
  std::mt19937_64 rng(seq);
  std::uniform_real_distribution<float> dist(-0.1f, 0.1f);
  for (float &v : values) v = dist(rng);
  return values;
}

FailureOr<std::string> weightBytes(const WeightEntry &w, const std::vector<float> &values) {
  StoredType type = storedTypeOf(w.type.getElementType());
  if (w.layout == WeightLayout::RowMajor) return packRowMajor(values, type);
  int64_t n = w.transposed ? w.type.getDimSize(1) : w.type.getDimSize(0);
  int64_t k = w.transposed ? w.type.getDimSize(0) : w.type.getDimSize(1);
  return packMatmulPanels(values, n, k, w.transposed, type, w.layout == WeightLayout::PackedN16K2);
}

std::string dtypeName(Type t) {
  if (t.isBF16()) return "bf16";
  if (t.isInteger(32)) return "i32";
  return "f32";
}

} // namespace

int runCompile(const CompileOptions &opts) {
  std::string error;
  std::optional<TargetSet> targets = parseTargets(opts.target, error);
  if (!targets) return fail(error);
  if (!isPhase(opts.compileTo)) return fail("unknown --compile-to phase '" + opts.compileTo + "'");
  if (!opts.dumpAfter.empty() && !isPhase(opts.dumpAfter))
    return fail("unknown --dump-after phase '" + opts.dumpAfter + "'");
  if (opts.compileTo == "artifact" && opts.output.empty()) return fail("no output file: give -o OUT.mvc");
  FailureOr<CpuSpec> cpu = failure();
  if (!targets->gpu) {
    cpu = resolveCpu(opts.cpu, error);
    if (failed(cpu)) return fail(error);
  }

  DialectRegistry registry;
  registry.insert<MvcDialect, func::FuncDialect, arith::ArithDialect, scf::SCFDialect,
                  memref::MemRefDialect, vector::VectorDialect, math::MathDialect,
                  LLVM::LLVMDialect, x86vector::X86VectorDialect>();
  registerGpuCodegenDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  // Diagnostics as one line each: file:line:col: error: message.
  std::string firstError;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    if (diag.getSeverity() != DiagnosticSeverity::Error) return success();
    std::string text;
    llvm::raw_string_ostream os(text);
    Location loc = diag.getLocation();
    if (auto callSite = dyn_cast<CallSiteLoc>(loc)) loc = callSite.getCallee();
    if (auto file = dyn_cast<FileLineColLoc>(loc))
      os << file.getFilename().getValue() << ":" << file.getLine() << ":" << file.getColumn();
    else
      os << loc;
    os << ": " << diag.str();
    if (firstError.empty()) firstError = text;
    std::cerr << "mvc-compile: error: " << text << "\n";
    return success();
  });

  if (!llvm::sys::fs::exists(opts.input)) return fail("input '" + opts.input + "' does not exist");
  OwningOpRef<ModuleOp> module;
  std::unique_ptr<CheckpointSource> checkpoint;
  json manifestArch = {{"architecture", "graph"}, {"config", json::object()}};
  json languageModel;
  std::string sourceKind = "mlir";
  std::vector<std::pair<std::string, std::string>> extraSections;
  if (isCheckpointInput(opts.input)) {
    auto built = buildFromCheckpoint(opts, context);
    if (!built.ok()) return fail(std::string(built.status().message()));
    module = std::move(built->module);
    checkpoint = std::move(built->weights);
    sourceKind = built->sourceKind;
    manifestArch = {{"architecture", built->architecture}, {"config", built->config}};
    languageModel = built->languageModel;
    extraSections = std::move(built->sections);
  } else if (!opts.chatTemplate.empty()) {
    return fail("--chat-template applies to checkpoints (a directory or a .gguf), not '" +
                opts.input + "'");
  } else {
    llvm::SourceMgr sourceMgr;
    module = parseSourceFile<ModuleOp>(opts.input, sourceMgr, &context);
    if (!module) return firstError.empty() ? fail("cannot parse '" + opts.input + "'") : 1;
  }
  if (failed(verify(*module))) return 1;
  PhaseControl phases{opts};
  int exitCode = 0;
  auto printModule = [&](ModuleOp m) { return [m](llvm::raw_ostream &os) mutable { m.print(os); os << "\n"; }; };
  if (phases.emit("input", printModule(*module), exitCode)) return exitCode;

  PassManager pm(&context);
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (failed(pm.run(*module))) return 1;
  if (phases.emit("graph", printModule(*module), exitCode)) return exitCode;

  PassManager dispatchPm(&context);
  dispatchPm.addNestedPass<func::FuncOp>(createFormDispatchRegions());
  dispatchPm.addNestedPass<func::FuncOp>(createSetLoweringConfig());
  if (failed(dispatchPm.run(*module))) return 1;
  if (phases.emit("dispatch", printModule(*module), exitCode)) return exitCode;

  OwningOpRef<ModuleOp> kernels = ModuleOp::create(UnknownLoc::get(&context));
  WeightTable weights;
  json programs = json::array(), states = json::array();
  std::vector<std::string> kernelNames;
  std::unique_ptr<KernelBackend> backend = targets->gpu
                                               ? createGpuKernelBackend(*kernels)
                                               : createCpuKernelBackend(*kernels, cpu->codegen);
  for (auto fn : module->getOps<func::FuncOp>()) {
    auto result = compileProgram(fn, *backend, weights);
    if (failed(result)) return 1;
    for (auto &step : result->manifest["steps"])
      if (step["kind"] == "dispatch") kernelNames.push_back(step["kernel"]);
    programs.push_back(result->manifest);
    for (auto &s : result->states) {
      bool seen = false;
      for (auto &have : states) seen |= have["name"] == s["name"];
      if (!seen) states.push_back(s);
    }
  }
  if (programs.empty()) return fail("'" + opts.input + "' defines no func.func program");
  if (failed(verify(*kernels))) return fail("internal error: generated kernels do not verify");
  // Repeated layers emit the same kernel many times: keep one of each before codegen, and
  // point the steps of the others at it.
  PassManager dedupPm(&context);
  dedupPm.addPass(createDeduplicateKernels());
  if (failed(dedupPm.run(*kernels))) return fail("internal error: deduplicating the kernels failed");
  std::map<std::string, std::string> aliases = kernelAliases(*kernels);
  for (auto &program : programs)
    for (auto &step : program["steps"])
      if (step["kind"] == "dispatch")
        if (auto alias = aliases.find(step["kernel"].get<std::string>()); alias != aliases.end())
          step["kernel"] = alias->second;
  kernelNames.erase(std::remove_if(kernelNames.begin(), kernelNames.end(),
                                   [&](const std::string &name) { return aliases.count(name) != 0; }),
                    kernelNames.end());
  if (phases.emit("kernels", printModule(*kernels), exitCode)) return exitCode;

  std::vector<std::pair<std::string, std::string>> kernelSections;
  json target;
  if (targets->gpu) {
    // The gpu family's "llvm" phase is the NVVM-dialect module every gpu variant starts from.
    if (failed(lowerGpuKernelsToNVVM(*kernels))) return fail("lowering the gpu kernels to NVVM failed");
    if (phases.emit("llvm", printModule(*kernels), exitCode)) return exitCode;
    GpuVariants variants{targets->cudaArchs, targets->ptxArch(), targets->emuArchs};
    auto built = buildGpuKernelSections(*kernels, variants, kernelNames, opts.emitKernelsDir, error);
    if (failed(built)) return fail(error);
    kernelSections = std::move(built->sections);
    target = built->target;
  } else {
    if (failed(lowerKernelsToLLVMDialect(*kernels, *cpu))) return fail("lowering the kernels to LLVM failed");
    std::string llvmIr;
    auto so = buildSharedObject(*kernels, *cpu, kernelNames,
                                opts.compileTo == "llvm" || opts.dumpAfter == "llvm" ? &llvmIr : nullptr,
                                error);
    if (failed(so)) return fail(error);
    if (phases.emit("llvm", [&](llvm::raw_ostream &os) { os << llvmIr; }, exitCode)) return exitCode;
    if (!opts.emitKernelsDir.empty()) {
      llvm::sys::fs::create_directories(opts.emitKernelsDir);
      std::ofstream(opts.emitKernelsDir + "/kernels.cpu.so", std::ios::binary) << *so;
    }
    kernelSections.push_back({"kernels.cpu", *so});
    json features = json::array();
    for (auto &f : cpu->required) features.push_back(f);
    target = {{"kind", "cpu"}, {"cpu", cpu->cpuName}, {"cpu_features", features}};
  }

  // Weights: each at a 64-byte aligned offset of the weights section.
  json weightList = json::array();
  std::string blob;
  for (const WeightEntry &w : weights.entries()) {
    auto values = weightValues(w, opts, checkpoint.get(), error);
    if (failed(values)) return fail(error);
    auto bytes = weightBytes(w, *values);
    blob.resize((blob.size() + 63) / 64 * 64, '\0');
    json shape = json::array();
    for (int64_t d : w.type.getShape()) shape.push_back(d);
    weightList.push_back({{"name", w.artifactName}, {"dtype", dtypeName(w.type.getElementType())},
                          {"shape", shape}, {"layout", layoutName(w.layout)},
                          {"offset", blob.size()}, {"size", bytes->size()}});
    blob += *bytes;
  }

  json manifest = {
      {"format_version", 1},
      {"producer", "mvc-compile 0.1"},
      {"source", {{"path", opts.input}, {"kind", sourceKind}}},
      {"architecture", manifestArch["architecture"]},
      {"config", manifestArch["config"]},
      {"target", target},
      {"weights", weightList},
      {"states", states},
      {"load_symbols", {{"num_pages", opts.kvPages}}},
      {"programs", programs}};
  if (!languageModel.is_null()) manifest["language_model"] = languageModel;

  ArtifactWriter writer;
  std::string manifestText = manifest.dump(1);
  if (auto status = writer.addSection("manifest", manifestText); !status.ok())
    return fail(std::string(status.message()));
  for (auto &[name, bytes] : kernelSections)
    if (auto status = writer.addSection(name, bytes); !status.ok())
      return fail(std::string(status.message()));
  if (auto status = writer.addSection("weights", blob, /*lazyChecksum=*/true); !status.ok())
    return fail(std::string(status.message()));
  for (auto &[name, bytes] : extraSections)
    if (auto status = writer.addSection(name, bytes); !status.ok())
      return fail(std::string(status.message()));
  if (auto status = writer.write(opts.output); !status.ok()) return fail(std::string(status.message()));
  return 0;
}

} // namespace mvc
