//===- ArtifactWriter.cpp -------------------------------------------------===//
#include "compiler/Artifact/ArtifactWriter.h"

#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "runtime/artifact/Format.h"
#include "runtime/util/AtomicFile.h"
#include "runtime/util/Hash.h"
#include "runtime/util/StatusMacros.h"

namespace mvc {

using namespace artifact;

absl::Status ArtifactWriter::checkName(absl::string_view name) const {
  if (name.empty() || name.size() > kSectionNameSize ||
      name.find('\0') != absl::string_view::npos)
    return absl::InvalidArgumentError(absl::StrCat(
        "artifact section name '", name, "' must be 1 to ", kSectionNameSize,
        " bytes without NUL"));
  for (const PendingSection &section : sections)
    if (section.name == name)
      return absl::InvalidArgumentError(absl::StrCat("duplicate artifact section '", name, "'"));
  if (sections.size() >= kMaxSections)
    return absl::InvalidArgumentError(
        absl::StrCat("too many artifact sections (at most ", kMaxSections, ")"));
  return absl::OkStatus();
}

absl::Status ArtifactWriter::addSection(absl::string_view name, absl::string_view bytes,
                                        bool lazyChecksum) {
  auto copy = std::make_shared<std::string>(bytes);
  return addSection(
      name, [copy](const Sink &sink) { return sink(copy->data(), copy->size()); },
      lazyChecksum);
}

absl::Status ArtifactWriter::addSection(absl::string_view name, Producer producer,
                                        bool lazyChecksum) {
  MVC_RETURN_IF_ERROR(checkName(name));
  sections.push_back({std::string(name), std::move(producer), lazyChecksum});
  return absl::OkStatus();
}

absl::Status ArtifactWriter::write(const std::string &path) const {
  std::unique_ptr<AtomicFile> file;
  MVC_ASSIGN_OR_RETURN(file, AtomicFile::create(path));

  // Header and table are written last, once sizes and checksums are known; reserve them.
  std::vector<SectionEntry> table(sections.size());
  uint64_t tableEnd = sizeof(Header) + table.size() * sizeof(SectionEntry);
  std::vector<char> zeros(tableEnd, 0);
  MVC_RETURN_IF_ERROR(file->write(zeros.data(), tableEnd));

  for (size_t i = 0; i < sections.size(); ++i) {
    uint64_t padding = (kAlignment - file->size() % kAlignment) % kAlignment;
    MVC_RETURN_IF_ERROR(file->write(zeros.data(), padding));
    SectionEntry &entry = table[i];
    std::memset(&entry, 0, sizeof(entry));
    std::memcpy(entry.name, sections[i].name.data(), sections[i].name.size());
    entry.offset = file->size();
    entry.flags = sections[i].lazyChecksum ? kSectionLazyChecksum : 0;
    Hasher64 hasher;
    absl::Status status = sections[i].producer([&](const void *data, size_t size) {
      hasher.update(data, size);
      return file->write(data, size);
    });
    if (!status.ok())
      return absl::Status(status.code(), absl::StrCat(path, ": section '", sections[i].name,
                                                      "': ", status.message()));
    entry.size = file->size() - entry.offset;
    entry.checksum = hasher.finish();
  }

  Header header;
  std::memset(&header, 0, sizeof(header));
  std::memcpy(header.magic, kMagic, sizeof(kMagic));
  header.version = kVersion;
  header.numSections = static_cast<uint32_t>(table.size());
  header.fileSize = file->size();
  header.headerChecksum = mvcHash64(table.data(), table.size() * sizeof(SectionEntry));
  MVC_RETURN_IF_ERROR(file->writeAt(0, &header, sizeof(header)));
  MVC_RETURN_IF_ERROR(file->writeAt(sizeof(Header), table.data(),
                                    table.size() * sizeof(SectionEntry)));
  return file->commit();
}

} // namespace mvc
