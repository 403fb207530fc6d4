//===- Compile.cpp - the phases of mvc-compile ---------------------------===//
#include "compiler/Pipelines/Compile.h"
#include "runtime/artifact/BlockFormat.h"

#include "compiler/Artifact/ArtifactWriter.h"
#include "compiler/Pipelines/Checkpoint.h"
#include "compiler/Pipelines/Progress.h"
#include "compiler/Codegen/CPU/Kernels.h"
#include "compiler/Codegen/CPU/LowerToObject.h"
#include "compiler/Codegen/Common/Passes.h"
#include "compiler/Codegen/CUDA/GpuArtifact.h"
#include "compiler/Codegen/CUDA/GpuCodegen.h"
#include "compiler/Pipelines/Targets.h"
#include "runtime/artifact/ManifestWriter.h"
#include "runtime/util/AtomicFile.h"
#include "runtime/util/StatusMacros.h"
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
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVM.h"
#include "mlir/Dialect/AMX/AMXDialect.h"
#include "mlir/Dialect/AMX/Transforms.h"
#include "mlir/Dialect/X86Vector/X86VectorDialect.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/IR/Verifier.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <fstream>
#include <sys/stat.h>
#include <sstream>
#include <iostream>
#include <random>

using namespace mlir;

namespace mvc {

static const char *kPhases[] = {"input", "graph", "dispatch", "kernels", "llvm", "artifact"};

bool isPhase(const std::string &name) {
  for (const char *p : kPhases)
    if (name == p) return true;
  return false;
}

namespace {

StoredType storedTypeOf(Type t) {
  if (t.isBF16()) return StoredType::BF16;
  if (t.isInteger(32)) return StoredType::I32;
  return StoredType::F32;
}

/// Checks that the checkpoint's tensor for `w` has the shape the graph declares (its
/// source shape when the graph reshapes it); the error names the file and the tensor.
absl::Status checkSourceShape(const WeightEntry &w, const CheckpointSource &checkpoint) {
  MVC_ASSIGN_OR_RETURN(std::vector<int64_t> shape, checkpoint.shape(w.sourceName));
  std::vector<int64_t> want(w.type.getShape().begin(), w.type.getShape().end());
  if (!w.sourceShape.empty()) want = w.sourceShape;
  if (shape == want) return absl::OkStatus();
  // A rank-0 tensor (a saved scalar buffer) is read as the one-element [1].
  if (shape.empty() && want == std::vector<int64_t>{1}) return absl::OkStatus();
  std::string got, expect;
  for (int64_t d : shape) got += (got.empty() ? "" : ", ") + std::to_string(d);
  for (int64_t d : want) expect += (expect.empty() ? "" : ", ") + std::to_string(d);
  return absl::InvalidArgumentError(checkpoint.path() + ": tensor '" + w.sourceName +
                                    "' has shape [" + got + "], the config implies [" + expect +
                                    "]");
}

/// The f32 values of a weight: from the constant, DIR/NAME.npy, or the seeded generator.
absl::StatusOr<std::vector<float>> weightValues(const WeightEntry &w, const CompileOptions &opts,
                                                const CheckpointSource *checkpoint) {
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
    MVC_RETURN_IF_ERROR(checkSourceShape(w, *checkpoint));
    return checkpoint->readAsF32(w.sourceName);
  }
  if (checkpoint && !opts.randomSeed) {
    return absl::NotFoundError(checkpoint->path() + ": no tensor '" + w.sourceName + "'");
  }
  if (!opts.weightsDir.empty()) {
    std::string path = opts.weightsDir + "/" + w.sourceName + ".npy";
    if (llvm::sys::fs::exists(path) || !opts.randomSeed) {
      auto npy = readNpy(path);
      if (!npy.ok())
        return absl::InvalidArgumentError("weight '" + w.sourceName + "': " +
                                          std::string(npy.status().message()));
      std::vector<int64_t> want(w.type.getShape().begin(), w.type.getShape().end());
      if (!w.sourceShape.empty()) want = w.sourceShape;
      if (npy->shape != want || npy->dtype != DType::F32)
        return absl::InvalidArgumentError("weight '" + w.sourceName + "': " + path +
                                          " must be f32 with the shape the graph declares");
      std::memcpy(values.data(), npy->data.data(), count * 4);
      return values;
    }
  }
  if (!opts.randomSeed) {
    return absl::InvalidArgumentError("weight '" + w.sourceName +
                                      "' has no values: give --weights DIR or --random-weights SEED");
  }
  // Seeded per weight name, so a weight's values do not depend on the others.
  std::seed_seq seq{*opts.randomSeed, uint64_t(std::hash<std::string>()(w.sourceName))};
  std::mt19937_64 rng(seq);
  std::uniform_real_distribution<float> dist(-0.1f, 0.1f);
  for (float &v : values) v = dist(rng);
  return values;
}

/// A packed weight's matrix sizes: N, K, and the matrix count (experts of a grouped
/// matmul's [E, N, K] weight, else 1).
struct PackedShape {
  int64_t n, k, matrices;
};
PackedShape packedShape(const WeightEntry &w) {
  int64_t r = w.type.getRank();
  int64_t rows = w.type.getDimSize(r - 2), cols = w.type.getDimSize(r - 1);
  return {w.transposed ? cols : rows, w.transposed ? rows : cols,
          r == 3 ? w.type.getDimSize(0) : 1};
}

/// `matrices` consecutive matrices of `values` packed one after the other (FORMAT.md).
std::string packMatrices(const std::vector<float> &values, const WeightEntry &w, int64_t matrices) {
  StoredType type = storedTypeOf(w.type.getElementType());
  PackedShape s = packedShape(w);
  if (matrices == 1)
    return packMatmulPanels(values, s.n, s.k, w.transposed, type, w.layout == WeightLayout::PackedN16K2);
  std::string out;
  std::vector<float> one(s.n * s.k);
  for (int64_t e = 0; e < matrices; ++e) {
    std::copy(values.begin() + e * s.n * s.k, values.begin() + (e + 1) * s.n * s.k, one.begin());
    out += packMatmulPanels(one, s.n, s.k, w.transposed, type, w.layout == WeightLayout::PackedN16K2);
  }
  return out;
}

std::string weightBytes(const WeightEntry &w, const std::vector<float> &values) {
  StoredType type = storedTypeOf(w.type.getElementType());
  if (w.layout == WeightLayout::RowMajor) return packRowMajor(values, type);
  if (w.layout == WeightLayout::BlocksN16) {
    PackedShape s = packedShape(w);
    return packBlockPanels(*w.blockFormat, quantizeBlocks(*w.blockFormat, values), s.n, s.k);
  }
  return packMatrices(values, w, packedShape(w).matrices);
}

uint64_t weightByteSize(const WeightEntry &w) {
  StoredType type = storedTypeOf(w.type.getElementType());
  if (w.layout == WeightLayout::RowMajor) return rowMajorBytes(w.type.getNumElements(), type);
  PackedShape s = packedShape(w);
  if (w.layout == WeightLayout::BlocksN16) return w.blockFormat->panelsBytes(s.n, s.k);
  return s.matrices * matmulPanelsBytes(s.n, s.k, type, w.layout == WeightLayout::PackedN16K2);
}

/// Writes weights into the artifact one at a time: read, convert, pack, write. A
/// checkpoint matrix that can be read by rows (safetensors, most GGUF tensors) goes in chunks
/// of whole 16-row panels of about 64 MB of f32, so a compile holds one chunk, not one
/// tensor (Gemma 3's 262k x 2560 embedding is 2.7 GB as f32); other sources hold one tensor
/// at a time.
struct WeightStreamer {
  const CompileOptions &opts;
  const CheckpointSource *checkpoint;
  const ArtifactWriter::Sink &sink;
  std::function<void(uint64_t)> onWritten; // bytes, after each chunk

