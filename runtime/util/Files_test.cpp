//===- Files_test.cpp - readInputFile and parseJson refuse what they must -===//
#include "runtime/util/Files.h"
#include "runtime/util/Json.h"

#include <filesystem>
#include <fstream>
#include <sys/stat.h>

#include "gtest/gtest.h"

namespace mvc {
namespace {

namespace fs = std::filesystem;

fs::path freshDir(const std::string &name) {
  fs::path dir = fs::temp_directory_path() / ("mvc_files_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

TEST(ReadInputFile, ReadsARegularFile) {
  fs::path dir = freshDir("regular");
  std::ofstream(dir / "a.json") << "{\"x\": 1}";
  auto bytes = readInputFile((dir / "a.json").string(), "config");
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_EQ(*bytes, "{\"x\": 1}");
}

// Each of these once hung (FIFO), aborted (directory: std::ios_failure) or read without
// bound (/dev/zero) in some tool.
TEST(ReadInputFile, RefusesWhatIsNotARegularFileWithoutBlocking) {
  fs::path dir = freshDir("special");
  std::string fifo = (dir / "fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto f = readInputFile(fifo, "--image");
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(f.status().message(),
            "--image '" + fifo + "' is not a regular file (a device, FIFO or socket)");
  auto d = readInputFile(dir.string(), "config.json");
  EXPECT_EQ(d.status().message(), "config.json '" + dir.string() + "' is a directory, not a file");
  EXPECT_EQ(readInputFile("/dev/zero", "--pixel-values").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(readInputFile((dir / "missing").string(), "chat template").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(ReadInputFile, RefusesAFileLargerThanItsLimitBeforeReading) {
  fs::path dir = freshDir("large");
  std::ofstream(dir / "big") << std::string(1000, 'x');
  auto r = readInputFile((dir / "big").string(), "tokenizer.json", 999);
  EXPECT_EQ(r.status().message(), "tokenizer.json '" + (dir / "big").string() +
                                      "' is 1000 bytes, more than the 999 it may have");
  EXPECT_TRUE(readInputFile((dir / "big").string(), "tokenizer.json", 1000).ok());
}

TEST(ParseJson, AcceptsDepthUpToTheLimitAndRefusesDeeper) {
  auto nested = [](int depth) {
    return std::string(depth, '[') + std::string(depth, ']');
  };
  EXPECT_TRUE(parseJson(nested(kMaxJsonDepth), "x.json").ok());
  auto deep = parseJson(nested(kMaxJsonDepth + 1), "x.json");
  EXPECT_EQ(deep.status().message(), "x.json: JSON nested deeper than 64 levels");
  // 100,000 levels: once a stack overflow in the code that walked the document.
  auto hostile = parseJson<nlohmann::json>(
      "{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}", "config.json");
  EXPECT_EQ(hostile.status().message(), "config.json: JSON nested deeper than 64 levels");
  auto bad = parseJson("{\"a\": tru}", "tokenizer.json");
  EXPECT_EQ(bad.status().message(), "tokenizer.json: not valid JSON (byte 10)");
  // A number beyond double threw out_of_range past the parse_error handler: an abort.
  auto huge = parseJson("{\"a\": 2222E2222222}", "manifest");
  EXPECT_EQ(huge.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(huge.status().message().find("manifest: not valid JSON (") , std::string::npos);
}

} // namespace
} // namespace mvc
