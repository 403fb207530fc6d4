// The emulator checked through the whole cuda-emu path: the hand-written NVVM kernels of
// test/Inputs/selftest.mlir are compiled by buildEmuKernelLibrary (the rewrite passes and
// the cpu backend's object/link path), loaded by the emulated driver and launched the way
// the CUDA HAL launches; results are compared with references computed here. A wrong
// fragment layout, shuffle rule or barrier makes these fail.
#include "compiler/Codegen/Emu/EmuCodegen.h"
#include "runtime/hal/cuda/CudaDriver.h"
#include "runtime/hal/emu/EmuDriver.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

namespace mvc {
namespace {

uint16_t toBf16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  bits += 0x7fff + (bits >> 16 & 1);
  return static_cast<uint16_t>(bits >> 16);
}
float fromBf16(uint16_t bits) {
  uint32_t wide = uint32_t{bits} << 16;
  float value;
  std::memcpy(&value, &wide, 4);
  return value;
}
float tf32(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  bits &= 0xffffe000u;
  std::memcpy(&value, &bits, 4);
  return value;
}

class EmuSelfTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    mlir::DialectRegistry registry;
    registry.insert<mlir::LLVM::LLVMDialect, mlir::NVVM::NVVMDialect, mlir::gpu::GPUDialect>();
    context = new mlir::MLIRContext(registry);
    auto module = mlir::parseSourceFile<mlir::ModuleOp>(MVC_EMU_SELFTEST_KERNELS, context);
    ASSERT_TRUE(module) << "cannot parse " << MVC_EMU_SELFTEST_KERNELS;
    auto library = buildEmuKernelLibrary(*module);
    ASSERT_TRUE(library.ok()) << library.status();
    image = new std::string(std::move(*library));
    auto loaded = CudaDriver::fromApi(emu::driverApi());
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    driver = loaded->release();
    ASSERT_EQ(driver->api().cuModuleLoadData(&module_, image->data()), CUDA_SUCCESS);
  }

  /// Copies `host` to a new device buffer.
  template <typename T> CUdeviceptr upload(const std::vector<T> &host) {
    CUdeviceptr pointer = 0;
    EXPECT_EQ(driver->api().cuMemAlloc(&pointer, host.size() * sizeof(T)), CUDA_SUCCESS);
    EXPECT_EQ(driver->api().cuMemcpyHtoD(pointer, host.data(), host.size() * sizeof(T)),
              CUDA_SUCCESS);
    buffers.push_back(pointer);
    return pointer;
  }
  template <typename T> std::vector<T> download(CUdeviceptr pointer, size_t count) {
    std::vector<T> host(count);
    EXPECT_EQ(driver->api().cuMemcpyDtoH(host.data(), pointer, count * sizeof(T)), CUDA_SUCCESS);
    return host;
  }
  absl::Status launch(const char *kernel, unsigned threads, unsigned sharedBytes,
                      std::vector<void *> params) {
    CUfunction function = nullptr;
    if (absl::Status status = driver->check(
            driver->api().cuModuleGetFunction(&function, module_, kernel), kernel);
        !status.ok())
      return status;
    return driver->check(driver->api().cuLaunchKernel(function, 1, 1, 1, threads, 1, 1,
                                                      sharedBytes, nullptr, params.data(),
                                                      nullptr),
                         kernel);
  }
  void TearDown() override {
    for (CUdeviceptr buffer : buffers) driver->api().cuMemFree(buffer);
  }

  static mlir::MLIRContext *context;
  static std::string *image;
  static CudaDriver *driver;
  static CUmodule module_;
  std::vector<CUdeviceptr> buffers;
};

mlir::MLIRContext *EmuSelfTest::context = nullptr;
std::string *EmuSelfTest::image = nullptr;
CudaDriver *EmuSelfTest::driver = nullptr;
CUmodule EmuSelfTest::module_ = nullptr;

TEST_F(EmuSelfTest, BarrierOrdersStaticAndDynamicSharedMemory) {
  const unsigned n = 128;
  CUdeviceptr out = upload(std::vector<int32_t>(n, -1));
  ASSERT_TRUE(launch("barrier_rotate", n, n * 4, {&out}).ok());
  std::vector<int32_t> result = download<int32_t>(out, n);
  for (unsigned t = 0; t < n; ++t) EXPECT_EQ(result[t], 3 * ((t + 1) % n) + 7000) << t;
}

