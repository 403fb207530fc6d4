//===- BlockFormat.cpp - the ggml block formats kernels decode -----------===//
#include "runtime/artifact/BlockFormat.h"

namespace mvc {

const BlockFormat *findBlockFormat(std::string_view name) {
  static constexpr BlockFormat kFormats[] = {
      {"q8_0", 32, 34, 8, false, 0},   {"q4_0", 32, 18, 4, false, 8},
      {"q4_1", 32, 20, 4, true, 0},    {"q5_0", 32, 22, 5, false, 16},
      {"q5_1", 32, 24, 5, true, 0},    {"q4_k", 256, 144, 4, true, 0},
      {"q5_k", 256, 176, 5, true, 0},  {"q6_k", 256, 210, 6, false, 32},
  };
  for (const BlockFormat &f : kFormats)
    if (f.name == name) return &f;
  return nullptr;
}

} // namespace mvc
