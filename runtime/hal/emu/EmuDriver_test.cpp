// The emulated driver behind CudaDriver, as the CUDA HAL uses it: module loading from
// bytes, memory, launches, graph capture, and the errors a GPU's driver would report.
#include "runtime/hal/emu/EmuDriver.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <vector>

#include "runtime/hal/cuda/CudaDriver.h"
#include "runtime/hal/cuda/DeviceMemoryPool.h"

namespace mvc::emu {
namespace {

class EmuDriverTest : public ::testing::Test {
protected:
  void SetUp() override {
    auto loaded = CudaDriver::fromApi(driverApi());
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    driver = std::move(*loaded);
    std::ifstream file(MVC_TEST_EMU_KERNELS_PATH, std::ios::binary);
    image.assign(std::istreambuf_iterator<char>(file), {});
    ASSERT_FALSE(image.empty());
    ASSERT_TRUE(ok(api().cuModuleLoadData(&module, image.data()), "load"));
  }
  void TearDown() override {
    if (module) api().cuModuleUnload(module);
  }
  const CudaDriverApi &api() { return driver->api(); }
  ::testing::AssertionResult ok(CUresult rc, const std::string &what) {
    absl::Status status = driver->check(rc, what);
    if (status.ok()) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << status;
  }
  CUfunction function(const char *name) {
    CUfunction f = nullptr;
    EXPECT_TRUE(ok(api().cuModuleGetFunction(&f, module, name), name));
    return f;
  }

  std::unique_ptr<CudaDriver> driver;
  std::vector<char> image;
  CUmodule module = nullptr;
};

TEST_F(EmuDriverTest, ReportsOneSm80Device) {
  auto device = driver->device(0);
  ASSERT_TRUE(device.ok()) << device.status();
  EXPECT_EQ(device->name, "mvc cuda-emu");
  EXPECT_EQ(device->computeMajor, 8);
  EXPECT_EQ(device->computeMinor, 0);
}

TEST_F(EmuDriverTest, CopiesAndLaunchesOnAStream) {
  const int64_t n = 1000;
  std::vector<float> in(n), out(n);
  for (int64_t i = 0; i < n; ++i) in[i] = static_cast<float>(i);
  CUdeviceptr dIn = 0, dOut = 0;
  CUstream stream = nullptr;
  ASSERT_TRUE(ok(api().cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING), "stream"));
  ASSERT_TRUE(ok(api().cuMemAlloc(&dIn, n * 4), "alloc"));
  ASSERT_TRUE(ok(api().cuMemAlloc(&dOut, n * 4), "alloc"));
  ASSERT_TRUE(ok(api().cuMemcpyHtoDAsync(dIn, in.data(), n * 4, stream), "h2d"));
  void *params[] = {&dIn, &dOut, const_cast<int64_t *>(&n)};
  ASSERT_TRUE(ok(api().cuLaunchKernel(function("add_one"), 8, 1, 1, 128, 1, 1, 0, stream, params,
                                      nullptr), "launch"));
  ASSERT_TRUE(ok(api().cuMemcpyDtoHAsync(out.data(), dOut, n * 4, stream), "d2h"));
  ASSERT_TRUE(ok(api().cuStreamSynchronize(stream), "sync"));
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(out[i], i + 1.0f) << i;
  api().cuMemFree(dIn);
  api().cuMemFree(dOut);
  api().cuStreamDestroy(stream);
}

TEST_F(EmuDriverTest, ACapturedGraphReplaysWithTheArgumentsOfCaptureTime) {
  std::vector<float> in(512), out(512);
  for (int i = 0; i < 512; ++i) in[i] = static_cast<float>(i);
  CUdeviceptr dIn = 0, dOut = 0;
  ASSERT_TRUE(ok(api().cuMemAlloc(&dIn, 2048), "alloc"));
  ASSERT_TRUE(ok(api().cuMemAlloc(&dOut, 2048), "alloc"));
  CUstream stream = nullptr;
  api().cuStreamCreate(&stream, 0);
  ASSERT_TRUE(ok(api().cuStreamBeginCapture(stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL), "capture"));
  api().cuMemcpyHtoDAsync(dIn, in.data(), 2048, stream);
  CUdeviceptr args[2] = {dIn, dOut};
  void *params[] = {&args[0], &args[1]};
  api().cuLaunchKernel(function("reverse"), 2, 1, 1, 256, 1, 1, 0, stream, params, nullptr);
  args[1] = 0; // the launch copied its arguments when it was captured
  CUgraph graph = nullptr;
  CUgraphExec exec = nullptr;
  ASSERT_TRUE(ok(api().cuStreamEndCapture(stream, &graph), "end capture"));
  ASSERT_TRUE(ok(api().cuGraphInstantiateWithFlags(&exec, graph, 0), "instantiate"));
  std::vector<float> zeros(512, 0.0f);
  api().cuMemcpyHtoD(dOut, zeros.data(), 2048);
  ASSERT_TRUE(ok(api().cuGraphLaunch(exec, stream), "graph launch"));
  api().cuMemcpyDtoH(out.data(), dOut, 2048);
  for (int i = 0; i < 512; ++i) ASSERT_EQ(out[i], in[i / 256 * 256 + 255 - i % 256]) << i;
  api().cuGraphExecDestroy(exec);
  api().cuGraphDestroy(graph);
  api().cuStreamDestroy(stream);
  api().cuMemFree(dIn);
  api().cuMemFree(dOut);
}

TEST_F(EmuDriverTest, ThePoolReusesBlocksOfTheSameSizeClass) {
  EXPECT_EQ(DeviceMemoryPool::sizeClass(1), 256u);
  EXPECT_EQ(DeviceMemoryPool::sizeClass(1000), 1024u);
  EXPECT_EQ(DeviceMemoryPool::sizeClass((1 << 20) + 1), 2u << 20);
  DeviceMemoryPool pool(*driver);
  auto first = pool.allocate(900);
  ASSERT_TRUE(first.ok()) << first.status();
  pool.release(*first, 900);
  EXPECT_EQ(pool.cachedBytes(), 1024u);
  auto again = pool.allocate(1000);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *first);
  auto other = pool.allocate(100);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(*other, *first);
  EXPECT_EQ(pool.allocatedBytes(), 1024u + 256u);
  pool.release(*again, 1000);
  pool.release(*other, 100);
}

