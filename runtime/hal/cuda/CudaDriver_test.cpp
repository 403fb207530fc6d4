#include "runtime/hal/cuda/CudaDriver.h"

#include <gtest/gtest.h>

namespace mvc {
namespace {

// Build machines have no GPU and usually no driver; GPU machines have both. Either way
// loading must not crash, and a failure must say what is missing.
TEST(CudaDriver, LoadsOrSaysWhatIsMissing) {
  auto driver = CudaDriver::load();
  if (!driver.ok()) {
    std::string message(driver.status().message());
    EXPECT_TRUE(message.rfind("no CUDA driver found: ", 0) == 0 ||
                message.rfind("CUDA driver failed to initialize", 0) == 0)
        << message;
    return;
  }
  auto first = (*driver)->device(0);
  if ((*driver)->deviceCount() == 0) {
    ASSERT_FALSE(first.ok());
    EXPECT_EQ(first.status().message(), "no CUDA device");
  } else {
    ASSERT_TRUE(first.ok()) << first.status();
    EXPECT_GE(first->computeMajor, 3);
  }
  auto beyond = (*driver)->device((*driver)->deviceCount() + 3);
  EXPECT_FALSE(beyond.ok());
}

TEST(CudaDriver, AMissingLibraryIsNamed) {
  auto driver = CudaDriver::load("libmvc-no-such-cuda-driver.so.1");
  ASSERT_FALSE(driver.ok());
  EXPECT_NE(driver.status().message().find("no CUDA driver found: "), std::string::npos);
  EXPECT_NE(driver.status().message().find("libmvc-no-such-cuda-driver.so.1"), std::string::npos);
}

TEST(CudaDriver, ALibraryWithoutTheDriverApiIsRefused) {
  // libm is present everywhere and has none of the driver's entry points.
  auto driver = CudaDriver::load("libm.so.6");
  ASSERT_FALSE(driver.ok());
  EXPECT_EQ(driver.status().message(),
            "no CUDA driver found: libm.so.6 has no entry point cuInit");
}

} // namespace
} // namespace mvc
