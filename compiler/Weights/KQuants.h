//===- KQuants.h - ggml's k-quant reference quantizers -----------*- C++ -*-===//
//
// Quantization of 256 values into one GGUF block of q4_k, q5_k or q6_k, as ggml's
// quantize_row_<type>_ref does it, bit for bit: each 32 values (q6_k: 16) get the scale
// (and min) that minimizes a weighted squared error over a small search of candidate
// scales, then those are quantized to 6 bits (q6_k: 8) under the block's f16 d (and
// dmin), and the values are rounded again under the quantized scales. Plain C++, no MLIR.
//
// Bit-identity with ggml needs the same f32 operations in the same order: this file is
// compiled with -ffp-contract=off (no fused multiply-adds), as ggml's scalar reference is on
// a target without FMA; tests/fixtures/ggml_kquants.py is the same search in numpy.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_COMPILER_WEIGHTS_KQUANTS_H
#define MVC_COMPILER_WEIGHTS_KQUANTS_H

#include <string>

#include "runtime/artifact/BlockFormat.h"

namespace mvc {

/// Appends the GGUF block (format.groupBytes bytes) of the 256 values at `x`.
/// `format` is q4_k, q5_k or q6_k.
void quantizeKQuantGroup(const BlockFormat &format, const float *x, std::string &out);

} // namespace mvc

#endif
