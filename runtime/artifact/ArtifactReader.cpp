//===- ArtifactReader.cpp -------------------------------------------------===//
#include "runtime/artifact/ArtifactReader.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "runtime/artifact/Format.h"
#include "runtime/util/Hash.h"
#include "runtime/util/StatusMacros.h"

namespace mvc {

using namespace artifact;

namespace {

absl::Status corrupt(absl::string_view path, absl::string_view what) {
  return absl::DataLossError(absl::StrCat(path, ": ", what));
}

/// The name of a section entry: NUL-padded, at most 32 bytes, nothing after the first NUL.
absl::StatusOr<std::string> sectionName(const SectionEntry &entry) {
  size_t length = strnlen(entry.name, kSectionNameSize);
  for (size_t i = length; i < kSectionNameSize; ++i)
    if (entry.name[i] != '\0')
      return absl::DataLossError("name has bytes after its terminating NUL");
  if (length == 0)
    return absl::DataLossError("empty name");
  return std::string(entry.name, length);
}

} // namespace

absl::StatusOr<std::unique_ptr<ArtifactReader>> ArtifactReader::open(const std::string &path) {
  MVC_ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> file, MappedFile::open(path));
  if (file->size() < sizeof(Header))
    return corrupt(path, absl::StrCat("file is ", file->size(), " bytes, shorter than the ",
                                      sizeof(Header), "-byte header (truncated?)"));
  std::unique_ptr<ArtifactReader> reader(new ArtifactReader(path, std::move(file)));
  MVC_RETURN_IF_ERROR(reader->verify());
  return reader;
}

ArtifactReader::~ArtifactReader() = default;

absl::Status ArtifactReader::verify() {
  Header header;
  std::memcpy(&header, base, sizeof(header));
  if (std::memcmp(header.magic, kMagic, sizeof(kMagic)) != 0)
    return corrupt(filePath, "not an mvc artifact (bad magic)");
  if (header.version != kVersion)
    return corrupt(filePath, absl::StrCat("unsupported artifact version ", header.version,
                                          " (this runtime reads version ", kVersion, ")"));
  if (header.fileSize != mappedSize)
    return corrupt(filePath, absl::StrCat("file is ", mappedSize, " bytes but its header says ",
                                          header.fileSize,
                                          mappedSize < header.fileSize ? " (truncated)" : ""));
  for (uint8_t byte : header.reserved)
    if (byte != 0)
      return corrupt(filePath, "header reserved bytes are not zero");
  if (header.numSections > kMaxSections)
    return corrupt(filePath, absl::StrCat(header.numSections, " sections (at most ",
                                          kMaxSections, ")"));
  uint64_t tableSize = uint64_t{header.numSections} * sizeof(SectionEntry);
  if (sizeof(Header) + tableSize > mappedSize)
    return corrupt(filePath, "section table runs past the end of the file");
  const uint8_t *table = base + sizeof(Header);
  if (mvcHash64(table, tableSize) != header.headerChecksum)
    return corrupt(filePath, "section table checksum mismatch (corrupted)");

  for (uint32_t i = 0; i < header.numSections; ++i) {
    SectionEntry entry;
    std::memcpy(&entry, table + i * sizeof(SectionEntry), sizeof(entry));
    std::string where = absl::StrCat("section ", i);
    absl::StatusOr<std::string> name = sectionName(entry);
    if (!name.ok())
      return corrupt(filePath, absl::StrCat(where, ": ", name.status().message()));
    where = absl::StrCat("section '", *name, "'");
    if (findSection(*name))
      return corrupt(filePath, where + " appears twice");
    if (entry.offset % kAlignment != 0)
      return corrupt(filePath, absl::StrCat(where, ": offset ", entry.offset,
                                            " is not a multiple of ", kAlignment));
    if (entry.offset < sizeof(Header) + tableSize || entry.offset > mappedSize ||
        entry.size > mappedSize - entry.offset)
      return corrupt(filePath, absl::StrCat(where, ": bytes [", entry.offset, ", +", entry.size,
                                            ") are outside the payload area of the ",
                                            mappedSize, "-byte file"));
    if ((entry.flags & ~kKnownSectionFlags) != 0)
      return corrupt(filePath, absl::StrCat(where, ": unknown flags ", entry.flags));
    Section section{*name, entry.offset, entry.size, entry.checksum, entry.flags,
                    absl::MakeConstSpan(base + entry.offset, entry.size)};
    if (!(entry.flags & kSectionLazyChecksum) &&
        mvcHash64(section.bytes.data(), section.bytes.size()) != entry.checksum)
      return corrupt(filePath, where + ": checksum mismatch (corrupted)");
    sectionList.push_back(std::move(section));
  }

  const Section *manifestSection = findSection(kManifestSection);
  if (!manifestSection)
    return corrupt(filePath, "no 'manifest' section");
  absl::string_view text(reinterpret_cast<const char *>(manifestSection->bytes.data()),
                         manifestSection->bytes.size());
  absl::StatusOr<Manifest> manifest = parseManifest(text);
  if (!manifest.ok())
    return absl::Status(manifest.status().code(),
                        absl::StrCat(filePath, ": ", manifest.status().message()));
  parsedManifest = std::move(*manifest);

  const Section *weights = findSection(kWeightsSection);
  uint64_t weightsSize = weights ? weights->size : 0;
  for (size_t i = 0; i < parsedManifest.weights.size(); ++i) {
    const WeightInfo &weight = parsedManifest.weights[i];
    if (weight.offset > weightsSize || weight.size > weightsSize - weight.offset)
      return absl::InvalidArgumentError(absl::StrCat(
          filePath, ": manifest: weights[", i, "] ('", weight.name, "'): bytes [", weight.offset,
          ", +", weight.size, ") are outside the ", weightsSize, "-byte weights section"));
  }
  return absl::OkStatus();
}

const ArtifactReader::Section *ArtifactReader::findSection(absl::string_view name) const {
  for (const Section &section : sectionList)
    if (section.name == name)
      return &section;
  return nullptr;
}

absl::Span<const uint8_t> ArtifactReader::weightBytes(const WeightInfo &weight) const {
  const Section *weights = findSection(kWeightsSection);
  if (!weights)
    return {};
  return weights->bytes.subspan(weight.offset, weight.size);
}

absl::Status ArtifactReader::verifyWeights() const {
  for (const Section &section : sectionList)
    if ((section.flags & kSectionLazyChecksum) &&
        mvcHash64(section.bytes.data(), section.bytes.size()) != section.checksum)
      return corrupt(filePath, "section '" + section.name + "': checksum mismatch (corrupted)");
  return absl::OkStatus();
}

} // namespace mvc
