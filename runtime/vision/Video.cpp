//===- Video.cpp - FFmpeg files and frame directories ----------------------===//
#include "runtime/vision/Video.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avstring.h>
#include <libavutil/avutil.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

namespace mvc::vision {

VideoSource::~VideoSource() = default;

namespace {

// What a file may be: demuxers and decoders for the common containers and codecs, so a
// hostile file cannot reach the rest of FFmpeg's parsers; local files only (no network,
// no playlists that name other files).
constexpr const char *kFormats = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi";
constexpr const char *kCodecs = "h264,hevc,vp8,libvpx,vp9,libvpx-vp9,av1,libdav1d,libaom-av1,"
                                "mpeg4,mjpeg";

std::string avError(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(code, text, sizeof(text));
  return text;
}

struct FormatCloser {
  void operator()(AVFormatContext *c) const { avformat_close_input(&c); }
};
struct CodecCloser {
  void operator()(AVCodecContext *c) const { avcodec_free_context(&c); }
};
struct PacketFree {
  void operator()(AVPacket *p) const { av_packet_free(&p); }
};
struct FrameFree {
  void operator()(AVFrame *f) const { av_frame_free(&f); }
};
struct SwsFree {
  void operator()(SwsContext *s) const { sws_freeContext(s); }
};
using Format = std::unique_ptr<AVFormatContext, FormatCloser>;
using Codec = std::unique_ptr<AVCodecContext, CodecCloser>;

/// An opened file and its best video stream.
struct Opened {
  Format format;
  int stream = -1;
  const AVCodec *decoder = nullptr;
};

absl::StatusOr<Opened> openFile(const std::string &path) {
  static const bool quiet = [] {
    av_log_set_level(AV_LOG_QUIET);  // errors come back as statuses
    return true;
  }();
  (void)quiet;
  AVDictionary *options = nullptr;
  av_dict_set(&options, "format_whitelist", kFormats, 0);
  av_dict_set(&options, "protocol_whitelist", "file", 0);
  av_dict_set(&options, "codec_whitelist", kCodecs, 0);
  AVFormatContext *raw = nullptr;
  int err = avformat_open_input(&raw, path.c_str(), nullptr, &options);
  av_dict_free(&options);
  if (err < 0)
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": not a video mvc reads (", avError(err),
        "; supported: MP4/MOV, Matroska/WebM, AVI files with H.264, HEVC, VP8, VP9, AV1, "
        "MPEG-4 or MJPEG video)"));
  Opened out;
  out.format.reset(raw);
  if ((err = avformat_find_stream_info(raw, nullptr)) < 0)
    return absl::InvalidArgumentError(absl::StrCat(path, ": unreadable video (", avError(err), ")"));
  out.stream = av_find_best_stream(raw, AVMEDIA_TYPE_VIDEO, -1, -1, &out.decoder, 0);
  if (out.stream == AVERROR_DECODER_NOT_FOUND)
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": its video codec (", avcodec_get_name(raw->streams[0]->codecpar->codec_id),
        ") is not supported"));
  if (out.stream < 0)
    return absl::InvalidArgumentError(absl::StrCat(path, ": holds no video stream"));
  const AVCodecParameters *par = raw->streams[out.stream]->codecpar;
  if (!av_match_list(out.decoder->name, kCodecs, ','))
    return absl::InvalidArgumentError(absl::StrCat(path, ": its video codec (",
                                                   avcodec_get_name(par->codec_id),
                                                   ") is not supported"));
  return out;
}

class FileVideo : public VideoSource {
public:
  static absl::StatusOr<std::unique_ptr<VideoSource>> open(const std::string &path,
                                                           const DecodeLimits &limits);
  absl::Status decode(absl::Span<const int64_t> indices, const FrameSink &take) override;

private:
  DecodeLimits limits;
  // Every frame's pts in presentation order (frame i has framePts[i]), and the keyframes'
  // (sorted): decode seeks to the last keyframe before a wanted frame instead of decoding
  // everything before it. Empty when some packet has no timestamp: then frames are
  // counted from the start.
  std::vector<int64_t> framePts, keyPts;
};

