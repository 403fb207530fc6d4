//===- Qwen3VLRun.h - Qwen3-VL's run half -------------------------*- C++ -*-===//
//
// Beyond the six inputs every language model takes, Qwen3-VL's forward program takes
// `mrope_positions` [T, 3] i32: each token's (time, height, width) rotary positions. For
// text every axis holds the token's position plus the sequence's rope delta (0 until
// images are placed: get_rope_index's positions then continue from the largest one
// before them, and decoding continues with all three axes advancing together).
// MLIR-free.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_ARCHITECTURES_QWEN3VL_QWEN3VLRUN_H
#define MVC_ARCHITECTURES_QWEN3VL_QWEN3VLRUN_H

#include "runtime/pipeline/RunHalf.h"

namespace mvc {

class Qwen3VLRunHalf : public RunHalf {
public:
  static constexpr const char *kId = "qwen3vl";
  absl::string_view id() const override { return kId; }
  std::vector<InputSpec> extraInputs() const override;
  absl::Status setInputs(Model &model, const ForwardBatch &batch,
                         ForwardInputs &inputs) const override;
  std::map<std::string, std::vector<int64_t>> extraInputShapes(int64_t tokens,
                                                               int64_t images) const override;
};

} // namespace mvc

#endif
