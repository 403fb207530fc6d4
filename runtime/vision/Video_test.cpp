//===- Video_test.cpp - video files and frame directories vs torchcodec ----===//
//
// Fixtures: tests/fixtures/video (gen_video.py): clips encoded by Debian's ffmpeg and the
// frames transformers' default video backend (torchcodec, exact seek mode) decodes.
//
//===----------------------------------------------------------------------===//
#include "runtime/vision/Video.h"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "nlohmann/json.hpp"
#include "runtime/util/Npy.h"

namespace mvc::vision {
namespace {

std::string videoPath(const std::string &name) {
  return std::string(MVC_VISION_FIXTURES) + "/../video/" + name;
}

nlohmann::json reference() {
  std::ifstream in(videoPath("reference.json"));
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str());
}

class VideoClip : public ::testing::TestWithParam<const char *> {};

// The frame count, the rate and the RGB bytes of the frames asked for are torchcodec's.
TEST_P(VideoClip, MatchesTorchcodec) {
  const std::string name = GetParam();
  const nlohmann::json clip = reference()["clips"][name];
  absl::StatusOr<std::unique_ptr<VideoSource>> video = openVideo(videoPath(name));
  ASSERT_TRUE(video.ok()) << video.status();
  const VideoInfo &info = (*video)->info();
  EXPECT_EQ(info.frameCount, clip["num_frames"].get<int64_t>());
  ASSERT_TRUE(info.fps.has_value());
  EXPECT_DOUBLE_EQ(*info.fps, clip["average_fps"].get<double>());
  EXPECT_EQ(info.height, clip["height"].get<int64_t>());
  EXPECT_EQ(info.width, clip["width"].get<int64_t>());

  std::string stem = name;
  stem[stem.find('.')] = '_';
  absl::StatusOr<NpyArray> frames = readNpy(videoPath(stem + ".frames.npy"));
  ASSERT_TRUE(frames.ok()) << frames.status();
  std::vector<int64_t> indices = clip["indices"].get<std::vector<int64_t>>();
  const size_t frameBytes = static_cast<size_t>(info.height * info.width * 3);
  ASSERT_EQ(frames->data.size(), indices.size() * frameBytes);
  size_t k = 0;
  absl::Status status = (*video)->decode(indices, [&](int64_t index, RgbImage &&frame) {
    EXPECT_EQ(index, indices[k]);
    EXPECT_EQ(frame.height, info.height);
    EXPECT_EQ(frame.width, info.width);
    int worst = 0;
    for (size_t i = 0; i < frameBytes && i < frame.pixels.size(); ++i)
      worst = std::max(worst, std::abs(int(frame.pixels[i]) - int(frames->data[k * frameBytes + i])));
    EXPECT_EQ(worst, 0) << name << " frame " << index;
    ++k;
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(k, indices.size());
}

INSTANTIATE_TEST_SUITE_P(Clips, VideoClip, ::testing::Values("h264.mp4", "vp9.webm", "mjpeg.avi"));

TEST(Video, FrameDirectoryInNameOrder) {
  absl::StatusOr<std::unique_ptr<VideoSource>> video =
      openVideo(videoPath("frames"), {.directoryFps = 10.0});
  ASSERT_TRUE(video.ok()) << video.status();
  EXPECT_EQ((*video)->info().frameCount, 6);
  EXPECT_EQ((*video)->info().fps, 10.0);
  absl::StatusOr<std::unique_ptr<VideoSource>> file = openVideo(videoPath("h264.mp4"));
  ASSERT_TRUE(file.ok());
  std::vector<std::vector<uint8_t>> fromFile, fromDirectory;
  std::vector<int64_t> indices = {0, 3, 5};
  ASSERT_TRUE((*file)->decode(indices, [&](int64_t, RgbImage &&f) {
    fromFile.push_back(f.pixels);
    return absl::OkStatus();
  }).ok());
  ASSERT_TRUE((*video)->decode(indices, [&](int64_t, RgbImage &&f) {
    fromDirectory.push_back(f.pixels);
    return absl::OkStatus();
  }).ok());
  EXPECT_EQ(fromFile, fromDirectory);
  // No rate given: unknown (the processor's default applies).
  EXPECT_FALSE((*openVideo(videoPath("frames")))->info().fps.has_value());
}

TEST(Video, TheSinksErrorStopsDecoding) {
  absl::StatusOr<std::unique_ptr<VideoSource>> video = openVideo(videoPath("h264.mp4"));
  ASSERT_TRUE(video.ok());
  int calls = 0;
  absl::Status s = (*video)->decode(std::vector<int64_t>{1, 2, 3}, [&](int64_t, RgbImage &&) {
    ++calls;
    return absl::CancelledError("enough");
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(calls, 1);
}

// Broken and unsupported files: an error that names the file, never a crash.
TEST(Video, BadFilesAreClearErrors) {
  struct Case {
    const char *name, *message;
  } cases[] = {{"bad_empty.mp4", "the video file is empty"},
               {"bad_text.mp4", "not a video mvc reads"},
               {"bad_codec.mkv", "video codec (mpeg2video) is not supported"},
               {"missing.mp4", "no such video file"}};
  for (const Case &c : cases) {
    absl::StatusOr<std::unique_ptr<VideoSource>> video = openVideo(videoPath(c.name));
    ASSERT_FALSE(video.ok()) << c.name;
    EXPECT_NE(video.status().message().find(c.name), std::string::npos) << video.status();
    EXPECT_NE(video.status().message().find(c.message), std::string::npos) << video.status();
  }
  // Truncated and corrupt files fail when opened or when their frames are decoded.
  for (const char *name : {"bad_truncated.mp4", "bad_corrupt.mp4"}) {
    absl::StatusOr<std::unique_ptr<VideoSource>> video = openVideo(videoPath(name));
    absl::Status status = video.status();
    if (video.ok()) {
      std::vector<int64_t> all;
      for (int64_t i = 0; i < (*video)->info().frameCount; ++i) all.push_back(i);
      status = (*video)->decode(all, [](int64_t, RgbImage &&) { return absl::OkStatus(); });
    }
    EXPECT_FALSE(status.ok()) << name;
    EXPECT_NE(status.message().find(name), std::string::npos) << status;
  }
  // Frames larger than the image limit are refused before decoding.
  absl::StatusOr<std::unique_ptr<VideoSource>> small =
      openVideo(videoPath("h264.mp4"), {.limits = {.maxPixels = 96 * 63}});
  ASSERT_FALSE(small.ok());
  EXPECT_EQ(small.status().code(), absl::StatusCode::kResourceExhausted) << small.status();
}

} // namespace
} // namespace mvc::vision
