//===- JpegDecoder.cpp - JPEG via libjpeg(-turbo) --------------------------===//
//
// libjpeg reports fatal errors through error_exit, which must not return: it longjmps back
// to decodeInto. Everything with a destructor lives outside the setjmp scope.
//
//===----------------------------------------------------------------------===//
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <string>

#include <jpeglib.h>

#include "absl/strings/str_cat.h"
#include "runtime/vision/Decode.h"
#include "runtime/vision/Exif.h"

#include <jerror.h>

namespace mvc::vision::detail {

namespace {

struct ErrorManager {
  jpeg_error_mgr base;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void errorExit(j_common_ptr cinfo) {
  auto *errors = reinterpret_cast<ErrorManager *>(cinfo->err);
  cinfo->err->format_message(cinfo, errors->message);
  std::longjmp(errors->jump, 1);
}

/// Warnings are ignored as PIL ignores them, except running out of data: PIL refuses a
/// truncated JPEG ("image file is truncated") where libjpeg would pad it with gray.
void emitMessage(j_common_ptr cinfo, int level) {
  if (level == -1 && cinfo->err->msg_code == JWRN_JPEG_EOF)
    errorExit(cinfo);
}

/// Decodes into `image`; on failure returns false with the reason in `errors.message`
/// (or an empty message when the limits refused the header: then `limitStatus` says why).
bool decodeInto(jpeg_decompress_struct &cinfo, ErrorManager &errors,
                absl::Span<const uint8_t> bytes, const DecodeLimits &limits, RgbImage &image,
                int &orientation, absl::Status &limitStatus) {
  if (setjmp(errors.jump))
    return false;
  jpeg_mem_src(&cinfo, bytes.data(), static_cast<unsigned long>(bytes.size()));
  jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xffff);
  jpeg_read_header(&cinfo, TRUE);
  // PIL keeps the first APP1 segment that is EXIF (JpegImagePlugin's info["exif"]).
  for (jpeg_saved_marker_ptr m = cinfo.marker_list; m; m = m->next) {
    if (m->data_length >= 6 && std::memcmp(m->data, "Exif\0\0", 6) == 0) {
      orientation = exifOrientation({m->data, m->data_length});
      break;
    }
  }
  switch (cinfo.jpeg_color_space) {
  case JCS_GRAYSCALE:
  case JCS_YCbCr:
  case JCS_RGB:
    cinfo.out_color_space = JCS_RGB;
    break;
  default:
    std::snprintf(errors.message, sizeof(errors.message),
                  "unsupported JPEG color space %d (CMYK/YCCK)", int(cinfo.jpeg_color_space));
    return false;
  }
  limitStatus = checkDimensions(cinfo.image_height, cinfo.image_width, limits);
  if (!limitStatus.ok())
    return false;
  jpeg_start_decompress(&cinfo);
  image.height = cinfo.output_height;
  image.width = cinfo.output_width;
  image.pixels.resize(image.height * image.width * 3);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = image.at(cinfo.output_scanline, 0);
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  return true;
}

} // namespace

absl::StatusOr<RgbImage> decodeJpeg(absl::Span<const uint8_t> bytes, const DecodeLimits &limits) {
  jpeg_decompress_struct cinfo;
  ErrorManager errors;
  errors.message[0] = '\0';
  cinfo.err = jpeg_std_error(&errors.base);
  errors.base.error_exit = errorExit;
  errors.base.emit_message = emitMessage;
  jpeg_create_decompress(&cinfo);
  RgbImage image;
  int orientation = 1;
  absl::Status limitStatus;
  bool ok = decodeInto(cinfo, errors, bytes, limits, image, orientation, limitStatus);
  jpeg_destroy_decompress(&cinfo);
  if (!limitStatus.ok())
    return limitStatus;
  if (!ok)
    return absl::InvalidArgumentError(absl::StrCat("bad JPEG: ", errors.message));
  return applyOrientation(image, orientation);
}

} // namespace mvc::vision::detail
