//===- Qwen3VLRun.cpp - Qwen3-VL's run half -------------------------------===//
#include "architectures/qwen3vl/Qwen3VLRun.h"

namespace mvc {

std::vector<RunHalf::InputSpec> Qwen3VLRunHalf::extraInputs() const {
  return {{"mrope_positions", DType::I32, 2}};
}

absl::Status Qwen3VLRunHalf::setInputs(Model &, const ForwardBatch &batch,
                                       ForwardInputs &inputs) const {
  // Text: the three axes are the token's position (get_rope_index's text rows).
  std::vector<int32_t> mrope;
  mrope.reserve(batch.positions.size() * 3);
  for (int32_t p : batch.positions) mrope.insert(mrope.end(), {p, p, p});
  inputs["mrope_positions"] = i32Tensor(mrope, {int64_t(batch.positions.size()), 3});
  return absl::OkStatus();
}

std::map<std::string, std::vector<int64_t>> Qwen3VLRunHalf::extraInputShapes(int64_t tokens,
                                                                              int64_t) const {
  return {{"mrope_positions", {tokens, 3}}};
}

} // namespace mvc
