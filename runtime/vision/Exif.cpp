//===- Exif.cpp - EXIF orientation -----------------------------------------===//
#include "runtime/vision/Exif.h"

#include <cstring>

namespace mvc::vision {

namespace {

/// Reads TIFF integers in the byte order the header declared; every read is bounds-checked.
struct TiffReader {
  absl::Span<const uint8_t> data;
  bool bigEndian = false;

  bool u16(size_t offset, uint32_t &value) const {
    if (offset + 2 > data.size())
      return false;
    value = bigEndian ? (data[offset] << 8 | data[offset + 1])
                      : (data[offset + 1] << 8 | data[offset]);
    return true;
  }
  bool u32(size_t offset, uint32_t &value) const {
    uint32_t hi, lo;
    if (!u16(offset, bigEndian ? hi : lo) || !u16(offset + 2, bigEndian ? lo : hi))
      return false;
    value = hi << 16 | lo;
    return true;
  }
};

constexpr uint32_t kOrientationTag = 0x0112;
constexpr uint32_t kTiffShort = 3;

} // namespace

int exifOrientation(absl::Span<const uint8_t> app1) {
  static constexpr char kMagic[] = "Exif\0\0";
  if (app1.size() < 6 || std::memcmp(app1.data(), kMagic, 6) != 0)
    return 1;
  TiffReader tiff{app1.subspan(6)};
  if (tiff.data.size() < 8)
    return 1;
  if (tiff.data[0] == 'M' && tiff.data[1] == 'M')
    tiff.bigEndian = true;
  else if (tiff.data[0] != 'I' || tiff.data[1] != 'I')
    return 1;
  uint32_t magic, ifd, count;
  if (!tiff.u16(2, magic) || magic != 42 || !tiff.u32(4, ifd) || !tiff.u16(ifd, count))
    return 1;
  for (uint32_t i = 0; i < count; ++i) {
    size_t entry = size_t(ifd) + 2 + size_t(i) * 12;
    uint32_t tag, type, value;
    if (!tiff.u16(entry, tag) || !tiff.u16(entry + 2, type) || !tiff.u16(entry + 8, value))
      return 1;
    if (tag == kOrientationTag)
      return type == kTiffShort && value >= 1 && value <= 8 ? int(value) : 1;
  }
  return 1;
}

RgbImage applyOrientation(const RgbImage &image, int orientation) {
  if (orientation < 2 || orientation > 8)
    return image;
  const int64_t h = image.height, w = image.width;
  const bool swapsAxes = orientation >= 5;
  RgbImage out{swapsAxes ? w : h, swapsAxes ? h : w, {}};
  out.pixels.resize(image.pixels.size());
  for (int64_t y = 0; y < out.height; ++y) {
    for (int64_t x = 0; x < out.width; ++x) {
      int64_t sy = y, sx = x; // the source pixel shown at (y, x)
      switch (orientation) {
      case 2: sx = w - 1 - x; break;
      case 3: sy = h - 1 - y; sx = w - 1 - x; break;
      case 4: sy = h - 1 - y; break;
      case 5: sy = x; sx = y; break;
      case 6: sy = h - 1 - x; sx = y; break;
      case 7: sy = h - 1 - x; sx = w - 1 - y; break;
      case 8: sy = x; sx = w - 1 - y; break;
      }
      std::memcpy(out.at(y, x), image.at(sy, sx), 3);
    }
  }
  return out;
}

} // namespace mvc::vision
