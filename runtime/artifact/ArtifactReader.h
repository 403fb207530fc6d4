//===- ArtifactReader.h - memory-map and verify a .mvc artifact ------------===//
//
// open() maps the file read-only and refuses it unless: the magic and version match, the
// recorded file size is the real one, the section table fits, its checksum matches, every
// section is 64-byte aligned and inside the file with a unique NUL-padded name and known
// flags, every eagerly checked section (manifest, kernels) matches its checksum, and the
// manifest parses and validates (with weights inside the weights section). Lazily checked
// sections (weights) are verified by verifyWeights().
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_ARTIFACT_ARTIFACTREADER_H
#define MVC_RUNTIME_ARTIFACT_ARTIFACTREADER_H

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "runtime/artifact/Manifest.h"
#include "runtime/util/MappedFile.h"

namespace mvc {

class ArtifactReader {
public:
  struct Section {
    std::string name;
    uint64_t offset = 0;
    uint64_t size = 0;
    uint64_t checksum = 0;
    uint64_t flags = 0;
    absl::Span<const uint8_t> bytes;
  };

  /// Maps and verifies `path`; every error starts with the path.
  static absl::StatusOr<std::unique_ptr<ArtifactReader>> open(const std::string &path);
  ~ArtifactReader();
  ArtifactReader(const ArtifactReader &) = delete;
  ArtifactReader &operator=(const ArtifactReader &) = delete;

  const std::string &path() const { return filePath; }
  const Manifest &manifest() const { return parsedManifest; }
  const std::vector<Section> &sections() const { return sectionList; }
  /// The section called `name`, or nullptr.
  const Section *findSection(absl::string_view name) const;
  /// The bytes of a weight (inside the weights section; checked at open).
  absl::Span<const uint8_t> weightBytes(const WeightInfo &weight) const;
  /// Checks the checksums of the sections flagged lazy (the weights, gigabytes: on request).
  absl::Status verifyWeights() const;

private:
  ArtifactReader(std::string path, std::unique_ptr<MappedFile> file)
      : filePath(std::move(path)), file(std::move(file)), base(this->file->data()),
        mappedSize(this->file->size()) {}
  absl::Status verify();

  std::string filePath;
  std::unique_ptr<MappedFile> file;
  const uint8_t *base;
  size_t mappedSize;
  std::vector<Section> sectionList;
  Manifest parsedManifest;
};

} // namespace mvc

#endif // MVC_RUNTIME_ARTIFACT_ARTIFACTREADER_H
