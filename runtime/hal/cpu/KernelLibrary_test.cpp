#include "runtime/hal/cpu/KernelLibrary.h"

#include <fstream>
#include <sstream>

#include "gtest/gtest.h"

namespace mvc {
namespace {

std::vector<uint8_t> testKernelBytes() {
  std::ifstream in(MVC_TEST_KERNELS_PATH, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  std::string text = out.str();
  EXPECT_FALSE(text.empty()) << "cannot read " << MVC_TEST_KERNELS_PATH;
  return std::vector<uint8_t>(text.begin(), text.end());
}

TEST(KernelLibrary, LoadsFromMemoryAndRunsAKernel) {
  std::vector<uint8_t> bytes = testKernelBytes();
  auto library = KernelLibrary::load(bytes, "t.mvc");
  ASSERT_TRUE(library.ok()) << library.status();
  EXPECT_EQ((*library)->abiVersion(), 1);
  EXPECT_EQ((*library)->kernelNames().size(), 5u);
  auto kernel = (*library)->lookup("record_workgroups");
  ASSERT_TRUE(kernel.ok()) << kernel.status();
  int64_t ids[3] = {};
  void *bindings[1] = {ids};
  for (int64_t wg = 0; wg < 3; ++wg)
    (*kernel)(bindings, nullptr, wg, 3);
  EXPECT_EQ(ids[2], 2003);
  // A second load of the same bytes is an independent library.
  auto second = KernelLibrary::load(bytes, "t.mvc");
  ASSERT_TRUE(second.ok()) << second.status();
}

TEST(KernelLibrary, LookupErrorsSayWhy) {
  auto library = KernelLibrary::load(testKernelBytes(), "t.mvc");
  ASSERT_TRUE(library.ok()) << library.status();
  EXPECT_NE((*library)->lookup("matmul").status().message().find(
                "kernels.cpu: kernel 'matmul' is not in its kernel list"),
            std::string::npos);
  EXPECT_NE((*library)->lookup("unlisted_typo").status().message().find("listed but not exported"),
            std::string::npos);
}

TEST(KernelLibrary, RefusesBytesThatAreNotALibrary) {
  std::vector<uint8_t> junk(64, 0x90);
  EXPECT_NE(KernelLibrary::load(junk, "t.mvc").status().message().find("not an ELF"),
            std::string::npos);
  std::vector<uint8_t> bytes = testKernelBytes();
  // Truncated anywhere, the library is refused before dlopen could touch missing pages.
  for (size_t size = 0; size < bytes.size(); size += 97) {
    auto library = KernelLibrary::load(absl::MakeConstSpan(bytes.data(), size), "t.mvc");
    ASSERT_FALSE(library.ok()) << size;
    EXPECT_NE(library.status().message().find("t.mvc: kernels.cpu: "), std::string::npos);
  }
}

} // namespace
} // namespace mvc
