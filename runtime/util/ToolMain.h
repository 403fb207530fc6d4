//===- ToolMain.h - no exception escapes a tool ---------------------*- C++ -*-===//
//
// mvc's code reports errors as absl::Status, but the standard library and the
// dependencies throw: std::bad_alloc when an input asks for more memory than there is,
// std::system_error when threads cannot be created, nlohmann's exceptions. guardedMain
// turns anything that escapes a tool's body into one line "TOOL: error: ..." and exit
// status 1, never an abort (and its core dump, status 134).
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_UTIL_TOOLMAIN_H
#define MVC_RUNTIME_UTIL_TOOLMAIN_H

#include <cstdio>
#include <exception>
#include <new>

namespace mvc {

template <typename Body>
int guardedMain(const char *tool, Body &&body) {
  try {
    return body();
  } catch (const std::bad_alloc &) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s: error: out of memory\n", tool);
  } catch (const std::exception &e) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s: error: %s\n", tool, e.what());
  } catch (...) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s: error: unexpected exception\n", tool);
  }
  return 1;
}

} // namespace mvc

#endif // MVC_RUNTIME_UTIL_TOOLMAIN_H
