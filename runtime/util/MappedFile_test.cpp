//===- MappedFile_test.cpp - mapping, and a file truncated under the mapping -===//
#include "runtime/util/MappedFile.h"

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "gtest/gtest.h"

namespace mvc {
namespace {

namespace fs = std::filesystem;

TEST(MappedFile, MapsARegularFileAndRefusesOthers) {
  fs::path path = fs::path(testing::TempDir()) / ("mapped." + std::to_string(getpid()));
  std::ofstream(path) << "bytes";
  auto file = MappedFile::open(path.string());
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(std::string(reinterpret_cast<const char *>((*file)->data()), (*file)->size()), "bytes");
  EXPECT_FALSE(MappedFile::open(testing::TempDir()).ok());
  fs::remove(path);
}

// `truncate` on an artifact a process is running: the next access past the new end is a
// SIGBUS. It becomes one line naming the file and exit status 1, not a bare signal death.
TEST(MappedFileDeathTest, TruncatedWhileMappedExitsWithAMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  fs::path path = fs::path(testing::TempDir()) / ("truncated." + std::to_string(getpid()));
  std::ofstream(path) << std::string(3 * 4096, 'x');
  EXPECT_EXIT(
      {
        auto file = MappedFile::open(path.string());
        if (!file.ok()) std::_Exit(3);
        fs::resize_file(path, 0);
        volatile uint8_t last = (*file)->data()[(*file)->size() - 1];
        (void)last;
        std::_Exit(4); // not reached: the read faults
      },
      testing::ExitedWithCode(1), "changed on disk while in use");
  fs::remove(path);
}

} // namespace
} // namespace mvc
