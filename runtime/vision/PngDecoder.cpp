//===- PngDecoder.cpp - PNG via libpng -------------------------------------===//
//
// libpng reports errors through png_error, which longjmps back to decodeInto. Channel
// conversion is done here rather than with libpng transforms, because PIL's rules differ
// from libpng's for 16-bit gray (PIL saturates, libpng would scale).
//
//===----------------------------------------------------------------------===//
#include <algorithm>
#include <csetjmp>
#include <cstring>

#include <png.h>

#include "absl/strings/str_cat.h"
#include "runtime/vision/Decode.h"

namespace mvc::vision::detail {

namespace {

struct Reader {
  absl::Span<const uint8_t> bytes;
  size_t offset = 0;
  char message[256] = {};
};

void readBytes(png_structp png, png_bytep out, png_size_t size) {
  auto *reader = static_cast<Reader *>(png_get_io_ptr(png));
  if (size > reader->bytes.size() - reader->offset)
    png_error(png, "file is truncated");
  std::memcpy(out, reader->bytes.data() + reader->offset, size);
  reader->offset += size;
}

[[noreturn]] void errorExit(png_structp png, png_const_charp message) {
  auto *reader = static_cast<Reader *>(png_get_error_ptr(png));
  std::snprintf(reader->message, sizeof(reader->message), "%s", message);
  png_longjmp(png, 1);
}

void ignoreWarning(png_structp, png_const_charp) {}

/// Decodes into `raw` (rows as libpng delivers them after expanding palettes and
/// sub-byte gray, and stripping 16-bit color to its high byte, as PIL's decoder does).
bool decodeInto(png_structp png, png_infop info, const DecodeLimits &limits,
                std::vector<uint8_t> &raw, std::vector<png_bytep> &rows, int &channels,
                int &bitDepth, RgbImage &image, absl::Status &limitStatus) {
  if (setjmp(png_jmpbuf(png)))
    return false;
  png_set_read_fn(png, png_get_error_ptr(png), readBytes);
  png_read_info(png, info);
  png_uint_32 width = png_get_image_width(png, info), height = png_get_image_height(png, info);
  limitStatus = checkDimensions(height, width, limits);
  if (!limitStatus.ok())
    return false;
  const int colorType = png_get_color_type(png, info);
  if (colorType == PNG_COLOR_TYPE_PALETTE)
    png_set_palette_to_rgb(png);
  if (colorType == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8)
    png_set_expand_gray_1_2_4_to_8(png);
  if (colorType != PNG_COLOR_TYPE_GRAY)
    png_set_strip_16(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  channels = png_get_channels(png, info);
  bitDepth = png_get_bit_depth(png, info);
  const size_t rowBytes = png_get_rowbytes(png, info);
  raw.resize(rowBytes * height);
  rows.resize(height);
  for (png_uint_32 y = 0; y < height; ++y)
    rows[y] = raw.data() + y * rowBytes;
  png_read_image(png, rows.data());
  png_read_end(png, nullptr);
  image.height = height;
  image.width = width;
  return true;
}

/// PIL's convert("RGB"): gray replicated (16-bit gray saturating at 255), alpha dropped.
void toRgb(const std::vector<uint8_t> &raw, int channels, int bitDepth, RgbImage &image) {
  image.pixels.resize(image.height * image.width * 3);
  const int64_t count = image.height * image.width;
  for (int64_t i = 0; i < count; ++i) {
    uint8_t *out = &image.pixels[i * 3];
    if (bitDepth == 16) { // gray only: color was stripped to 8 bits
      const uint8_t *in = &raw[i * 2];
      out[0] = out[1] = out[2] = uint8_t(std::min(in[0] << 8 | in[1], 255));
    } else if (channels <= 2) {
      out[0] = out[1] = out[2] = raw[i * channels];
    } else {
      std::memcpy(out, &raw[i * channels], 3);
    }
  }
}

} // namespace

absl::StatusOr<RgbImage> decodePng(absl::Span<const uint8_t> bytes, const DecodeLimits &limits) {
  Reader reader{bytes};
  png_structp png =
      png_create_read_struct(PNG_LIBPNG_VER_STRING, &reader, errorExit, ignoreWarning);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!info) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    return absl::ResourceExhaustedError("cannot allocate the PNG decoder");
  }
  std::vector<uint8_t> raw;
  std::vector<png_bytep> rows;
  int channels = 0, bitDepth = 0;
  RgbImage image;
  absl::Status limitStatus;
  bool ok = decodeInto(png, info, limits, raw, rows, channels, bitDepth, image, limitStatus);
  png_destroy_read_struct(&png, &info, nullptr);
  if (!limitStatus.ok())
    return limitStatus;
  if (!ok)
    return absl::InvalidArgumentError(absl::StrCat("bad PNG: ", reader.message));
  toRgb(raw, channels, bitDepth, image);
  return image;
}

} // namespace mvc::vision::detail
