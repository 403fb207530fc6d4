//===- VisualRuns.h - prompts whose images are runs of their own lengths -*- C++ -*-===//
//
// For models whose images take different numbers of tokens (Qwen3-VL's grids, Gemma 4's
// aspect-preserving patch budgets): the prompt holds one run of visual tokens per frame,
// frames in prompt order, frame j's run `tokensOf(frame j)` long. What the run halves of
// such models share: which frame a placeholder belongs to, and where a prefill chunk may
// end (never inside a run: a frame's features are computed in one call). MLIR-free.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_ARCHITECTURES_COMMON_VISUALRUNS_H
#define MVC_ARCHITECTURES_COMMON_VISUALRUNS_H

#include <functional>

#include "runtime/pipeline/RunHalf.h"

namespace mvc {

using FrameTokens = std::function<int64_t(const ImageFrame &)>;
using VisualToken = std::function<bool(int32_t)>;

/// The frame of the k-th visual token of a prompt (counted from 0), or -1 past them all.
int64_t frameOfVisualToken(int64_t k, absl::Span<const ImageFrame> frames, const FrameTokens &tokensOf);

/// RunHalf::chunkEnd for such prompts: `wantEnd`, unless it falls inside a run; then the
/// run's first token if that is after `begin`, else the token after the run.
int64_t visualRunChunkEnd(const SequenceView &sequence, int64_t begin, int64_t wantEnd,
                          const VisualToken &visual, const FrameTokens &tokensOf);

} // namespace mvc

#endif
