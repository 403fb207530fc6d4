//===- Files.h - reading input files safely ---------------------*- C++ -*-===//
//
// Every input a user names (configs, tokenizers, chat templates, images, npy files,
// conversation files) is read through readInputFile: only a regular file is read (a FIFO,
// a device or a directory is refused without blocking on it), and only up to a size
// limit, checked before anything is allocated. Errors name the path and what it was for.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_UTIL_FILES_H
#define MVC_RUNTIME_UTIL_FILES_H

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mvc {

/// Limits of inputs read whole (mapped files — weights, artifacts — have none).
constexpr uint64_t kMaxTextInputBytes = uint64_t(1) << 30;   // JSON, templates: 1 GiB
constexpr uint64_t kMaxBinaryInputBytes = uint64_t(4) << 30; // images, npy: 4 GiB

/// The bytes of `path`, a regular file of at most `maxBytes`. `what` says what the file
/// is for ("chat template", "--image"), for the error: NotFound when it cannot be opened,
/// InvalidArgument when it is not a regular file or is too large.
absl::StatusOr<std::string> readInputFile(const std::string &path, absl::string_view what,
                                          uint64_t maxBytes = kMaxTextInputBytes);

} // namespace mvc

#endif // MVC_RUNTIME_UTIL_FILES_H
