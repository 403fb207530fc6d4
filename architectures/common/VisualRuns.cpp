//===- VisualRuns.cpp - prompts whose images are runs of their own lengths -===//
#include "architectures/common/VisualRuns.h"

#include <algorithm>

namespace mvc {

int64_t frameOfVisualToken(int64_t k, absl::Span<const ImageFrame> frames, const FrameTokens &tokensOf) {
  for (size_t j = 0; j < frames.size(); ++j) {
    int64_t n = tokensOf(frames[j]);
    if (k < n) return static_cast<int64_t>(j);
    k -= n;
  }
  return -1;
}

int64_t visualRunChunkEnd(const SequenceView &sequence, int64_t begin, int64_t wantEnd,
                          const VisualToken &visual, const FrameTokens &tokensOf) {
  absl::Span<const int32_t> tokens = sequence.tokens.subspan(0, sequence.promptLength);
  const int64_t size = static_cast<int64_t>(tokens.size());
  if (wantEnd >= size || !visual(tokens[wantEnd - 1]) || !visual(tokens[wantEnd]))
    return wantEnd;
  // Where the frame holding token wantEnd starts and ends.
  int64_t k = 0, into = 0;
  const int64_t frames = static_cast<int64_t>(sequence.images.size());
  for (int64_t i = 0; i < wantEnd; ++i)
    if (visual(tokens[i])) {
      ++into;
      if (k < frames && into == tokensOf(sequence.images[k])) ++k, into = 0;
    }
  if (into == 0) return wantEnd;  // between two frames
  int64_t start = wantEnd - into;
  if (start > begin) return start;
  int64_t n = k < frames ? tokensOf(sequence.images[k]) : into;
  return std::min(size, start + n);
}

} // namespace mvc
