#include "runtime/util/AtomicFile.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "gtest/gtest.h"

namespace mvc {
namespace {

namespace fs = std::filesystem;

fs::path freshDir(const char *name) {
  fs::path dir = fs::path(testing::TempDir()) / (std::string(name) + "." + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string slurp(const fs::path &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(AtomicFile, CommitRenamesWithPatchedBytes) {
  fs::path dir = freshDir("atomic_commit");
  auto file = AtomicFile::create((dir / "out.bin").string());
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_TRUE((*file)->write("hello world", 11).ok());
  EXPECT_FALSE(fs::exists(dir / "out.bin"));
  ASSERT_TRUE((*file)->writeAt(0, "J", 1).ok());
  EXPECT_EQ((*file)->size(), 11u);
  ASSERT_TRUE((*file)->commit().ok());
  EXPECT_EQ(slurp(dir / "out.bin"), "Jello world");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
}

TEST(AtomicFile, AbandonedFileLeavesNothing) {
  fs::path dir = freshDir("atomic_abandon");
  {
    auto file = AtomicFile::create((dir / "out.bin").string());
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->write("partial", 7).ok());
  }
  EXPECT_TRUE(fs::is_empty(dir));
}

TEST(AtomicFile, MissingDirectoryIsAnError) {
  auto file = AtomicFile::create("/nonexistent-dir-for-mvc-test/out.bin");
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.status().message().find("/nonexistent-dir-for-mvc-test/out.bin"),
            std::string::npos);
}

} // namespace
} // namespace mvc
