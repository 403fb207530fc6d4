//===- Compile.h - the phases of mvc-compile ----------------------*- C++ -*-===//
//
//   input     parse and verify the mvc graph
//   graph     canonicalize + CSE
//   dispatch  ops grouped into dispatch regions (one kernel each)
//   kernels   the kernels in scf/vector/memref, before LLVM lowering
//   llvm      the optimized LLVM IR of the kernel library
//   artifact  the .mvc file (the default end)
//
//===----------------------------------------------------------------------===//
#ifndef MVC_COMPILER_PIPELINES_COMPILE_H
#define MVC_COMPILER_PIPELINES_COMPILE_H

#include <cstdint>
#include <optional>
#include <string>

namespace mvc {

struct CompileOptions {
  std::string input;                      // an .mlir graph or an HF checkpoint directory
  std::string output;
  std::string target = "cpu";
  std::string cpu = "native";
  std::string weightsDir;                 // NAME.npy per weight
  std::optional<uint64_t> randomSeed;     // shape-only builds
  std::string compileTo = "artifact";
  std::string dumpAfter;
  int64_t kvPages = 64;
  std::string dtype;                      // f32 | bf16 | q8_0; default bf16 (checkpoints), as declared (.mlir)
  std::string kvDtype;                    // f32 | bf16; default: bf16, f32 with --dtype f32 or keep
  std::string decodeActivations = "int8"; // int8 | f32: block-format matmuls of few rows (cpu)
  int64_t pageSize = 16;                  // KV page size of checkpoint builds
  std::string emitKernelsDir;
  std::string chatTemplate;               // checkpoints: a .jinja file or a tokenizer_config.json
  bool quiet = false;                     // no progress on stderr
  bool timings = false;                   // a summary of where the time went, on stderr
  int jobs = 0;                           // kernel-compile threads; 0 = the machine's cores
  bool exposeRouting = false;             // MoE routing as extra forward outputs (checks)
};

/// Runs mvc-compile; prints one-line errors to stderr; returns the process exit code.
int runCompile(const CompileOptions &options);

bool isPhase(const std::string &name);

} // namespace mvc

#endif
