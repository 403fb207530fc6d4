//===- GraphBuilder.h - the C++ API architectures build graphs with -*- C++ -*-===//
//
// Thin, typed helpers over mvc ops: result types are derived from the operands, dynamic
// dimensions are named once at the program inputs, weights and states are referenced by
// name. An architecture's graph file reads like the model card with this.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_COMPILER_BUILDER_GRAPHBUILDER_H
#define MVC_COMPILER_BUILDER_GRAPHBUILDER_H

#include "dialects/mvc/IR/MvcOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

#include <string>
#include <vector>

namespace mvc {

/// A dimension of a program input: a fixed size or the name of a dynamic size.
struct Dim {
  Dim(int64_t size) : size(size) {}                       // NOLINT
  Dim(const char *name) : size(mlir::ShapedType::kDynamic), name(name) {}  // NOLINT
  int64_t size;
  std::string name;
};

struct ProgramInput {
  std::string name;
  std::vector<Dim> shape;
  mlir::Type elementType;
};

class GraphBuilder {
public:
  explicit GraphBuilder(mlir::ModuleOp module);

  /// The model part ops built from here on belong to (e.g. "ple", "attention"), until
  /// another part or none: their location carries it (a NameLoc), the dispatch step whose
  /// root op it is records it in the manifest, and mvc-run/mvc-bench --profile total the
  /// time per part. Empty: no part.
  void setPart(llvm::StringRef part);

  mlir::MLIRContext *context() { return b.getContext(); }
  mlir::Type f32() { return b.getF32Type(); }
  mlir::Type bf16() { return b.getBF16Type(); }
  mlir::Type i32() { return b.getI32Type(); }

  /// Starts a program (a func.func); returns its inputs in order.
  std::vector<mlir::Value> beginProgram(const std::string &name,
                                        const std::vector<ProgramInput> &inputs);
  /// Ends the program with named outputs.
  void endProgram(const std::vector<std::pair<std::string, mlir::Value>> &outputs);

  mlir::Value weight(const std::string &name, llvm::ArrayRef<int64_t> shape, mlir::Type type);
  /// A checkpoint tensor of shape `sourceShape` read row-major as `shape`.
  mlir::Value reshapedWeight(const std::string &name, llvm::ArrayRef<int64_t> shape,
                             llvm::ArrayRef<int64_t> sourceShape, mlir::Type type);
  /// A persistent state; a dynamic leading dim is the KV page count.
  mlir::Value state(const std::string &name, llvm::ArrayRef<int64_t> shape, mlir::Type type);
  mlir::Value constant(llvm::ArrayRef<float> values);
  mlir::Value constant(llvm::ArrayRef<float> values, llvm::ArrayRef<int64_t> shape);
  mlir::Value constantI32(llvm::ArrayRef<int32_t> values, llvm::ArrayRef<int64_t> shape);