  static constexpr int64_t kChunkBytes = 64 << 20;

  /// Bytes written. Errors of the source name the weight; errors of the sink (disk full)
  /// come back as the writer's, which names the file.
  absl::StatusOr<uint64_t> write(const WeightEntry &w) {
    // A checkpoint tensor already in the weight's block format is repacked as it is (the
    // file's own scales and values, bit for bit), not dequantized and quantized again.
    if (w.layout == WeightLayout::BlocksN16 && checkpoint && !w.constant &&
        checkpoint->blockFormat(w.sourceName) == std::string(w.blockFormat->name)) {
      MVC_RETURN_IF_ERROR(checkSourceShape(w, *checkpoint));
      MVC_ASSIGN_OR_RETURN(std::string blocks, checkpoint->readBlocks(w.sourceName));
      return writeBlocks(w, blocks, checkpoint->path() + ": tensor '" + w.sourceName + "'");
    }
    // A block-format weight of a --weights directory may come as its GGUF blocks:
    // DIR/NAME.blocks.npy, u8 [N, bytes of a row's blocks] (blocks made elsewhere, e.g.
    // random bytes that exercise every field).
    if (w.layout == WeightLayout::BlocksN16 && !checkpoint && !w.constant && !opts.weightsDir.empty()) {
      std::string path = opts.weightsDir + "/" + w.sourceName + ".blocks.npy";
      if (llvm::sys::fs::exists(path)) {
        auto npy = readNpy(path);
        if (!npy.ok())
          return absl::InvalidArgumentError("weight '" + w.sourceName + "': " +
                                            std::string(npy.status().message()));
        if (npy->dtype != DType::U8 || npy->shape.size() != 2 ||
            npy->shape[0] != packedShape(w).n)
          return absl::InvalidArgumentError("weight '" + w.sourceName + "': " + path +
                                            " must be u8 [N, bytes of a row's blocks]");
        return writeBlocks(w, std::string(npy->data.begin(), npy->data.end()),
                           "weight '" + w.sourceName + "': " + path);
      }
    }
    // A grouped matmul's [E, N, K] weight goes in chunks of whole experts (any layout).
    bool experts = w.layout != WeightLayout::RowMajor && w.type.getRank() == 3;
    bool chunked = checkpoint && !w.constant && (!w.transposed || experts) &&
                   w.sourceShape.empty() && w.type.getRank() >= 2 &&
                   checkpoint->readsRows(w.sourceName);
    if (!chunked) {
      MVC_ASSIGN_OR_RETURN(std::vector<float> values, weightValues(w, opts, checkpoint));
      std::string bytes = weightBytes(w, values);
      MVC_RETURN_IF_ERROR(put(bytes));
      return uint64_t(bytes.size());
    }
    MVC_RETURN_IF_ERROR(checkSourceShape(w, *checkpoint));
    std::vector<int64_t> want(w.type.getShape().begin(), w.type.getShape().end());
    int64_t rows = want[0], rowElems = 1;
    for (size_t i = 1; i < want.size(); ++i) rowElems *= want[i];
    int64_t chunkRows =
        experts ? std::max<int64_t>(1, kChunkBytes / std::max<int64_t>(1, rowElems * 4))
                : std::max<int64_t>(16, kChunkBytes / std::max<int64_t>(1, rowElems * 4)) / 16 * 16;
    StoredType type = storedTypeOf(w.type.getElementType());
    uint64_t written = 0;
    for (int64_t begin = 0; begin < rows; begin += chunkRows) {
      int64_t count = std::min(chunkRows, rows - begin);
      MVC_ASSIGN_OR_RETURN(std::vector<float> values,
                           checkpoint->readRowsAsF32(w.sourceName, begin, count));
      std::string bytes = w.layout == WeightLayout::RowMajor ? packRowMajor(values, type)
                          : w.layout == WeightLayout::BlocksN16
                              ? packBlockPanels(*w.blockFormat, quantizeBlocks(*w.blockFormat, values),
                                                count, rowElems)
                          : experts ? packMatrices(values, w, count)
                                    : packMatmulPanels(values, count, rowElems, false, type,
                                                       w.layout == WeightLayout::PackedN16K2);
      MVC_RETURN_IF_ERROR(put(bytes));
      written += bytes.size();
    }
    return written;
  }

