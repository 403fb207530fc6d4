//===- ManifestWriter.h - typed manifest to its JSON text -----------------===//
//
// The inverse of parseManifest() (Manifest.h): the compiler fills a Manifest and writes it
// with writeManifest(), so the one definition of the format's structs serves both sides.
// parseManifest(writeManifest(m)) == m for any manifest parseManifest accepts whose
// target-specific fields match its target (below: the writer leaves out the other kind's).
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_ARTIFACT_MANIFESTWRITER_H
#define MVC_RUNTIME_ARTIFACT_MANIFESTWRITER_H

#include <string>

#include "runtime/artifact/Manifest.h"

namespace mvc {

/// The manifest JSON of FORMAT.md "Manifest", one space of indentation per level. Buffer
/// references are positions as parseManifest leaves them (bindings, src/dst and tensor
/// buffers index `buffers`; weight and state buffers index the manifest's lists) and must
/// be in range. Every optional field is written except: `block`/`shared_bytes` only for a
/// gpu target, `cpu`/`cpu_features` only for a cpu one (`variants` for the others), an
/// output buffer's `size` when it has one, `language_model` when it is not null.
std::string writeManifest(const Manifest &manifest);

} // namespace mvc

#endif // MVC_RUNTIME_ARTIFACT_MANIFESTWRITER_H