TEST_F(EmuSelfTest, ShufflesAndBallotFollowPtx) {
  const unsigned n = 64;
  CUdeviceptr out = upload(std::vector<int32_t>(7 * n, -1));
  ASSERT_TRUE(launch("shuffles", n, 0, {&out}).ok());
  std::vector<int32_t> r = download<int32_t>(out, 7 * n);
  for (unsigned t = 0; t < n; ++t) {
    unsigned warp = t / 32 * 32, l = t % 32;
    auto value = [&](unsigned lane) { return static_cast<int32_t>((warp + lane) * 10 + 7); };
    EXPECT_EQ(r[t], value(l ^ 5)) << "bfly, thread " << t;
    EXPECT_EQ(r[n + t], value(9)) << "idx, thread " << t;
    bool downValid = l + 3 <= 31;
    EXPECT_EQ(r[2 * n + t], value(downValid ? l + 3 : l)) << "down, thread " << t;
    EXPECT_EQ(r[3 * n + t], downValid) << "down valid, thread " << t;
    bool upValid = l >= (l & ~7u) + 2;
    EXPECT_EQ(r[4 * n + t], value(upValid ? l - 2 : l)) << "up, thread " << t;
    EXPECT_EQ(r[5 * n + t], upValid) << "up valid, thread " << t;
    EXPECT_EQ(static_cast<uint32_t>(r[6 * n + t]), 0x49249249u) << "ballot, thread " << t;
  }
}

TEST_F(EmuSelfTest, MmaBf16FromLdmatrixAndCpAsyncMatchesTheHost) {
  std::vector<uint16_t> a(256), bt(128), b(128);
  std::vector<float> c(128);
  for (int i = 0; i < 256; ++i) a[i] = toBf16(std::sin(0.37f * i) * 2);
  for (int k = 0; k < 16; ++k)
    for (int n = 0; n < 8; ++n) {
      b[k * 8 + n] = toBf16(std::cos(0.11f * (k * 8 + n)) - 0.25f);
      bt[n * 16 + k] = b[k * 8 + n];
    }
  for (int i = 0; i < 128; ++i) c[i] = 0.5f * i - 7;
  for (int64_t transposed : {0, 1}) {
    CUdeviceptr da = upload(a), dbt = upload(bt), db = upload(b), dc = upload(c);
    CUdeviceptr dd = upload(std::vector<float>(128, NAN));
    ASSERT_TRUE(launch("mma_bf16", 32, 0, {&da, &dbt, &db, &dc, &dd, &transposed}).ok());
    std::vector<float> d = download<float>(dd, 128);
    for (int m = 0; m < 16; ++m)
      for (int n = 0; n < 8; ++n) {
        double expected = c[m * 8 + n];
        for (int k = 0; k < 16; ++k)
          expected += double(fromBf16(a[m * 16 + k])) * fromBf16(b[k * 8 + n]);
        EXPECT_NEAR(d[m * 8 + n], expected, 1e-5 * std::fabs(expected) + 1e-6)
            << "m " << m << " n " << n << (transposed ? " (ldmatrix.trans)" : "");
      }
  }
}

TEST_F(EmuSelfTest, MmaTf32MatchesTheHost) {
  std::vector<float> a(128), b(64), c(128);
  for (int i = 0; i < 128; ++i) a[i] = std::sin(0.3f * i + 1);
  for (int i = 0; i < 64; ++i) b[i] = std::cos(0.7f * i);
  for (int i = 0; i < 128; ++i) c[i] = i * 0.25f;
  CUdeviceptr da = upload(a), db = upload(b), dc = upload(c);
  CUdeviceptr dd = upload(std::vector<float>(128, NAN));
  ASSERT_TRUE(launch("mma_tf32", 32, 0, {&da, &db, &dc, &dd}).ok());
  std::vector<float> d = download<float>(dd, 128);
  for (int m = 0; m < 16; ++m)
    for (int n = 0; n < 8; ++n) {
      double expected = c[m * 8 + n];
      for (int k = 0; k < 8; ++k) expected += double(tf32(a[m * 8 + k])) * tf32(b[k * 8 + n]);
      EXPECT_NEAR(d[m * 8 + n], expected, 1e-5 * std::fabs(expected) + 1e-6)
          << "m " << m << " n " << n;
    }
}

TEST_F(EmuSelfTest, AMissingBarrierIsARaceEvenWhenTheFiberOrderHidesIt) {
  CUdeviceptr out = upload(std::vector<int32_t>(64, -1));
  absl::Status status = launch("racy", 64, 0, {&out});
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("cuda-emu: kernel 'racy' block (0,0,0) thread (1,0,0): shared "
                                  "memory race at byte 0: this thread reads it, which thread "
                                  "(0,0,0) wrote with no barrier in between"),
            std::string::npos) << status;
}

TEST_F(EmuSelfTest, AnOperationOutsideTheVocabularyFailsNamingIt) {
  const char *source = R"(
    llvm.func @uses_clock(%out: !llvm.ptr<1>) attributes {nvvm.kernel} {
      %c = nvvm.read.ptx.sreg.clock : i32
      llvm.store %c, %out : i32, !llvm.ptr<1>
      llvm.return
    })";
  auto module = mlir::parseSourceString<mlir::ModuleOp>(source, context);
  ASSERT_TRUE(module);
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(context, [&](mlir::Diagnostic &diagnostic) {
    diagnostics += diagnostic.str() + "\n";
  });
  EXPECT_FALSE(buildEmuKernelLibrary(*module).ok());
  EXPECT_NE(diagnostics.find("cuda-emu: unsupported operation 'nvvm.read.ptx.sreg.clock' in "
                             "kernel 'uses_clock'"), std::string::npos) << diagnostics;
}

} // namespace
} // namespace mvc