absl::StatusOr<std::unique_ptr<VideoSource>> FileVideo::open(const std::string &path,
                                                             const DecodeLimits &limits) {
  absl::StatusOr<Opened> file = openFile(path);
  if (!file.ok()) return file.status();
  const AVStream *stream = file->format->streams[file->stream];
  const AVCodecParameters *par = stream->codecpar;
  auto self = std::make_unique<FileVideo>();
  self->path = path;
  self->limits = limits;
  self->videoInfo.height = par->height;
  self->videoInfo.width = par->width;
  if (absl::Status s = detail::checkDimensions(par->height, par->width, limits); !s.ok())
    return absl::Status(s.code(), absl::StrCat(path, ": video frame: ", s.message()));
  // Count the stream's packets and find where it begins and ends (torchcodec's exact mode).
  std::unique_ptr<AVPacket, PacketFree> packet(av_packet_alloc());
  int64_t count = 0;
  int64_t begin = std::numeric_limits<int64_t>::max(), end = std::numeric_limits<int64_t>::min();
  bool timed = true;
  for (int err; (err = av_read_frame(file->format.get(), packet.get())) != AVERROR_EOF;) {
    if (err < 0)
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": unreadable after ", count, " video frames (", avError(err), ")"));
    if (packet->stream_index == file->stream) {
      if (++count > kMaxFrames)
        return absl::ResourceExhaustedError(
            absl::StrCat(path, ": more than ", kMaxFrames, " video frames"));
      int64_t pts = packet->pts != AV_NOPTS_VALUE ? packet->pts : packet->dts;
      if (pts != AV_NOPTS_VALUE) {
        begin = std::min(begin, pts);
        end = std::max(end, pts + packet->duration);
        self->framePts.push_back(packet->pts);
        if (packet->flags & AV_PKT_FLAG_KEY) self->keyPts.push_back(packet->pts);
      }
      timed &= packet->pts != AV_NOPTS_VALUE;
    }
    av_packet_unref(packet.get());
  }
  if (count == 0) return absl::InvalidArgumentError(absl::StrCat(path, ": holds no video frames"));
  std::sort(self->framePts.begin(), self->framePts.end());
  std::sort(self->keyPts.begin(), self->keyPts.end());
  if (!timed || self->keyPts.empty() ||
      std::adjacent_find(self->framePts.begin(), self->framePts.end()) != self->framePts.end())
    self->framePts.clear(), self->keyPts.clear();
  self->videoInfo.frameCount = count;
  double seconds = end > begin ? static_cast<double>(end - begin) * av_q2d(stream->time_base) : 0;
  if (seconds > 0)
    self->videoInfo.fps = static_cast<double>(count) / seconds;
  else if (stream->r_frame_rate.num > 0 && stream->r_frame_rate.den > 0)
    self->videoInfo.fps = av_q2d(stream->r_frame_rate);
  return std::unique_ptr<VideoSource>(std::move(self));
}

