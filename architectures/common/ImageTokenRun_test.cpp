//===- ImageTokenRun_test.cpp - where prefill chunks of image prompts end --===//
#include "architectures/common/ImageTokenRun.h"

#include <vector>

#include "gtest/gtest.h"

namespace mvc {
namespace {

constexpr int32_t kImage = 9;

/// The shared run half with 4 tokens per frame and no model behind it (chunkEnd reads
/// only the prompt).
class FourTokenFrames : public ImageTokenRunHalf {
public:
  FourTokenFrames() {
    imageTokenId = kImage;
    tokensPerFrame = 4;
  }
  absl::string_view id() const override { return "test"; }
};

int64_t chunkEnd(const std::vector<int32_t> &prompt, int64_t begin, int64_t wantEnd) {
  SequenceView sequence;
  sequence.tokens = prompt;
  sequence.promptLength = static_cast<int64_t>(prompt.size());
  return FourTokenFrames().chunkEnd(sequence, begin, wantEnd);
}

TEST(ImageTokenRunHalf, CutsOutsideImageRunsStay) {
  std::vector<int32_t> prompt = {1, 2, kImage, kImage, kImage, kImage, 3, 4};
  EXPECT_EQ(chunkEnd(prompt, 0, 2), 2); // before the run
  EXPECT_EQ(chunkEnd(prompt, 0, 6), 6); // right after it
  EXPECT_EQ(chunkEnd(prompt, 0, 7), 7);
  EXPECT_EQ(chunkEnd(prompt, 0, 8), 8); // the end of the prompt
}

TEST(ImageTokenRunHalf, ACutInsideAFrameMovesToItsStart) {
  std::vector<int32_t> prompt = {1, 2, kImage, kImage, kImage, kImage, 3};
  EXPECT_EQ(chunkEnd(prompt, 0, 4), 2);
  EXPECT_EQ(chunkEnd(prompt, 1, 5), 2);
}

TEST(ImageTokenRunHalf, AFrameStartingTheChunkGoesWhole) {
  std::vector<int32_t> prompt = {1, 2, kImage, kImage, kImage, kImage, 3};
  EXPECT_EQ(chunkEnd(prompt, 2, 3), 6);
  EXPECT_EQ(chunkEnd(prompt, 2, 5), 6);
}

TEST(ImageTokenRunHalf, AdjacentFramesSplitBetweenFrames) {
  // Two frames' tokens back to back (ids given directly): frame boundaries are valid cuts.
  std::vector<int32_t> prompt = {1};
  prompt.insert(prompt.end(), 8, kImage);
  prompt.push_back(2);
  EXPECT_EQ(chunkEnd(prompt, 0, 5), 5); // exactly between the frames
  EXPECT_EQ(chunkEnd(prompt, 0, 7), 5); // inside the second: back to its start
  EXPECT_EQ(chunkEnd(prompt, 5, 6), 9); // the second frame starts the chunk: all of it
}

} // namespace
} // namespace mvc