  /// A block-format weight given as its GGUF blocks (rows in HF order; `where` names their
  /// source in errors): checked against the weight's shape, repacked, written.
  absl::StatusOr<uint64_t> writeBlocks(const WeightEntry &w, const std::string &blocks,
                                       const std::string &where) {
    const BlockFormat &f = *w.blockFormat;
    PackedShape s = packedShape(w);
    int64_t want = s.n * (s.k / f.groupValues) * f.groupBytes;
    if (int64_t(blocks.size()) != want)
      return absl::InvalidArgumentError(where + " holds " + std::to_string(blocks.size()) +
                                        " bytes, not the " + std::to_string(want) + " of " +
                                        std::string(f.name) + " blocks of [" + std::to_string(s.n) +
                                        ", " + std::to_string(s.k) + "]");
    std::string bytes = packBlockPanels(f, blocks, s.n, s.k);
    MVC_RETURN_IF_ERROR(put(bytes));
    return uint64_t(bytes.size());
  }

  absl::Status put(const std::string &bytes) {
    absl::Status status = sink(bytes.data(), bytes.size());
    if (status.ok()) onWritten(bytes.size());
    return status;
  }
};

/// The manifest's dtype of a weight: the element type its bytes are stored in.
DType storedDType(Type t) {
  switch (storedTypeOf(t)) {
  case StoredType::BF16: return DType::BF16;
  case StoredType::I32: return DType::I32;
  case StoredType::F32: return DType::F32;
  }
  return DType::F32;
}

/// The manifest of an .mlir graph before any phase has run; a checkpoint's overrides the
/// source kind, architecture and config.
Manifest graphManifest() {
  Manifest manifest;
  manifest.sourceKind = "mlir";
  manifest.architecture = "graph";
  manifest.config = nlohmann::ordered_json::object();
  return manifest;
}

/// A status whose errors were already printed (MLIR diagnostics): runCompile adds nothing.
absl::Status reported() { return absl::AbortedError(""); }

/// One run of mvc-compile, phase by phase (the --compile-to phases). Each phase returns a
/// Status; a phase that --compile-to names prints its IR and ends the run (`stopped`).
class Compilation {
public:
  explicit Compilation(const CompileOptions &opts)
      : opts(opts),
        progress(opts.compileTo == "artifact" ? CompileProgress::detect(opts.quiet)
                                              : CompileProgress::Mode::Quiet) {}

