//===- RunMvcRun.h - run the mvc-run binary from a test ----------*- C++ -*-===//
#ifndef MVC_TOOLS_MVC_RUN_RUNMVCRUN_H
#define MVC_TOOLS_MVC_RUN_RUNMVCRUN_H

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>

namespace mvc::testing {

struct ToolResult {
  int exitCode;
  std::string out, err;
};

/// Runs `MVC_RUN_PATH args` through the shell, capturing stdout and stderr in `scratch`.
inline ToolResult runMvcRun(const std::string &args, const std::filesystem::path &scratch) {
  std::string outPath = (scratch / "stdout").string(), errPath = (scratch / "stderr").string();
  std::string command = std::string(MVC_RUN_PATH) + " " + args + " > " + outPath + " 2> " + errPath;
  int status = std::system(command.c_str());
  auto slurp = [](const std::string &path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  };
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(outPath), slurp(errPath)};
}

} // namespace mvc::testing

#endif // MVC_TOOLS_MVC_RUN_RUNMVCRUN_H
