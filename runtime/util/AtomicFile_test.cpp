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

// A symlink planted where the output goes is replaced, never written through; a device
// or a directory at the target is refused and left as it was.
TEST(AtomicFile, NeverWritesThroughALinkOrOverADevice) {
  fs::path dir = freshDir("atomic_hostile");
  std::ofstream(dir / "victim") << "precious";
  fs::create_symlink(dir / "victim", dir / "out.bin");
  auto file = AtomicFile::create((dir / "out.bin").string());
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().message(),
            "output '" + (dir / "out.bin").string() + "' exists and is not a regular file; not replacing it");
  std::ifstream victim(dir / "victim");
  std::string text((std::istreambuf_iterator<char>(victim)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "precious");
  EXPECT_FALSE(AtomicFile::create("/dev/null").ok());
  EXPECT_FALSE(AtomicFile::create(dir.string()).ok());
  EXPECT_FALSE(AtomicFile::create("").ok());
}

// Two writers of one path (two compiles, or a temp name an attacker guessed) never share a
// temporary: each gets its own.
TEST(AtomicFile, TemporariesAreUnique) {
  fs::path dir = freshDir("atomic_unique");
  auto a = AtomicFile::create((dir / "out.bin").string());
  auto b = AtomicFile::create((dir / "out.bin").string());
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE((*a)->write("a", 1).ok());
  ASSERT_TRUE((*b)->write("bb", 2).ok());
  ASSERT_TRUE((*a)->commit().ok());
  ASSERT_TRUE((*b)->commit().ok());
  EXPECT_EQ(fs::file_size(dir / "out.bin"), 2u);
}

} // namespace
} // namespace mvc
