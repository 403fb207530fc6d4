#include "runtime/text/TestFixtures.h"

#include <zlib.h>

#include <fstream>
#include <sstream>

namespace mvc::text::testing {
namespace {

std::optional<std::string> readPlain(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::optional<std::string> readGzip(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) return std::nullopt;
  std::string out;
  char buffer[1 << 16];
  int n;
  while ((n = gzread(file, buffer, sizeof(buffer))) > 0) out.append(buffer, n);
  bool ok = n == 0;
  gzclose(file);
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace

std::string fixtureSearchPath() {
  return std::string(MVC_PROJECT_FIXTURES) + ", " + MVC_SHARED_FIXTURES + "/tokenizers and " +
         MVC_SHARED_FIXTURES;
}

std::optional<std::string> readFixture(std::string_view relative_path) {
  const std::string relative(relative_path);
  const std::string project = std::string(MVC_PROJECT_FIXTURES) + "/" + relative;
  if (auto data = readGzip(project + ".gz")) return data;
  if (auto data = readPlain(project)) return data;
  if (auto data = readPlain(std::string(MVC_SHARED_FIXTURES) + "/tokenizers/" + relative)) {
    return data;
  }
  return readPlain(std::string(MVC_SHARED_FIXTURES) + "/" + relative);
}

std::optional<std::vector<std::string>> readFixtureLines(std::string_view relative_path) {
  auto data = readFixture(relative_path);
  if (!data) return std::nullopt;
  std::vector<std::string> lines;
  std::istringstream in(*data);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

}  // namespace mvc::text::testing