TEST_F(EmuDriverTest, ErrorsNameWhatIsWrong) {
  CUdeviceptr small = 0;
  ASSERT_TRUE(ok(api().cuMemAlloc(&small, 64), "alloc"));
  float host[32];
  absl::Status copy = driver->check(api().cuMemcpyHtoD(small + 32, host, 64), "copy");
  EXPECT_NE(copy.message().find("cuMemcpyHtoD destination: 64 bytes at device address"),
            std::string::npos) << copy;
  int64_t offset = 0;
  void *params[] = {&offset};
  absl::Status launch = driver->check(
      api().cuLaunchKernel(function("shared_write"), 1, 1, 1, 32, 1, 1, 64 * 1024, nullptr,
                           params, nullptr), "launch");
  EXPECT_NE(launch.message().find("65536 bytes of dynamic shared memory, above 49152 (raise it "
                                  "with cuFuncSetAttribute)"), std::string::npos) << launch;
  absl::Status shape = driver->check(
      api().cuLaunchKernel(function("shared_write"), 1, 1, 1, 2048, 1, 1, 0, nullptr, params,
                           nullptr), "launch");
  EXPECT_NE(shape.message().find("block (2048,1,1) is outside 1..1024 threads"),
            std::string::npos) << shape;
  CUfunction missing = nullptr;
  absl::Status lookup = driver->check(api().cuModuleGetFunction(&missing, module, "nope"), "get");
  EXPECT_NE(lookup.message().find("the module has no kernel 'nope'"), std::string::npos) << lookup;
  const char ptx[] = "//\n.version 8.0\n";
  CUmodule other = nullptr;
  absl::Status load = driver->check(api().cuModuleLoadData(&other, ptx), "load");
  EXPECT_NE(load.message().find("a cubin or PTX needs a GPU"), std::string::npos) << load;
  api().cuMemFree(small);
}

TEST_F(EmuDriverTest, ASharedMemoryOverrunIsNamedBeforeTheProcessDies) {
  int64_t offset = 200; // 64 bytes of static shared memory, 128-byte aligned
  void *params[] = {&offset};
  EXPECT_DEATH(api().cuLaunchKernel(function("shared_write"), 1, 1, 1, 32, 1, 1, 0, nullptr,
                                    params, nullptr),
               "cuda-emu: kernel 'shared_write' block \\(0,0,0\\) thread \\(0,0,0\\): "
               "Segmentation fault at address 0x[0-9a-f]+: shared memory access at byte 200 of "
               "a block arena of 64 bytes");
}

} // namespace
} // namespace mvc::emu