  absl::Status run() {
    MVC_RETURN_IF_ERROR(checkOptions());
    createContext();
    MVC_RETURN_IF_ERROR(readInput());
    if (!stopped) MVC_RETURN_IF_ERROR(graphPasses());
    if (!stopped) MVC_RETURN_IF_ERROR(emitKernels());
    if (!stopped) MVC_RETURN_IF_ERROR(targets.gpu ? gpuCodegen() : cpuCodegen());
    if (!stopped) MVC_RETURN_IF_ERROR(writeArtifact());
    return absl::OkStatus();
  }

private:
  absl::Status checkOptions() {
    MVC_ASSIGN_OR_RETURN(targets, parseTargets(opts.target));
    if (!isPhase(opts.compileTo))
      return absl::InvalidArgumentError("unknown --compile-to phase '" + opts.compileTo + "'");
    if (!opts.dumpAfter.empty() && !isPhase(opts.dumpAfter))
      return absl::InvalidArgumentError("unknown --dump-after phase '" + opts.dumpAfter + "'");
    if (opts.compileTo == "artifact" && opts.output.empty())
      return absl::InvalidArgumentError("no output file: give -o OUT.mvc");
    if (!targets.gpu) {
      MVC_ASSIGN_OR_RETURN(cpu, resolveCpu(opts.cpu));
    }
    if (opts.jobs < 0)
      return absl::InvalidArgumentError("--jobs must be at least 1 (0: the machine's cores)");
    if (opts.compileTo == "artifact") MVC_RETURN_IF_ERROR(checkOutput());
    // KV-cache geometry: a page of 0 tokens or a negative pool compiles into an artifact
    // the runtime cannot use; refuse them here.
    if (opts.pageSize < 1 || opts.pageSize > 4096)
      return absl::InvalidArgumentError("--page-size must be 1 to 4096 tokens, got " +
                                        std::to_string(opts.pageSize));
    if (opts.kvPages < 1 || opts.kvPages > (int64_t(1) << 24))
      return absl::InvalidArgumentError("--kv-pages must be 1 to 16777216, got " +
                                        std::to_string(opts.kvPages));
    if (opts.decodeActivations != "int8" && opts.decodeActivations != "f32")
      return absl::InvalidArgumentError("unknown --decode-activations '" + opts.decodeActivations +
                                        "' (expected int8 or f32)");
    setCodegenThreads(opts.jobs);
    return absl::OkStatus();
  }

