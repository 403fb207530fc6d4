// Runs the mvc-run binary on artifacts over the hand-written test kernels and checks its
// files, its one-line errors and that a failed run leaves no output behind.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

#include "gtest/gtest.h"
#include "tools/mvc-run/RunMvcRun.h"
#include "runtime/executor/TestArtifact.h"
#include "runtime/util/Npy.h"

namespace mvc {
namespace {

namespace fs = std::filesystem;

using Result = testing::ToolResult;

class MvcRunTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir = fs::path(::testing::TempDir()) /
          ("mvc_run." + std::to_string(getpid()) + "." +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir / "in");
    artifact = (dir / "in" / "test.mvc").string();
    ASSERT_TRUE(
        testing::writeTestArtifact(artifact, testing::testManifest(), MVC_TEST_KERNELS_PATH).ok());
    outDir = (dir / "out").string();
  }
  void TearDown() override { fs::remove_all(dir); }

  std::string writeF32(const std::string &name, std::vector<int64_t> shape, float start = 1) {
    int64_t count = 1;
    for (int64_t d : shape)
      count *= d;
    std::vector<float> data(count);
    for (int64_t i = 0; i < count; ++i)
      data[i] = start + static_cast<float>(i);
    std::string path = (dir / "in" / name).string();
    EXPECT_TRUE(writeNpy(path, DType::F32, shape, data.data(), data.size() * 4).ok());
    return path;
  }

  Result run(const std::string &args) const { return testing::runMvcRun(args, dir); }

  /// A failed run: exit 1, one "mvc-run: error:" line containing `needle`, no outputs.
  void expectFailure(const std::string &args, const std::string &needle) const {
    Result result = run(args + " --output-dir " + outDir);
    EXPECT_EQ(result.exitCode, 1) << args;
    EXPECT_EQ(result.err.rfind("mvc-run: error: ", 0), 0u) << result.err;
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
    EXPECT_NE(result.err.find(needle), std::string::npos) << "expected '" << needle << "' in "
                                                          << result.err;
    EXPECT_TRUE(!fs::exists(outDir) || fs::is_empty(outDir)) << args << " left files behind";
  }

  fs::path dir;
  std::string artifact, outDir;
};

TEST_F(MvcRunTest, WritesOutputsNamedByFunctionAndOutput) {
  std::string x = writeF32("x.npy", {3, 8});
  Result result = run(artifact + " --function main --input " + x + " --output-dir " + outDir +
                      " --threads 2");
  ASSERT_EQ(result.exitCode, 0) << result.err;
  EXPECT_EQ(result.out, "main.y: f32 [3, 8]\n");
  absl::StatusOr<NpyArray> y = readNpy(outDir + "/main.y.npy");
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(y->shape, (std::vector<int64_t>{3, 8}));
  const float *values = reinterpret_cast<const float *>(y->data.data());
  EXPECT_EQ(values[9], 6 * 10.0f + 4 * testing::testWeight(1));
  EXPECT_EQ(std::distance(fs::directory_iterator(outDir), fs::directory_iterator()), 1);
}

TEST_F(MvcRunTest, RepeatedFunctionsShareStatesAndNumberTheirFiles) {
  std::string x = writeF32("x.npy", {4});
  std::string a = writeF32("a.npy", {2}), b = writeF32("b.npy", {2}, 10);
  Result result = run(artifact + " --function accumulate --input " + x + " --function pair --input " +
                      a + " --input " + b + " --function accumulate --input " + x +
                      " --output-dir " + outDir);
  ASSERT_EQ(result.exitCode, 0) << result.err;
  EXPECT_TRUE(fs::exists(outDir + "/pair.c.npy"));
  for (int call = 0; call < 2; ++call) {
    absl::StatusOr<NpyArray> y = readNpy(outDir + "/accumulate." + std::to_string(call) + ".y.npy");
    ASSERT_TRUE(y.ok()) << y.status();
    EXPECT_EQ(reinterpret_cast<const float *>(y->data.data())[3], (call + 1) * 4.0f);
  }
}