  mlir::Value matmul(mlir::Value x, mlir::Value w, bool transposeB = true);
  /// Rows groups[e] .. groups[e+1] of x times expert e's matrix of w ([E, N, K] when
  /// transposeB, else [E, K, N]).
  mlir::Value groupedMatmul(mlir::Value x, mlir::Value w, mlir::Value groups,
                            bool transposeB = true);
  /// mvc.moe_route's results (see its description).
  struct MoeRoute {
    mlir::Value weights, slots, rows, groups;
  };
  /// `expertScale` ([E] f32, or null) multiplies each choice's weight by its expert's entry.
  MoeRoute moeRoute(mlir::Value logits, int64_t topK, bool normalize,
                    mlir::Value expertScale = {});
  /// Each token's weighted sum of its experts' rows.
  mlir::Value moeCombine(mlir::Value expertRows, mlir::Value weights, mlir::Value slots);
  mlir::Value add(mlir::Value a, mlir::Value b);
  mlir::Value mul(mlir::Value a, mlir::Value b);
  mlir::Value sub(mlir::Value a, mlir::Value b);
  /// Elementwise max / min (a one-element `b` is a scalar): clamp(x, lo, hi) is
  /// minimum(maximum(x, lo), hi), as torch.clamp.
  mlir::Value maximum(mlir::Value a, mlir::Value b);
  mlir::Value minimum(mlir::Value a, mlir::Value b);
  mlir::Value gelu(mlir::Value x, bool tanhApprox);
  mlir::Value silu(mlir::Value x);
  mlir::Value scale(mlir::Value x, float factor);
  mlir::Value softcap(mlir::Value x, float cap);
  mlir::Value rmsNorm(mlir::Value x, mlir::Value w, float eps, float offset);
  mlir::Value layerNorm(mlir::Value x, mlir::Value gamma, mlir::Value beta, float eps);
  /// cos/sin of positions × inv_freq, [T, 2R]; build once, share across layers.
  mlir::Value ropeTable(mlir::Value positions, mlir::Value invFreq);
  /// M-RoPE: positions [T, A], frequency i by axis axes[i] ([R] i32).
  mlir::Value ropeTable(mlir::Value positions, mlir::Value invFreq, mlir::Value axes);
  mlir::Value rope(mlir::Value x, mlir::Value table);
  mlir::Value gather(mlir::Value table, mlir::Value ids);
  /// result[t] = sum_j weights[t][j] · table[ids[t][j]] (ids and weights [T, J]).
  mlir::Value weightedGather(mlir::Value table, mlir::Value ids, mlir::Value weights);
  mlir::Value reshape(mlir::Value x, llvm::ArrayRef<int64_t> shape);  // -1 keeps the dynamic dim
  mlir::Value transpose(mlir::Value x, llvm::ArrayRef<int64_t> permutation);
  /// x[..., start : start + size, ...] along `axis`.
  mlir::Value slice(mlir::Value x, int64_t axis, int64_t start, int64_t size);
  /// `inputs` joined along `axis` (static sizes there).
  mlir::Value concat(llvm::ArrayRef<mlir::Value> inputs, int64_t axis);
  /// `x` converted to element type `type` (round to nearest even).
  mlir::Value cast(mlir::Value x, mlir::Type type);
  /// Rows of `base` replaced by rows of `rows` where `source` >= 0.
  mlir::Value mergeRows(mlir::Value base, mlir::Value rows, mlir::Value source);
  /// base[t] + rows[source[t]] where source[t] >= 0, else base[t].
  mlir::Value addRows(mlir::Value base, mlir::Value rows, mlir::Value source);
  mlir::Value kvWrite(mlir::Value values, mlir::Value cache, mlir::Value blockTable,
                      mlir::Value rowOffsets, mlir::Value cacheLens);
  struct AttentionOptions {
    float scale = 1.0f;
    float softcap = 0.0f;
    int64_t slidingWindow = 0;
    mlir::Value groupSpans;        // [T, 2] bidirectional groups, or null
    bool groupWindowClip = false;  // the window's left bound applies to group keys too
  };
  mlir::Value attention(mlir::Value q, mlir::Value kCache, mlir::Value vCache,
                        mlir::Value blockTable, mlir::Value rowOffsets, mlir::Value cacheLens,
                        const AttentionOptions &options);
  /// An encoder's attention over equal segments (mvc.attention without tables): q
  /// [S·L, heads, D], k and v [S, L, kv_heads, D]; every row sees its segment's keys (those
  /// whose entry of keyMask [S, L] i32 is nonzero, when given).
  mlir::Value segmentAttention(mlir::Value q, mlir::Value k, mlir::Value v, float scale,
                               mlir::Value keyMask = {});
  /// Bidirectional attention within segments of any lengths: q [T, heads, D], k and v
  /// [T, kv_heads, D], segments [S + 1] i32 row offsets.
  mlir::Value varlenAttention(mlir::Value q, mlir::Value k, mlir::Value v, mlir::Value segments,
                              float scale);

private:
  mlir::RankedTensorType typeOf(mlir::Value v) {
    return mlir::cast<mlir::RankedTensorType>(v.getType());
  }
  mlir::OpBuilder b;
  mlir::Location loc;
  mlir::ModuleOp module;
  mlir::func::FuncOp current;
};

} // namespace mvc

#endif