  /// The artifact's path must be writable now (not after minutes of work), and must not
  /// be one of the files this compile reads: `DIR -o DIR/model.safetensors` or
  /// `x.gguf -o x.gguf` would destroy the input.
  absl::Status checkOutput() {
    MVC_RETURN_IF_ERROR(AtomicFile::checkTarget(opts.output));
    auto sameFile = [](const std::string &a, const std::string &b) {
      struct stat sa, sb;
      return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 &&
             sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    };
    auto refuse = [&](const std::string &input) {
      return absl::InvalidArgumentError("output '" + opts.output +
                                        "' is one of the compile's inputs (" + input +
                                        "); write the artifact elsewhere");
    };
    for (const std::string &input : {opts.input, opts.chatTemplate})
      if (!input.empty() && sameFile(input, opts.output)) return refuse(input);
    // Inside an input directory, any file a checkpoint reader may open.
    for (const std::string &dir : {opts.input, opts.weightsDir}) {
      if (dir.empty() || !llvm::sys::fs::is_directory(dir) ||
          !sameFile(dir, AtomicFile::directoryOf(opts.output)))
        continue;
      llvm::StringRef name = llvm::sys::path::filename(opts.output);
      if (name.ends_with(".safetensors") || name.ends_with(".json") ||
          name.ends_with(".jinja") || name.ends_with(".npy") || name.ends_with(".gguf"))
        return refuse(dir + "/" + name.str());
    }
    return absl::OkStatus();
  }