TEST_F(MvcRunTest, ErrorsAreOneLineAndLeaveNothing) {
  std::string x = writeF32("x.npy", {3, 8});
  std::string wrongShape = writeF32("bad.npy", {3, 7});
  std::string ints = (dir / "in" / "ints.npy").string();
  int32_t data[8] = {};
  ASSERT_TRUE(writeNpy(ints, DType::I32, {1, 8}, data, sizeof(data)).ok());

  expectFailure(artifact + " --function decode --input " + x,
                "--function decode: " + artifact + " has no such program (it has: main, "
                "accumulate, pair, workgroups)");
  expectFailure(artifact + " --function main",
                "main (inputs: none): program 'main' takes 1 inputs (x), got 0");
  expectFailure(artifact + " --function main --input " + wrongShape,
                "main (inputs: " + wrongShape + "): input 0 ('x') dim 1: 7, expected 8");
  expectFailure(artifact + " --function main --input " + ints, "input 0 ('x'): dtype i32, expected f32");
  expectFailure(artifact + " --function main --input " + (dir / "in" / "nope.npy").string(),
                "nope.npy': cannot open");
  expectFailure(artifact, "has 4 programs (main, accumulate, pair, workgroups): choose one");
  expectFailure(artifact + " --bogus", "unknown flag '--bogus' (see --help)");
  expectFailure(artifact + " --threads -2", "--threads expects an integer from 0 (all cores) to 256, got '-2'");
  expectFailure(artifact + " --device cuda-emu",
                "compiled for target 'cpu' but the session's device is 'cuda-emu'");
  expectFailure(artifact + " --load-symbol pages=3", "unknown load symbol 'pages'");
  expectFailure("", "no artifact given");
  // The first invocation succeeds, the second fails: the first one's outputs are not written.
  expectFailure(artifact + " --function main --input " + x + " --function main --input " + ints,
                "main.1 (inputs: " + ints + ")");
}

TEST_F(MvcRunTest, DamagedArtifactsAreRefused) {
  std::string x = writeF32("x.npy", {3, 8});
  std::ifstream in(artifact, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string damaged = (dir / "in" / "damaged.mvc").string();
  for (size_t cut : {size_t{10}, size_t{200}, bytes.size() / 2, bytes.size() - 1}) {
    std::ofstream(damaged, std::ios::binary | std::ios::trunc) << bytes.substr(0, cut);
    expectFailure(damaged + " --function main --input " + x, damaged + ": ");
  }
  std::string flipped = bytes;
  flipped[bytes.size() - 20] ^= 0x40; // inside the weights: only --verify sees it
  std::ofstream(damaged, std::ios::binary | std::ios::trunc) << flipped;
  expectFailure(damaged + " --verify --function main --input " + x,
                "section 'weights': checksum mismatch");
}

TEST_F(MvcRunTest, HelpListsEveryFlagWithItsDefault) {
  Result result = run("--help");
  EXPECT_EQ(result.exitCode, 0);
  for (const char *flag : {"--function", "--input", "--output-dir", "--device", "--threads",
                           "--load-symbol", "--dump-schedule", "--profile", "--verify", "--help",
                           "FUNCTION.K.OUTPUT.npy"})
    EXPECT_NE(result.out.find(flag), std::string::npos) << flag;
}

TEST_F(MvcRunTest, DumpScheduleAndProfile) {
  Result dump = run(artifact + " --dump-schedule");
  EXPECT_EQ(dump.exitCode, 0) << dump.err;
  EXPECT_NE(dump.out.find("0: dispatch scale_add_rows workgroups ceildiv(T, 2)"),
            std::string::npos)
      << dump.out;
  std::string x = writeF32("x.npy", {3, 8});
  Result profile = run(artifact + " --profile --function=main --input=" + x);
  EXPECT_EQ(profile.exitCode, 0) << profile.err;
  EXPECT_NE(profile.err.find("main:2  add"), std::string::npos) << profile.err;
}

} // namespace
} // namespace mvc
