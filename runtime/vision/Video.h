//===- Video.h - video files and frame directories, frame by frame -*- C++ -*-===//
//
// A video as the HF video processors see it: a number of frames in presentation order, a
// frame rate, and RGB frames decoded on request. Two sources:
//   - a file (MP4/MOV, Matroska/WebM, AVI; H.264, HEVC, VP8, VP9, AV1, MPEG-4, MJPEG),
//     decoded with FFmpeg's libraries. Its frame count and rate are what torchcodec
//     (transformers' default video backend) reports in exact seek mode: the stream's
//     packets counted, and that count over the time from the first packet's pts to the
//     end of the last one. Frames are converted to RGB24 as torchcodec converts them
//     (swscale, bilinear, the frame's own colour matrix and range).
//   - a directory of image files (JPEG or PNG), one frame each in file-name order, at
//     the frame rate the caller gives (none: unknown, and the processor assumes 24, as
//     transformers does for pre-sampled frames).
// Only the frames asked for are kept; each goes to the caller as soon as it is decoded, so
// a long video never sits in memory whole. Hostile files: only local files are opened
// (no protocols, no playlists), only the demuxers and decoders above, frames larger than
// the image limit and streams of more than kMaxFrames packets are refused before any
// frame is decoded.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_VISION_VIDEO_H
#define MVC_RUNTIME_VISION_VIDEO_H

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "runtime/vision/Decode.h"
#include "runtime/vision/Image.h"

namespace mvc::vision {

struct VideoInfo {
  int64_t frameCount = 0;
  std::optional<double> fps; // frames per second; none: unknown
  int64_t height = 0, width = 0;
};

class VideoSource {
public:
  /// More frames than this are refused from the packet scan (a day at 60 fps would be
  /// 5.2M; a clip's processor samples at most a few hundred of them).
  static constexpr int64_t kMaxFrames = 10'000'000;

  virtual ~VideoSource();
  const VideoInfo &info() const { return videoInfo; }
  /// The file or directory, as given (errors name it).
  const std::string &name() const { return path; }
  /// Decodes the frames at `indices` (strictly increasing, each < frameCount) and hands
  /// each to `take` with its index, in order; `take`'s error stops decoding and is returned.
  using FrameSink = std::function<absl::Status(int64_t index, RgbImage &&frame)>;
  virtual absl::Status decode(absl::Span<const int64_t> indices, const FrameSink &take) = 0;

protected:
  VideoInfo videoInfo;
  std::string path;
};

struct VideoOptions {
  /// A frame directory's frame rate (--video-fps); ignored for files, which carry theirs.
  std::optional<double> directoryFps;
  DecodeLimits limits;
};

/// Opens a video file or a frame directory and reads what it says about itself (a file's
/// packets are scanned once). Errors name `path`.
absl::StatusOr<std::unique_ptr<VideoSource>> openVideo(const std::string &path,
                                                       const VideoOptions &options = {});

} // namespace mvc::vision

#endif // MVC_RUNTIME_VISION_VIDEO_H