  void createContext() {
    DialectRegistry registry;
    registry.insert<MvcDialect, func::FuncDialect, arith::ArithDialect, scf::SCFDialect,
                    memref::MemRefDialect, vector::VectorDialect, math::MathDialect,
                    LLVM::LLVMDialect, x86vector::X86VectorDialect, amx::AMXDialect>();
    // The cpu kernels' cf, func and amx ops go to LLVM through convert-to-llvm (one type
    // converter that knows !amx.tile values carried across blocks).
    cf::registerConvertControlFlowToLLVMInterface(registry);
    registerConvertFuncToLLVMInterface(registry);
    registerConvertAMXToLLVMInterface(registry);
    registerGpuCodegenDialects(registry);
    context = std::make_unique<MLIRContext>(registry);
    context->loadAllAvailableDialects();
    // Diagnostics as one line each: file:line:col: error: message.
    handler = std::make_unique<ScopedDiagnosticHandler>(context.get(), [this](Diagnostic &diag) {
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
  }

  /// Prints `print`'s IR when `phase` is --dump-after's (stderr) or --compile-to's (the
  /// output); the latter ends the run. The output is stdout for "-", written straight into
  /// a character device or FIFO (-o /dev/null, /dev/stdout), and otherwise written through
  /// an AtomicFile (never replacing a device node, a link or a directory by a file).
  absl::Status emitPhase(const std::string &phase,
                         const std::function<void(llvm::raw_ostream &)> &print) {
    if (opts.dumpAfter == phase) {
      llvm::errs() << "// ----- after phase '" << phase << "' -----\n";
      print(llvm::errs());
    }
    if (opts.compileTo != phase) return absl::OkStatus();
    stopped = true;
    if (opts.output.empty() || opts.output == "-") {
      print(llvm::outs());
      return absl::OkStatus();
    }
    struct stat st;
    if (::stat(opts.output.c_str(), &st) == 0 && (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))) {
      std::error_code ec;
      llvm::raw_fd_ostream os(opts.output, ec, llvm::sys::fs::OF_Append);
      if (ec) return absl::UnavailableError("cannot write '" + opts.output + "': " + ec.message());
      print(os);
      return absl::OkStatus();
    }
    std::string text;
    llvm::raw_string_ostream os(text);
    print(os);
    os.flush();
    MVC_ASSIGN_OR_RETURN(std::unique_ptr<AtomicFile> file, AtomicFile::create(opts.output));
    MVC_RETURN_IF_ERROR(file->write(text.data(), text.size()));
    return file->commit();
  }
  absl::Status emitModule(const std::string &phase, ModuleOp m) {
    return emitPhase(phase, [m](llvm::raw_ostream &os) mutable {
      m.print(os);
      os << "\n";
    });
  }

  /// A checkpoint (directory or .gguf) through its architecture, or an .mlir graph.
  absl::Status readInput() {
    if (!llvm::sys::fs::exists(opts.input))
      return absl::NotFoundError("input '" + opts.input + "' does not exist");
    progress.phase("reading the input, building the graph");
    if (isCheckpointInput(opts.input)) {
      MVC_ASSIGN_OR_RETURN(CheckpointBuild built, buildFromCheckpoint(opts, *context));
      module = std::move(built.module);
      checkpoint = std::move(built.weights);
      manifest.sourceKind = built.sourceKind;
      manifest.architecture = built.architecture;
      manifest.config = built.config;
      manifest.languageModel = built.languageModel;
      extraSections = std::move(built.sections);
      for (const std::string &note : built.notes) std::cerr << "mvc-compile: note: " << note << "\n";
    } else if (!opts.chatTemplate.empty()) {
      return absl::InvalidArgumentError(
          "--chat-template applies to checkpoints (a directory or a .gguf), not '" + opts.input +
          "'");
    } else {
      llvm::SourceMgr sourceMgr;
      module = parseSourceFile<ModuleOp>(opts.input, sourceMgr, context.get());
      if (!module)
        return firstError.empty()
                   ? absl::InvalidArgumentError("cannot parse '" + opts.input + "'")
                   : reported();
    }
    if (failed(verify(*module))) return reported();
    return emitModule("input", *module);
  }

  /// Canonicalize and CSE; then dispatch regions and their lowering configs.
  absl::Status graphPasses() {
    progress.phase("graph passes, dispatch regions");
    PassManager pm(context.get());
    pm.addPass(createCanonicalizerPass());
    pm.addPass(createCSEPass());
    if (failed(pm.run(*module))) return reported();
    MVC_RETURN_IF_ERROR(emitModule("graph", *module));
    if (stopped) return absl::OkStatus();
    PassManager dispatchPm(context.get());
    const BlockFormat *named = findBlockFormat(opts.dtype);
    if (named || opts.dtype == "keep") {
      QuantizeWeightsOptions quantize;
      quantize.format = opts.dtype;
      dispatchPm.addNestedPass<func::FuncOp>(createQuantizeWeights(quantize));
    }
    // CPUs with bf16 dot products read bf16 activations straight into their matmuls: the
    // rounding a bf16-weight matmul does to its lhs moves into the producer's region.
    if (!targets.gpu && cpu.codegen.bf16Dot)
      dispatchPm.addNestedPass<func::FuncOp>(createNarrowMatmulInputs());
    dispatchPm.addNestedPass<func::FuncOp>(createFormDispatchRegions());
    // Each target family's tiling decisions (the templates only read them).
    if (targets.gpu) {
      dispatchPm.addNestedPass<func::FuncOp>(createSetGpuLoweringConfig());
    } else {
      SetLoweringConfigOptions tiling;
      tiling.amxRows = cpu.codegen.amxBf16 ? 32 : 0;
      tiling.int8Rows = cpu.codegen.int8Dot && opts.decodeActivations == "int8" ? 8 : 0;
      dispatchPm.addNestedPass<func::FuncOp>(createSetLoweringConfig(tiling));
    }
    if (failed(dispatchPm.run(*module))) return reported();
    return emitModule("dispatch", *module);
  }

  /// Every program's kernels (one per dispatch region, then deduplicated), buffers and
  /// steps; the weights they need.
  absl::Status emitKernels() {
    progress.phase("kernel templates");
    kernels = ModuleOp::create(UnknownLoc::get(context.get()));
    std::unique_ptr<KernelBackend> backend = targets.gpu
                                                 ? createGpuKernelBackend(*kernels)
                                                 : createCpuKernelBackend(*kernels, cpu.codegen);
    for (auto fn : module->getOps<func::FuncOp>()) {
      FailureOr<ProgramInfo> program = compileProgram(fn, *backend, weights, manifest.states);
      if (failed(program)) return reported();
      for (const StepInfo &step : program->steps)
        if (step.kind == StepKind::Dispatch) kernelNames.push_back(step.kernel);
      manifest.programs.push_back(std::move(*program));
    }
    if (manifest.programs.empty())
      return absl::InvalidArgumentError("'" + opts.input + "' defines no func.func program");
    if (failed(verify(*kernels)))
      return absl::InternalError("internal error: generated kernels do not verify");
    // Repeated layers emit the same kernel many times: keep one of each before codegen, and
    // point the steps of the others at it.
    PassManager dedupPm(context.get());
    dedupPm.addPass(createDeduplicateKernels());
    if (failed(dedupPm.run(*kernels)))
      return absl::InternalError("internal error: deduplicating the kernels failed");
    std::map<std::string, std::string> aliases = kernelAliases(*kernels);
    for (ProgramInfo &program : manifest.programs)
      for (StepInfo &step : program.steps)
        if (step.kind == StepKind::Dispatch)
          if (auto alias = aliases.find(step.kernel); alias != aliases.end())
            step.kernel = alias->second;
    kernelNames.erase(
        std::remove_if(kernelNames.begin(), kernelNames.end(),
                       [&](const std::string &name) { return aliases.count(name) != 0; }),
        kernelNames.end());
    return emitModule("kernels", *kernels);
  }

  KernelCompiledFn onCompiled() {
    return [this](const std::string &name, double seconds) { progress.kernelDone(name, seconds); };
  }

  /// The gpu family: NVVM (the "llvm" phase), then every cuda and cuda-emu variant.
  absl::Status gpuCodegen() {
    progress.phase("lowering to NVVM");
    if (failed(lowerGpuKernelsToNVVM(*kernels)))
      return absl::InternalError("lowering the gpu kernels to NVVM failed");
    MVC_RETURN_IF_ERROR(emitModule("llvm", *kernels));
    if (stopped) return absl::OkStatus();
    GpuVariants variants{targets.cudaArchs, targets.ptxArch(), targets.emuArchs};
    progress.phase("codegen (gpu, " + std::to_string(codegenThreads()) + " threads)");
    // One job per cubin chip (and the PTX fallback's chip when it is not one of them);
    // cuda-emu compiles each kernel as a part of its own (see buildSharedObject).
    std::string ptxChip = variants.ptxArch.empty() ? "" : "sm_" + variants.ptxArch.substr(8);
    bool extraChip = !ptxChip.empty() && std::find(variants.cudaArchs.begin(),
                                                   variants.cudaArchs.end(),
                                                   ptxChip) == variants.cudaArchs.end();
    int emuParts = variants.emuArchs.empty() ? 0 : int(kernelNames.size()) + 2;
    progress.kernelsTotal(int(variants.cudaArchs.size()) + extraChip + emuParts);
    MVC_ASSIGN_OR_RETURN(GpuKernelSections built,
                         buildGpuKernelSections(*kernels, variants, kernelNames,
                                                opts.emitKernelsDir, onCompiled()));
    kernelSections = std::move(built.sections);
    manifest.target = std::move(built.target);
    return absl::OkStatus();
  }

  /// The cpu family: LLVM (the "llvm" phase is the optimized IR), one shared object.
  absl::Status cpuCodegen() {
    progress.phase("codegen (cpu, " + std::to_string(codegenThreads()) + " threads)");
    if (failed(lowerKernelsToLLVMDialect(*kernels, cpu)))
      return absl::InternalError("lowering the kernels to LLVM failed");
    std::string llvmIr;
    // Each kernel, the library-info function and the globals compile as parts of their own.
    progress.kernelsTotal(int(kernelNames.size()) + 2);
    bool wantIr = opts.compileTo == "llvm" || opts.dumpAfter == "llvm";
    MVC_ASSIGN_OR_RETURN(std::string so,
                         buildSharedObject(*kernels, cpu, kernelNames, wantIr ? &llvmIr : nullptr,
                                           onCompiled()));
    MVC_RETURN_IF_ERROR(emitPhase("llvm", [&](llvm::raw_ostream &os) { os << llvmIr; }));
    if (stopped) return absl::OkStatus();
    if (!opts.emitKernelsDir.empty()) {
      llvm::sys::fs::create_directories(opts.emitKernelsDir);
      std::ofstream(opts.emitKernelsDir + "/kernels.cpu.so", std::ios::binary) << so;
    }
    kernelSections.push_back({"kernels.cpu", std::move(so)});
    manifest.target = {"cpu", cpu.cpuName, cpu.required, {}};
    return absl::OkStatus();
  }

  /// The manifest, the kernel sections, the weights (streamed while the file is written)
  /// and the architecture's extra sections, written atomically.
  absl::Status writeArtifact() {
    // Weights: each at a 64-byte aligned offset of the weights section. Sizes follow from
    // shapes and layouts, so the table goes into the manifest before any value is read.
    const std::vector<WeightEntry> &entries = weights.entries();
    std::vector<uint64_t> weightOffsets;
    uint64_t weightsBytes = 0;
    for (const WeightEntry &w : entries) {
      weightsBytes = (weightsBytes + 63) / 64 * 64;
      uint64_t size = weightByteSize(w);
      // A block-format weight's bytes are its blocks: the manifest says u8 and the layout.
      DType dtype = w.layout == WeightLayout::BlocksN16 ? DType::U8
                                                       : storedDType(w.type.getElementType());
      manifest.weights.push_back({w.artifactName, dtype,
                                  w.type.getShape().vec(), layoutName(w), weightsBytes,
                                  size});
      weightOffsets.push_back(weightsBytes);
      weightsBytes += size;
    }
    manifest.producer = "mvc-compile 0.1";
    manifest.sourcePath = opts.input;
    manifest.loadSymbols = {{"num_pages", opts.kvPages}};

    ArtifactWriter writer;
    MVC_RETURN_IF_ERROR(writer.addSection("manifest", writeManifest(manifest)));
    for (auto &[name, bytes] : kernelSections) MVC_RETURN_IF_ERROR(writer.addSection(name, bytes));
    // A weight's own error (a missing or misshapen tensor) is reported as it is; the
    // writer's errors (disk full) name the file.
    absl::Status weightError;
    auto streamWeights = [&](const ArtifactWriter::Sink &sink) -> absl::Status {
      uint64_t written = 0, packed = 0;
      WeightStreamer streamer{opts, checkpoint.get(), sink, [&](uint64_t bytes) {
                                packed += bytes;
                                progress.weights(written + packed, weightsBytes);
                              }};
      for (size_t i = 0; i < entries.size(); ++i) {
        static const char zeros[64] = {};
        MVC_RETURN_IF_ERROR(sink(zeros, weightOffsets[i] - written));
        written = weightOffsets[i];
        absl::StatusOr<uint64_t> size = streamer.write(entries[i]);
        if (!size.ok()) {
          weightError = size.status();
          return weightError;
        }
        if (*size != weightByteSize(entries[i])) {
          weightError = absl::InternalError(
              "internal error: weight '" + entries[i].artifactName + "' packed to " +
              std::to_string(*size) + " bytes, the table says " +
              std::to_string(weightByteSize(entries[i])));
          return weightError;
        }
        written += *size;
        packed = 0;
      }
      return absl::OkStatus();
    };
    MVC_RETURN_IF_ERROR(writer.addSection("weights", streamWeights, /*lazyChecksum=*/true));
    for (auto &[name, bytes] : extraSections) MVC_RETURN_IF_ERROR(writer.addSection(name, bytes));
    progress.phase("weights, writing the artifact");
    if (absl::Status status = writer.write(opts.output); !status.ok())
      return weightError.ok() ? status : weightError;
    progress.finish();
    if (opts.timings) std::cerr << progress.report();
    return absl::OkStatus();
  }

  const CompileOptions &opts;
  CompileProgress progress;
  TargetSet targets;
  CpuSpec cpu;
  std::unique_ptr<MLIRContext> context;
  std::unique_ptr<ScopedDiagnosticHandler> handler;
  std::string firstError;
  bool stopped = false;
  // The input.
  OwningOpRef<ModuleOp> module;
  std::unique_ptr<CheckpointSource> checkpoint;
  std::vector<std::pair<std::string, std::string>> extraSections;
  // Kernels and schedules.
  OwningOpRef<ModuleOp> kernels;
  WeightTable weights;
  std::vector<std::string> kernelNames;
  std::vector<std::pair<std::string, std::string>> kernelSections;
  // What the artifact's manifest says, filled phase by phase: the source (readInput), the
  // programs and states (emitKernels), the target (codegen), the weights (writeArtifact).
  Manifest manifest = graphManifest();
};

} // namespace

int runCompile(const CompileOptions &opts) {
  absl::Status status = Compilation(opts).run();
  if (status.ok()) return 0;
  if (!status.message().empty()) std::cerr << "mvc-compile: error: " << status.message() << "\n";
  return 1;
}

} // namespace mvc