absl::Status FileVideo::decode(absl::Span<const int64_t> indices, const FrameSink &take) {
  if (indices.empty()) return absl::OkStatus();
  absl::StatusOr<Opened> file = openFile(path);
  if (!file.ok()) return file.status();
  Codec codec(avcodec_alloc_context3(file->decoder));
  if (!codec) return absl::ResourceExhaustedError("out of memory for a video decoder");
  int err = avcodec_parameters_to_context(codec.get(), file->format->streams[file->stream]->codecpar);
  // As many decoding threads as FFmpeg picks for this machine (torchcodec's setting);
  // the frames are the same whatever the threading.
  codec->thread_count = 0;
  AVDictionary *options = nullptr;
  av_dict_set(&options, "codec_whitelist", kCodecs, 0);
  if (err >= 0) err = avcodec_open2(codec.get(), file->decoder, &options);
  av_dict_free(&options);
  if (err < 0)
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": cannot decode its video (", avError(err), ")"));

  std::unique_ptr<AVPacket, PacketFree> packet(av_packet_alloc());
  std::unique_ptr<AVFrame, FrameFree> frame(av_frame_alloc());
  std::unique_ptr<SwsContext, SwsFree> sws;
  int swsW = 0, swsH = 0, swsFormat = -1, swsSpace = -1;
  int64_t decoded = 0;  // frames out of the decoder so far (counted when not seekable)
  size_t next = 0;      // the next index wanted
  const bool seekable = !framePts.empty();
  int64_t reached = std::numeric_limits<int64_t>::min();  // the last pts decoded or sought
  bool seek = seekable;  // whether to consider a seek before the next wanted frame
  // Every frame the decoder has ready: the wanted ones to RGB, then to the caller.
  auto drain = [&]() -> absl::Status {
    while (next < indices.size()) {
      int got = avcodec_receive_frame(codec.get(), frame.get());
      if (got == AVERROR(EAGAIN) || got == AVERROR_EOF) return absl::OkStatus();
      if (got < 0)
        return absl::InvalidArgumentError(absl::StrCat(path, ": corrupt video frame before frame ",
                                                       indices[next], " (", avError(got), ")"));
      int64_t index = decoded++;
      if (seekable) {
        // The frame's place in presentation order, by its timestamp.
        const int64_t pts = frame->best_effort_timestamp != AV_NOPTS_VALUE
                                ? frame->best_effort_timestamp : frame->pts;
        auto it = std::lower_bound(framePts.begin(), framePts.end(), pts);
        index = it != framePts.end() && *it == pts ? it - framePts.begin() : -1;
        reached = std::max(reached, pts);
        if (index > indices[next])
          return absl::InvalidArgumentError(absl::StrCat(
              path, ": video frame ", indices[next], " does not decode (the file is corrupt)"));
      }
      if (index != indices[next]) {
        av_frame_unref(frame.get());
        continue;
      }
      ++next;
      seek = seekable;
      if (absl::Status s = detail::checkDimensions(frame->height, frame->width, limits); !s.ok())
        return absl::Status(s.code(), absl::StrCat(path, ": video frame ", index, ": ", s.message()));
      if (!sws || frame->width != swsW || frame->height != swsH || frame->format != swsFormat ||
          frame->colorspace != swsSpace) {
        // As torchcodec converts: bilinear swscale, the frame's colour matrix, the ranges
        // swscale picks for the formats.
        sws.reset(sws_getContext(frame->width, frame->height, AVPixelFormat(frame->format),
                                 frame->width, frame->height, AV_PIX_FMT_RGB24, SWS_BILINEAR,
                                 nullptr, nullptr, nullptr));
        if (!sws)
          return absl::InvalidArgumentError(absl::StrCat(
              path, ": video frame ", index, ": its pixel format (",
              av_get_pix_fmt_name(AVPixelFormat(frame->format)), ") cannot be converted to RGB"));
        int *inverse = nullptr, *table = nullptr;
        int srcRange = 0, dstRange = 0, brightness = 0, contrast = 0, saturation = 0;
        sws_getColorspaceDetails(sws.get(), &inverse, &srcRange, &table, &dstRange, &brightness,
                                 &contrast, &saturation);
        const int *matrix = sws_getCoefficients(frame->colorspace);
        sws_setColorspaceDetails(sws.get(), matrix, srcRange, matrix, dstRange, brightness,
                                 contrast, saturation);
        swsW = frame->width, swsH = frame->height, swsFormat = frame->format;
        swsSpace = frame->colorspace;
      }
      RgbImage rgb;
      rgb.height = frame->height;
      rgb.width = frame->width;
      rgb.pixels.resize(static_cast<size_t>(rgb.height * rgb.width * 3));
      uint8_t *planes[4] = {rgb.pixels.data(), nullptr, nullptr, nullptr};
      int strides[4] = {static_cast<int>(rgb.width * 3), 0, 0, 0};
      int rows = sws_scale(sws.get(), frame->data, frame->linesize, 0, frame->height, planes, strides);
      av_frame_unref(frame.get());
      if (rows != rgb.height)
        return absl::InvalidArgumentError(
            absl::StrCat(path, ": video frame ", index, ": conversion to RGB failed"));
      if (absl::Status s = take(index, std::move(rgb)); !s.ok()) return s;
    }
    return absl::OkStatus();
  };
  while (next < indices.size()) {
    if (seek) {
      // The last keyframe at or before the wanted frame; seek there when it lies beyond
      // what has been decoded (decoding on would pass through it anyway otherwise).
      seek = false;
      const int64_t target = framePts[indices[next]];
      auto key = std::upper_bound(keyPts.begin(), keyPts.end(), target);
      if (key != keyPts.begin() && *(key - 1) > reached) {
        if (av_seek_frame(file->format.get(), file->stream, *(key - 1), AVSEEK_FLAG_BACKWARD) >= 0) {
          avcodec_flush_buffers(codec.get());
          reached = *(key - 1);
        }
      }
    }
    err = av_read_frame(file->format.get(), packet.get());
    if (err == AVERROR_EOF) break;
    if (err < 0)
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": unreadable before video frame ", indices[next], " (", avError(err), ")"));
    if (packet->stream_index == file->stream) {
      err = avcodec_send_packet(codec.get(), packet.get());
      if (err < 0 && err != AVERROR(EAGAIN)) {
        av_packet_unref(packet.get());
        return absl::InvalidArgumentError(absl::StrCat(path, ": corrupt video data before frame ",
                                                       indices[next], " (", avError(err), ")"));
      }
    }
    av_packet_unref(packet.get());
    if (absl::Status s = drain(); !s.ok()) return s;
  }
  if (next < indices.size()) {
    avcodec_send_packet(codec.get(), nullptr);  // flush the frames the decoder holds
    if (absl::Status s = drain(); !s.ok()) return s;
  }
  if (next < indices.size())
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": its packets promise ", videoInfo.frameCount, " frames but frame ", indices[next],
        " does not decode; the file is truncated or corrupt"));
  return absl::OkStatus();
}

