//===- BlockFormat.cpp - the ggml block formats kernels decode -----------===//
#include "runtime/artifact/BlockFormat.h"

namespace mvc {

const BlockFormat *findBlockFormat(std::string_view name) {
  static constexpr BlockFormat kFormats[] = {
      {"q8_0", 34, 8, false, 0}, {"q4_0", 18, 4, false, 8}, {"q4_1", 20, 4, true, 0},
      {"q5_0", 22, 5, false, 16}, {"q5_1", 24, 5, true, 0},
  };
  for (const BlockFormat &f : kFormats)
    if (f.name == name) return &f;
  return nullptr;
}

} // namespace mvc
