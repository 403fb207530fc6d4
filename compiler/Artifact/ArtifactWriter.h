//===- ArtifactWriter.h - write a .mvc artifact (FORMAT.md) ----------------===//
//
// Collects named sections, then write() lays them out: header, section table, payloads at
// 64-byte aligned offsets, checksums. The file appears only when complete: it is written
// to `OUT.tmp.<pid>` and renamed; on any error the temporary is removed.
//
// MLIR-free on purpose: the compiler links it, and the runtime tests use it to build
// artifacts without the compiler.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_COMPILER_ARTIFACT_ARTIFACTWRITER_H
#define MVC_COMPILER_ARTIFACT_ARTIFACTWRITER_H

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace mvc {

class ArtifactWriter {
public:
  /// Appends bytes to the section being written.
  using Sink = std::function<absl::Status(const void *data, size_t size)>;
  /// Streams a section's bytes into the sink (weights too large to hold twice).
  using Producer = std::function<absl::Status(const Sink &sink)>;

  /// Adds a section holding a copy of `bytes`. `lazyChecksum` sets flag bit 0 (verified on
  /// request, for the weights). Errors: bad or duplicate name, more than 64 sections.
  absl::Status addSection(absl::string_view name, absl::string_view bytes,
                          bool lazyChecksum = false);
  /// Adds a section whose bytes `producer` streams when write() runs.
  absl::Status addSection(absl::string_view name, Producer producer, bool lazyChecksum = false);

  /// Writes the artifact to `path` atomically. May be called more than once.
  absl::Status write(const std::string &path) const;

private:
  struct PendingSection {
    std::string name;
    Producer producer;
    bool lazyChecksum;
  };
  absl::Status checkName(absl::string_view name) const;

  std::vector<PendingSection> sections;
};

} // namespace mvc

#endif // MVC_COMPILER_ARTIFACT_ARTIFACTWRITER_H