/// A directory of JPEG / PNG frames in file-name order.
class DirectoryVideo : public VideoSource {
public:
  static absl::StatusOr<std::unique_ptr<VideoSource>> open(const std::string &path,
                                                           const VideoOptions &options);
  absl::Status decode(absl::Span<const int64_t> indices, const FrameSink &take) override;

private:
  std::vector<std::string> files;
  DecodeLimits limits;
};

absl::StatusOr<std::unique_ptr<VideoSource>> DirectoryVideo::open(const std::string &path,
                                                                  const VideoOptions &options) {
  auto self = std::make_unique<DirectoryVideo>();
  self->path = path;
  self->limits = options.limits;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;  // hidden files are not frames
    if (!it->is_regular_file(ec)) continue;
    self->files.push_back(it->path().string());
    if (static_cast<int64_t>(self->files.size()) > kMaxFrames)
      return absl::ResourceExhaustedError(absl::StrCat(path, ": more than ", kMaxFrames, " frames"));
  }
  if (ec) return absl::InvalidArgumentError(absl::StrCat(path, ": cannot list (", ec.message(), ")"));
  if (self->files.empty())
    return absl::InvalidArgumentError(absl::StrCat(path, ": a frame directory with no frames"));
  std::sort(self->files.begin(), self->files.end());
  self->videoInfo.frameCount = static_cast<int64_t>(self->files.size());
  self->videoInfo.fps = options.directoryFps;
  // The size is the first frame's; every frame must share it.
  absl::StatusOr<RgbImage> first = loadImage(self->files[0], self->limits);
  if (!first.ok()) return first.status();
  self->videoInfo.height = first->height;
  self->videoInfo.width = first->width;
  return std::unique_ptr<VideoSource>(std::move(self));
}

absl::Status DirectoryVideo::decode(absl::Span<const int64_t> indices, const FrameSink &take) {
  for (int64_t index : indices) {
    if (index < 0 || index >= videoInfo.frameCount)
      return absl::OutOfRangeError(absl::StrCat(path, ": no frame ", index));
    absl::StatusOr<RgbImage> frame = loadImage(files[index], limits);
    if (!frame.ok()) return frame.status();
    if (frame->height != videoInfo.height || frame->width != videoInfo.width)
      return absl::InvalidArgumentError(absl::StrCat(
          files[index], ": a ", frame->width, "x", frame->height, " frame in a video of ",
          videoInfo.width, "x", videoInfo.height, " frames (", files[0], ")"));
    if (absl::Status s = take(index, std::move(*frame)); !s.ok()) return s;
  }
  return absl::OkStatus();
}

} // namespace

absl::StatusOr<std::unique_ptr<VideoSource>> openVideo(const std::string &path,
                                                       const VideoOptions &options) {
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status))
    return absl::NotFoundError(absl::StrCat(path, ": no such video file or frame directory"));
  if (std::filesystem::is_directory(status)) return DirectoryVideo::open(path, options);
  if (!std::filesystem::is_regular_file(status))
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a regular file or a directory"));
  if (std::filesystem::file_size(path, ec) == 0)
    return absl::InvalidArgumentError(absl::StrCat(path, ": the video file is empty"));
  return FileVideo::open(path, options.limits);
}

} // namespace mvc::vision
