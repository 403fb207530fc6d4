//===- ProgramCompiler.h - a program's kernels, buffers and steps -*- C++ -*-===//
//
// Turns one `func.func` whose ops are grouped into dispatch regions into: kernels (added
// to the kernel module), the weights it needs in the layouts its kernels want, the states
// it uses, and the manifest entry of the program (symbols, inputs, outputs, buffers with
// live ranges, steps with symbolic workgroup counts and push constants).
//
//===----------------------------------------------------------------------===//
#ifndef MVC_COMPILER_SCHEDULE_PROGRAMCOMPILER_H
#define MVC_COMPILER_SCHEDULE_PROGRAMCOMPILER_H

#include "compiler/Codegen/Common/KernelTypes.h"
#include "runtime/artifact/Manifest.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"

#include <map>

#include "runtime/artifact/BlockFormat.h"

namespace mvc {

/// A weight the artifact must hold: where its values come from and how to lay them out.
struct WeightEntry {
  std::string artifactName;        // unique in the artifact, e.g. "w.q#packed_n16"
  std::string sourceName;          // the checkpoint name (empty for constants)
  mlir::RankedTensorType type;     // logical type (element type = stored dtype)
  WeightLayout layout = WeightLayout::RowMajor;
  bool transposed = false;         // matmul rhs stored [K, N] rather than [N, K]
  mlir::DenseElementsAttr constant; // set for arith.constant tensors
  std::vector<int64_t> sourceShape; // the checkpoint's shape when it differs (mvc.weight source_shape)
  const BlockFormat *blockFormat = nullptr; // BlocksN16: the weight's format (mvc.weight format)
};

class WeightTable {
public:
  /// Registers (once) and returns the position in entries(), the manifest's weight index.
  size_t request(WeightEntry entry);
  const std::vector<WeightEntry> &entries() const { return list; }

private:
  std::vector<WeightEntry> list;
  std::map<std::string, size_t> byName;
};

/// The program's manifest entry. Buffer ids are their positions; a weight buffer's index
/// is its position in `weights`, a state buffer's in `states`, the manifest's list of states
/// shared by all programs (a state the program uses first is appended).
mlir::FailureOr<ProgramInfo> compileProgram(mlir::func::FuncOp fn, KernelBackend &backend,
                                            WeightTable &weights,
                                            std::vector<TensorInfo> &states);

const char *layoutName(WeightLayout layout);
/// The manifest's layout of an entry: layoutName, or "<format>_n16" for blocks.
std::string layoutName(const WeightEntry &entry);

} // namespace mvc

#endif
