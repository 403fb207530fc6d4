//===- Format.h - the binary layout of a .mvc artifact (FORMAT.md) ---------===//
//
// Shared by the writer (compiler/Artifact) and the reader (runtime/artifact); FORMAT.md is
// the contract, these structs are its C++ spelling. Everything is little-endian.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_ARTIFACT_FORMAT_H
#define MVC_RUNTIME_ARTIFACT_FORMAT_H

#include <cstddef>
#include <cstdint>

namespace mvc::artifact {

inline constexpr char kMagic[8] = {'M', 'V', 'C', 'A', 'R', 'T', '\0', '\1'};
inline constexpr uint32_t kVersion = 1;
inline constexpr uint32_t kMaxSections = 64;
/// Every section payload starts at a multiple of this.
inline constexpr uint64_t kAlignment = 64;
inline constexpr size_t kSectionNameSize = 32;

/// SectionEntry::flags bit 0: the checksum is verified on request (weights), not at load.
inline constexpr uint64_t kSectionLazyChecksum = 1;
inline constexpr uint64_t kKnownSectionFlags = kSectionLazyChecksum;

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t numSections;
  uint64_t fileSize;
  uint64_t headerChecksum; // mvcHash64 of the section table bytes
  uint8_t reserved[32];    // zero
};

struct SectionEntry {
  char name[kSectionNameSize]; // NUL-padded
  uint64_t offset;             // kAlignment-aligned, offset + size <= fileSize
  uint64_t size;
  uint64_t checksum; // mvcHash64 of the payload
  uint64_t flags;
};

static_assert(sizeof(Header) == 64, "FORMAT.md: the header is 64 bytes");
static_assert(offsetof(Header, version) == 8 && offsetof(Header, numSections) == 12 &&
                  offsetof(Header, fileSize) == 16 && offsetof(Header, headerChecksum) == 24 &&
                  offsetof(Header, reserved) == 32,
              "FORMAT.md header field offsets");
static_assert(sizeof(SectionEntry) == 64, "FORMAT.md: a section entry is 64 bytes");
static_assert(offsetof(SectionEntry, offset) == 32 && offsetof(SectionEntry, size) == 40 &&
                  offsetof(SectionEntry, checksum) == 48 && offsetof(SectionEntry, flags) == 56,
              "FORMAT.md section entry field offsets");

/// Section names used by the runtime.
inline constexpr char kManifestSection[] = "manifest";
inline constexpr char kCpuKernelsSection[] = "kernels.cpu";
inline constexpr char kWeightsSection[] = "weights";

} // namespace mvc::artifact

#endif // MVC_RUNTIME_ARTIFACT_FORMAT_H
