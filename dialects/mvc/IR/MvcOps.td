//===- MvcOps.td - ops of the mvc dialect -------------------*- tablegen -*-===//
#ifndef MVC_OPS_TD
#define MVC_OPS_TD

include "MvcBase.td"
include "MvcInterfaces.td"
include "mlir/IR/BuiltinAttributes.td"
include "mlir/IR/OpBase.td"
include "mlir/IR/CommonTypeConstraints.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"

//===----------------------------------------------------------------------===//
// Named values: weights and persistent state
//===----------------------------------------------------------------------===//

def Mvc_WeightOp : Mvc_Op<"weight", [Pure]> {
  let summary = "A checkpoint tensor, referenced by name (never inlined)";
  let description = [{
    `source_shape`, when present, is the tensor's shape in the checkpoint, which the graph
    reads row-major with the result's shape (same element count), e.g. a patch-embedding
    Conv2d kernel [H, C, p, p] used as the matmul weight [H, C·p·p].

    `format`, when present, is the block format the weight is stored in; the result is
    its dequantized values (f32). `q8_0` is ggml's Q8_0: blocks of 32 values along the
    last axis, each an f16 scale d and 32 int8 q (value = d·q). Only the transposed rhs
    ([N, K], K a multiple of 32) of ungrouped matmuls and the table of unweighted gathers
    (a tied embedding and LM head) may read such a weight: their kernels decode the blocks
    as they go (--mvc-quantize-weights sets it).
  }];
  let arguments = (ins StrAttr:$name, OptionalAttr<DenseI64ArrayAttr>:$source_shape,
                       OptionalAttr<StrAttr>:$format);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Mvc_StateOp : Mvc_Op<"state"> {
  let summary = "Persistent state of a loaded model (a KV cache pool), by name";
  let description = [{
    The leading dimension may be dynamic; it is then the number of KV pages, fixed when
    the model is loaded.
  }];
  let arguments = (ins StrAttr:$name);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
}

//===----------------------------------------------------------------------===//
// Linear algebra
//===----------------------------------------------------------------------===//

def Mvc_MatmulOp : Mvc_Op<"matmul", [Pure, DeclareOpInterfaceMethods<Mvc_KernelOpInterface, ["getDispatchKind"]>]> {
  let summary = "y = x · W (or x · Wᵀ with transpose_b), x: [M, K]";
  let description = [{
    With `transpose_b`, W is stored `[N, K]` as in `nn.Linear`; otherwise `[K, N]`.
    Accumulation is always f32. When W is bf16 the products are bf16 × bf16: the lhs is
    rounded to bf16 (nearest even) too, as a bf16 model computes them.

    With `groups` (`[E + 1]` i32, from mvc.moe_route) the matmul is grouped: W holds one
    matrix per expert (`[E, N, K]` with `transpose_b`, else `[E, K, N]`), and rows
    `groups[e] .. groups[e + 1]` of x (sorted by expert) are multiplied by expert e's
    matrix only. The row counts are known at run time; no work is spent on experts that
    received no rows.
  }];
  let arguments = (ins Mvc_FloatTensor:$lhs, Mvc_FloatTensor:$rhs,
                       Optional<Mvc_IndexTensor>:$groups, UnitAttr:$transpose_b);
  let results = (outs Mvc_FloatTensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs (`groups` `(` $groups^ `)`)? attr-dict `:` functional-type(operands, results)
  }];
  let extraClassDeclaration = [{
    /// The number of experts of a grouped matmul, 0 for a plain one.
    int64_t getNumGroups() {
      return getGroups() ? ::mlir::cast<::mlir::RankedTensorType>(getRhs().getType()).getDimSize(0) : 0;
    }
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

class Mvc_BinaryOp<string mnemonic> : Mvc_Op<mnemonic, [Pure, Mvc_KernelOpInterface, Mvc_Elementwise]> {
  let description = [{
    `rhs` has the shape of `lhs` or of a suffix of it (broadcast over leading dims), or is
    a one-element `[1]` tensor (a scalar broadcast to every element, e.g. Gemma 4's
    `layer_scalar`).
  }];
  let arguments = (ins Mvc_FloatTensor:$lhs, Mvc_FloatTensor:$rhs);
  let results = (outs Mvc_FloatTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)";
  let hasVerifier = 1;
}
def Mvc_AddOp : Mvc_BinaryOp<"add"> { let summary = "lhs + rhs"; }
def Mvc_SubOp : Mvc_BinaryOp<"sub"> { let summary = "lhs - rhs"; }
def Mvc_MulOp : Mvc_BinaryOp<"mul"> { let summary = "lhs * rhs"; }
def Mvc_DivOp : Mvc_BinaryOp<"div"> { let summary = "lhs / rhs"; }
def Mvc_MaximumOp : Mvc_BinaryOp<"maximum"> { let summary = "max(lhs, rhs), NaN if either is (torch.clamp's lower bound)"; }
def Mvc_MinimumOp : Mvc_BinaryOp<"minimum"> { let summary = "min(lhs, rhs), NaN if either is (torch.clamp's upper bound)"; }

class Mvc_UnaryOp<string mnemonic, list<Trait> traits = []>
    : Mvc_Op<mnemonic, !listconcat([Pure, SameOperandsAndResultType, Mvc_KernelOpInterface, Mvc_Elementwise],
                                   traits)> {
  let arguments = (ins Mvc_FloatTensor:$input);
  let results = (outs Mvc_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}
def Mvc_SiluOp : Mvc_UnaryOp<"silu"> { let summary = "x · sigmoid(x)"; }
def Mvc_TanhOp : Mvc_UnaryOp<"tanh"> { let summary = "tanh(x)"; }
def Mvc_ExpOp : Mvc_UnaryOp<"exp"> { let summary = "exp(x)"; }
def Mvc_NegOp : Mvc_UnaryOp<"neg"> { let summary = "-x"; }
def Mvc_GeluOp : Mvc_UnaryOp<"gelu"> {
  let summary = "GELU, exact (erf) or the tanh approximation";
  let arguments = (ins Mvc_FloatTensor:$input, DefaultValuedStrAttr<StrAttr, "none">:$approximate);
  let hasVerifier = 1;
}
def Mvc_ScaleOp : Mvc_UnaryOp<"scale"> {
  let summary = "x · factor";
  let arguments = (ins Mvc_FloatTensor:$input, F32Attr:$factor);
  let hasFolder = 1;
}
def Mvc_SoftcapOp : Mvc_UnaryOp<"softcap"> {
  let summary = "cap · tanh(x / cap)";
  let arguments = (ins Mvc_FloatTensor:$input, F32Attr:$cap);
  let hasVerifier = 1;
}

def Mvc_CastOp : Mvc_Op<"cast", [Pure, Mvc_KernelOpInterface, Mvc_Elementwise]> {
  let summary = "Element type conversion (round to nearest even)";
  let arguments = (ins Mvc_FloatTensor:$input);
  let results = (outs Mvc_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Normalization, softmax, RoPE (all over the last dimension)
//===----------------------------------------------------------------------===//

def Mvc_RmsNormOp : Mvc_Op<"rms_norm", [Pure, Mvc_KernelOpInterface]> {
  let summary = "x / sqrt(mean(x²) + eps) · (offset + w), in f32";
  let description = [{
    Without `weight` the result is only normalized (Gemma 4's `with_scale=False`).
    `offset` is 1.0 for Gemma 3's `(1 + w)` and 0.0 for Llama-style `w`.
  }];
  let arguments = (ins Mvc_FloatTensor:$input, Optional<Mvc_FloatTensor>:$weight,
                       F32Attr:$eps, DefaultValuedAttr<F32Attr, "0.0f">:$offset);
  let results = (outs Mvc_FloatTensor:$result);
  let assemblyFormat = "$input (`,` $weight^)? attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Mvc_LayerNormOp : Mvc_Op<"layer_norm", [Pure, Mvc_KernelOpInterface]> {
  let summary = "(x - mean) / sqrt(var + eps) · gamma + beta, biased variance, in f32";
  let arguments = (ins Mvc_FloatTensor:$input, Mvc_FloatTensor:$gamma, Mvc_FloatTensor:$beta,
                       F32Attr:$eps);
  let results = (outs Mvc_FloatTensor:$result);
  let assemblyFormat = "$input `,` $gamma `,` $beta attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Mvc_SoftmaxOp : Mvc_Op<"softmax", [Pure, SameOperandsAndResultType, Mvc_KernelOpInterface]> {
  let summary = "softmax over the last dimension, in f32";
  let arguments = (ins Mvc_FloatTensor:$input);
  let results = (outs Mvc_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Mvc_RopeTableOp : Mvc_Op<"rope_table", [Pure, Mvc_KernelOpInterface]> {
  let summary = "cos and sin of positions × a RoPE frequency table";
  let description = [{
    `positions` is `[T]`, `inv_freq` `[R]`; result row t is
    `[cos(a_0) … cos(a_{R-1}), sin(a_0) … sin(a_{R-1})]` with `a_i = positions[t] · inv_freq[i]`
    rounded to f32 first, as HF computes it. One table serves every layer that uses the same
    positions and frequencies (CSE merges them).
    With `axes` (`[R]` i32, usually a constant) the positions are `[T, A]`, one per axis
    (M-RoPE: time, height, width), and frequency i rotates by axis `axes[i]`'s position:
    `a_i = positions[t][axes[i]] · inv_freq[i]` (Qwen3-VL's interleaved sections).
  }];
  let arguments = (ins Mvc_IndexTensor:$positions, RankedTensorOf<[F32]>:$inv_freq,
                       Optional<Mvc_IndexTensor>:$axes);
  let results = (outs RankedTensorOf<[F32]>:$result);
  let assemblyFormat = [{
    $positions `,` $inv_freq (`axes` `(` $axes^ `)`)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Mvc_RopeOp : Mvc_Op<"rope", [Pure, Mvc_KernelOpInterface]> {
  let summary = "Rotary position embedding from a rope_table, rotate-half pairing";
  let description = [{
    `input` is `[T, heads, D]`, `table` `[T, 2R]` (from mvc.rope_table) with `2R <= D`. For
    `i < R` the pair `(i, i + R)` of every head of token t is rotated by the angle whose
    cos/sin are `table[t][i]`, `table[t][R + i]`; dimensions from `2R` on pass through.
    Zero frequencies leave their pair unchanged (Gemma 4's proportional RoPE). `pairing` is
    kept for later variants ("interleaved").
  }];
  let arguments = (ins Mvc_FloatTensor:$input, RankedTensorOf<[F32]>:$table,
                       DefaultValuedStrAttr<StrAttr, "rotate_half">:$pairing);
  let results = (outs Mvc_FloatTensor:$result);
  let assemblyFormat = "$input `,` $table attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

def Mvc_GatherOp : Mvc_Op<"gather", [Pure,
    DeclareOpInterfaceMethods<Mvc_KernelOpInterface, ["getRowOperands"]>]> {
  let summary = "Embedding lookup: result[t] = table[ids[t]]";
  let description = [{
    With `weights` (`[T, J]` f32) the ids are `[T, J]` and each row is a weighted sum of J
    table rows, in j order: `result[t] = sum_j weights[t][j] · table[ids[t][j]]` (PyTorch's
    embedding_bag with per-sample weights; Qwen3-VL's bilinear interpolation of its learned
    position table, four taps per patch).
  }];
  let arguments = (ins Mvc_FloatTensor:$table, Mvc_IndexTensor:$ids,
                       Optional<RankedTensorOf<[F32]>>:$weights);
  let results = (outs Mvc_FloatTensor:$result);
  let assemblyFormat = [{
    $table `,` $ids (`weights` `(` $weights^ `)`)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Mvc_MergeRowsOp : Mvc_Op<"merge_rows", [Pure,
    DeclareOpInterfaceMethods<Mvc_KernelOpInterface, ["getRowOperands"]>]> {
  let summary = "result[t] = source[t] < 0 ? base[t] : rows[source[t]]";
  let description = [{
    Puts rows computed elsewhere (image features) in place of some rows of `base` (token
    embeddings): `source` `[T]` names, per row, the row of `rows` `[N, H]` that replaces it,
    or -1 to keep the row of `base` `[T, H]`. With `accumulate` the row is added to the
    base row instead (`base[t] + rows[source[t]]`: Qwen3-VL's deepstack features added to
    the hidden states at the image tokens).
  }];
  let arguments = (ins Mvc_FloatTensor:$base, Mvc_FloatTensor:$rows, Mvc_IndexTensor:$source,
                       UnitAttr:$accumulate);
  let results = (outs Mvc_FloatTensor:$result);
  let assemblyFormat = "$base `,` $rows `,` $source attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Mvc_ReshapeOp : Mvc_Op<"reshape", [Pure]> {
  let summary = "Same elements, new shape (row-major)";
  let arguments = (ins AnyRankedTensor:$input);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Mvc_TransposeOp : Mvc_Op<"transpose", [Pure, DeclareOpInterfaceMethods<Mvc_KernelOpInterface, ["getDispatchKind"]>]> {
  let summary = "Permute dimensions: result dim i is input dim permutation[i]";
  let arguments = (ins AnyRankedTensor:$input, DenseI64ArrayAttr:$permutation);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input $permutation attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Mvc_SliceOp : Mvc_Op<"slice", [Pure, DeclareOpInterfaceMethods<Mvc_KernelOpInterface, ["getDispatchKind"]>]> {
  let summary = "result = input[..., start : start + size, ...] along `axis`";
  let arguments = (ins AnyRankedTensor:$input, I64Attr:$axis, I64Attr:$start, I64Attr:$size);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Mvc_ConcatOp : Mvc_Op<"concat", [Pure, DeclareOpInterfaceMethods<Mvc_KernelOpInterface, ["getDispatchKind"]>]> {
  let summary = "Concatenate along `axis`";
  let arguments = (ins Variadic<AnyRankedTensor>:$inputs, I64Attr:$axis);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$inputs attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Attention over a ragged batch and a paged KV cache
//===----------------------------------------------------------------------===//

def Mvc_KvWriteOp : Mvc_Op<"kv_write", [Pure, DeclareOpInterfaceMethods<Mvc_KernelOpInterface, ["getDispatchKind"]>]> {
  let summary = "Store new keys or values into a paged cache";
  let description = [{
    `values` is `[T, kv_heads, D]` for the tokens of a ragged batch (sequence b owns rows
    `row_offsets[b] .. row_offsets[b+1]`); the token at row `row_offsets[b] + i` is stored
    at position `cache_lens[b] + i` of sequence b, i.e. page
    `block_table[b][pos / page_size]`, slot `pos % page_size`. `cache` is
    `[pages, page_size, kv_heads, D]`; the result is the updated cache (written in place).
  }];
  let arguments = (ins Mvc_FloatTensor:$values, Mvc_FloatTensor:$cache,
                       Mvc_IndexTensor:$block_table, Mvc_IndexTensor:$row_offsets,
                       Mvc_IndexTensor:$cache_lens);
  let results = (outs Mvc_FloatTensor:$result);
  let assemblyFormat = [{
    $values `into` $cache `pages` `(` $block_table `,` $row_offsets `,` $cache_lens `)`
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Mvc_AttentionOp : Mvc_Op<"attention", [Pure, AttrSizedOperandSegments, DeclareOpInterfaceMethods<Mvc_KernelOpInterface, ["getDispatchKind"]>]> {
  let summary = "Fused attention (online softmax) over a ragged batch and paged KV cache";
  let description = [{
    `query` is `[T, heads, D]`; caches are `[pages, page_size, kv_heads, D]` and already hold
    this step's keys and values. Query row `row_offsets[b] + i` sits at absolute position
    `q = cache_lens[b] + i` of sequence b and sees keys `k` of that sequence with
      k <= q                        (always),
      k > q - sliding_window        (when sliding_window > 0),
    or, with `group_spans` (`[T, 2]`: the absolute positions `[start, end)` of the
    bidirectional group the query row belongs to, `start >= end` for none), any k of its
    group: an image span attends to itself both ways. `group_window_clip` applies the
    window's left bound `k > q - sliding_window` to the group keys too (transformers >= 5.13:
    `(causal OR group) AND window`); without it a group crosses the window
    (`(causal AND window) OR group`).
    Without the three tables the op is an encoder's attention over equal segments: page s
    of the "caches" (the keys and values themselves, `[segments, page_size, kv_heads, D]`)
    is segment s, query rows `s * page_size ..` are its rows (T = segments x page_size),
    and every row sees every key of its segment (bidirectional; no group spans, no
    window). The frames of a vision tower run this way in one call. There, `key_mask`
    (`[segments, page_size]`, i32) hides the keys whose entry is 0 (a frame's padding
    patches): their scores become the lowest f32, as transformers' additive mask makes
    them, so a segment with no visible key averages all its keys evenly.
    With `segments` (`[S + 1]` i32 row offsets) instead of the tables, the segments have
    any lengths: segment s is rows `segments[s] .. segments[s+1]` of the query and of the
    "caches", which are the keys and values themselves as pages of one row
    (`[T, 1, kv_heads, D]`); every row sees every key of its segment (bidirectional; no
    group spans, window or key mask). Vision towers at their native resolutions (Qwen3-VL:
    images of different sizes, a video's temporal patches) run this way in one call.
    Scores are `scale · q·k`, then `softcap · tanh(s / softcap)` when softcap > 0. Query
    head h reads KV head `h / (heads / kv_heads)` (GQA).
  }];
  let arguments = (ins Mvc_FloatTensor:$query, Mvc_FloatTensor:$key_cache,
                       Mvc_FloatTensor:$value_cache, Optional<Mvc_IndexTensor>:$block_table,
                       Optional<Mvc_IndexTensor>:$row_offsets, Optional<Mvc_IndexTensor>:$cache_lens,
                       Optional<Mvc_IndexTensor>:$group_spans,
                       Optional<Mvc_IndexTensor>:$key_mask,
                       Optional<Mvc_IndexTensor>:$segments,
                       F32Attr:$scale, DefaultValuedAttr<F32Attr, "0.0f">:$softcap,
                       DefaultValuedAttr<I64Attr, "0">:$sliding_window,
                       UnitAttr:$group_window_clip);
  let results = (outs Mvc_FloatTensor:$result);
  let assemblyFormat = [{
    $query `,` $key_cache `,` $value_cache (`pages` `(` $block_table^ `,` $row_offsets `,`
    $cache_lens `)`)? (`groups` `(` $group_spans^ `)`)? (`key_mask` `(` $key_mask^ `)`)?
    (`segments` `(` $segments^ `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// No tables: bidirectional attention within equal segments (one per cache page).
    bool isSegmented() { return !getBlockTable() && !getSegments(); }
    /// `segments`: bidirectional attention within segments of any lengths.
    bool isVarlen() { return bool(getSegments()); }
  }];
}

//===----------------------------------------------------------------------===//
// Mixture of experts
//===----------------------------------------------------------------------===//

def Mvc_MoeRouteOp : Mvc_Op<"moe_route", [Pure, DeclareOpInterfaceMethods<Mvc_KernelOpInterface, ["getDispatchKind"]>]> {
  let summary = "Top-k expert routing and the sort of the chosen (token, expert) pairs";
  let description = [{
    `logits` is the router's `[T, E]` output. Per token: softmax over the E experts in
    f32, the `top_k` largest probabilities (ties to the lower expert), divided by their
    sum when `normalize` (the sum taken in descending order of probability, as
    `topk(...).sum()`), then multiplied by `expert_scale[e]` of its expert when that `[E]`
    f32 operand is given (Gemma 4's `per_expert_scale`). Results:
      - `weights` `[T, top_k]` f32: the routing weights of the token's chosen experts, in
        ascending expert order;
      - `slots` `[T, top_k]` i32: where each of those choices sits in the sorted order;
      - `rows` `[T * top_k]` i32: the token of each sorted choice;
      - `groups` `[E + 1]` i32: expert e's choices are sorted rows `groups[e] .. groups[e+1]`.
    The sort is stable (tokens in order within an expert), so results never depend on
    how a batch was split across threads. `rows` feeds mvc.gather (the tokens in expert
    order), `groups` a grouped mvc.matmul, `weights` and `slots` mvc.moe_combine.
  }];
  let arguments = (ins RankedTensorOf<[F32]>:$logits, Optional<RankedTensorOf<[F32]>>:$expert_scale,
                       I64Attr:$top_k, DefaultValuedAttr<BoolAttr, "true">:$normalize);
  let results = (outs RankedTensorOf<[F32]>:$weights, Mvc_IndexTensor:$slots,
                      Mvc_IndexTensor:$rows, Mvc_IndexTensor:$groups);
  let assemblyFormat = [{
    $logits (`scale` `(` $expert_scale^ `:` type($expert_scale) `)`)? attr-dict `:` type($logits)
    `->` type(results)
  }];
  let hasVerifier = 1;
}

def Mvc_MoeCombineOp : Mvc_Op<"moe_combine", [Pure,
    DeclareOpInterfaceMethods<Mvc_KernelOpInterface, ["getRowOperands"]>]> {
  let summary = "result[t] = sum_j weights[t][j] · expert_rows[slots[t][j]]";
  let description = [{
    Gathers each token's `top_k` expert outputs (rows of `expert_rows` `[T * top_k, H]`,
    in expert order) back to the token and sums them weighted, in j order (ascending
    expert, as transformers' per-expert `index_add_`), in f32.
  }];
  let arguments = (ins Mvc_FloatTensor:$expert_rows, RankedTensorOf<[F32]>:$weights,
                       Mvc_IndexTensor:$slots);
  let results = (outs Mvc_FloatTensor:$result);
  let assemblyFormat = "$expert_rows `,` $weights `,` $slots attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Dispatch regions (formed by --mvc-form-dispatch-regions)
//===----------------------------------------------------------------------===//

def Mvc_DispatchRegionOp : Mvc_Op<"dispatch_region", [SingleBlock]> {
  let summary = "Ops fused into one kernel";
  let description = [{
    The body captures values from above; what it yields are the region's results, the
    only values of the body that live in memory. `kind` names the kernel template the
    codegen uses (each op's KernelOpInterface::getDispatchKind).
  }];
  let arguments = (ins Mvc_DispatchKind:$kind);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "$kind (`->` type($results)^)? attr-dict-with-keyword $body";
  let hasVerifier = 1;
}

def Mvc_YieldOp : Mvc_Op<"yield", [Pure, Terminator, HasParent<"DispatchRegionOp">,
                                   ReturnLike]> {
  let summary = "Results of a dispatch region";
  let arguments = (ins Variadic<AnyRankedTensor>:$values);
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
}

#endif // MVC_OPS_TD
