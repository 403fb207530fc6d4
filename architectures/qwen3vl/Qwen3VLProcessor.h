//===- Qwen3VLProcessor.h - Qwen3-VL image sizes and 3-D positions -*- C++ -*-===//
//
// The run half's arithmetic for Qwen3-VL (dense and MoE), as transformers 5.23.0 computes
// it (MODELS.md §5; goldens in tests/fixtures/qwen3vl_processor, made by transformers' own
// functions):
//   - smartResize: the size an image is resized to (qwen2_vl's smart_resize, which
//     Qwen3-VL's image processor uses): each side a multiple of `factor` (patch size x
//     spatial merge), the pixel count within [minPixels, maxPixels], the aspect ratio kept
//     as closely as possible; Python's round-half-even; an aspect ratio above 200 refused.
//   - ropeIndex: Qwen3VLModel.get_rope_index for one prompt: text tokens advance all three
//     axes together; an image (or one temporal patch of a video: videos are split per
//     temporal patch, their timestamps being text between them) of grid (t, h, w) takes
//     (t·h·w)/merge² tokens at temporal position `start`, rows start..start+h/merge-1 and
//     columns start..start+w/merge-1, and the next text starts at start + max(h, w)/merge.
//     The rope delta (the last position + 1 - the prompt length) carries the positions
//     into decoding: generated token i (counted from 0 at the prompt's start) has position
//     i + delta on every axis.
// MLIR-free.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_ARCHITECTURES_QWEN3VL_QWEN3VLPROCESSOR_H
#define MVC_ARCHITECTURES_QWEN3VL_QWEN3VLPROCESSOR_H

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace mvc::qwen3vl {

/// (height, width) of the resized image.
absl::StatusOr<std::pair<int64_t, int64_t>> smartResize(int64_t height, int64_t width,
                                                        int64_t factor, int64_t minPixels,
                                                        int64_t maxPixels);

/// A vision input's patch grid before the spatial merge: temporal patches, rows, columns.
struct GridThw {
  int64_t t = 1, h = 1, w = 1;
};

/// What each prompt token is (transformers' mm_token_type_ids).
enum class TokenKind : uint8_t { kText = 0, kImage = 1, kVideo = 2 };

struct RopeIndex {
  std::array<std::vector<int32_t>, 3> positions; // temporal, height, width; one per token
  int64_t delta = 0;
};

/// The 3-D positions of a prompt whose tokens are `kinds`: its image spans take
/// `images`' grids in order, its video spans one temporal patch of `videos`' grids each,
/// in order. Errors: a span whose length is not its grid's token count, more spans than
/// grids or grids left over, a grid side not divisible by the merge.
absl::StatusOr<RopeIndex> ropeIndex(absl::Span<const TokenKind> kinds,
                                    absl::Span<const GridThw> images,
                                    absl::Span<const GridThw> videos, int64_t spatialMerge);

} // namespace mvc::qwen3vl

#endif // MVC_ARCHITECTURES_QWEN3VL_QWEN3VLPROCESSOR_H
