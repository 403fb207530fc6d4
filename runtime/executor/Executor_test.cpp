// End to end through the public API: artifacts written with ArtifactWriter over the
// hand-written kernels of runtime/hal/cpu/TestKernels.c (see TestArtifact.h).
#include <filesystem>
#include <sstream>
#include <unistd.h>

#include "gtest/gtest.h"
#include "mvc/Runtime.h"
#include "runtime/executor/TestArtifact.h"
#include "runtime/hal/emu/EmuDriver.h"
#include "runtime/hal/cpu/CpuFeatures.h"

namespace mvc {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

HostTensor f32(std::vector<int64_t> shape, float start = 0) {
  HostTensor tensor = HostTensor::allocate(DType::F32, std::move(shape));
  for (int64_t i = 0; i < tensor.numElements(); ++i)
    tensor.dataAs<float>()[i] = start + static_cast<float>(i);
  return tensor;
}

class ExecutorTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir = fs::path(::testing::TempDir()) /
          ("executor." + std::to_string(getpid()) + "." +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir);
    SessionOptions options;
    options.numThreads = 4;
    auto created = Session::create(options);
    ASSERT_TRUE(created.ok()) << created.status();
    session = std::move(*created);
  }
  void TearDown() override { fs::remove_all(dir); }

  /// Writes `manifest` as an artifact and loads it.
  absl::StatusOr<std::unique_ptr<Model>> load(const Json &manifest,
                                              const LoadOptions &options = {}) {
    path = (dir / "test.mvc").string();
    absl::Status status = testing::writeTestArtifact(path, manifest, MVC_TEST_KERNELS_PATH);
    if (!status.ok())
      return status;
    return session->load(path, options);
  }
  std::unique_ptr<Model> loadOk(const Json &manifest = testing::testManifest(),
                                const LoadOptions &options = {}) {
    auto model = load(manifest, options);
    EXPECT_TRUE(model.ok()) << model.status();
    return model.ok() ? std::move(*model) : nullptr;
  }
  static std::string errorOf(const absl::StatusOr<std::vector<HostTensor>> &result) {
    return result.ok() ? "succeeded" : std::string(result.status().message());
  }

  fs::path dir;
  std::string path;
  std::unique_ptr<Session> session;
};

TEST_F(ExecutorTest, RunsDispatchesAndCopiesThroughTheArena) {
  std::unique_ptr<Model> model = loadOk();
  ASSERT_TRUE(model);
  // T = 5, then a new binding (a new plan), then the first one again (the cached plan).
  for (int64_t rows : {5, 3, 5}) {
    HostTensor x = f32({rows, 8}, 1);
    auto outputs = model->execute("main", {x});
    ASSERT_TRUE(outputs.ok()) << outputs.status();
    ASSERT_EQ(outputs->size(), 1u);
    const HostTensor &y = (*outputs)[0];
    EXPECT_EQ(y.shape(), (std::vector<int64_t>{rows, 8}));
    EXPECT_EQ(y.dtype(), DType::F32);
    // t0 = 2x + w, t1 = 2 t0 + w, y = t0 + t1 = 6x + 4w: wrong if live transients overlap.
    for (int64_t i = 0; i < rows * 8; ++i)
      ASSERT_EQ(y.dataAs<float>()[i],
                6 * x.dataAs<float>()[i] + 4 * testing::testWeight(static_cast<int>(i % 8)))
          << "rows " << rows << ", element " << i;
  }
}

TEST_F(ExecutorTest, ZeroRowsIsAValidBinding) {
  std::unique_ptr<Model> model = loadOk();
  ASSERT_TRUE(model);
  auto outputs = model->execute("main", {f32({0, 8})});
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  EXPECT_EQ((*outputs)[0].shape(), (std::vector<int64_t>{0, 8}));
}

TEST_F(ExecutorTest, StatesPersistAcrossExecutesAndStartZeroed) {
  std::unique_ptr<Model> model = loadOk();
  ASSERT_TRUE(model);
  HostTensor x = f32({5}, 1);
  for (int call = 1; call <= 2; ++call) {
    auto outputs = model->execute("accumulate", {x});
    ASSERT_TRUE(outputs.ok()) << outputs.status();
    for (int i = 0; i < 5; ++i)
      EXPECT_EQ((*outputs)[0].dataAs<float>()[i], call * (i + 1.0f)) << "call " << call;
  }
  // A second load of the same artifact has its own, zeroed states.
  std::unique_ptr<Model> fresh = loadOk();
  auto outputs = fresh->execute("accumulate", {x});
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  EXPECT_EQ((*outputs)[0].dataAs<float>()[4], 5.0f);
}

TEST_F(ExecutorTest, EveryWorkgroupRunsOnceOverThePool) {
  std::unique_ptr<Model> model = loadOk();
  ASSERT_TRUE(model);
  EXPECT_EQ(session->numThreads(), 4);
  auto outputs = model->execute("workgroups", {HostTensor::allocate(DType::U8, {257})});
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  for (int64_t i = 0; i < 257; ++i)
    ASSERT_EQ((*outputs)[0].dataAs<int64_t>()[i], i * 1000 + 257);
}

TEST_F(ExecutorTest, BadInputsAreNamed) {
  std::unique_ptr<Model> model = loadOk();
  ASSERT_TRUE(model);
  EXPECT_EQ(errorOf(model->execute("decode", {})),
            "no program 'decode' (the artifact has: main, accumulate, pair, workgroups)");
  EXPECT_EQ(errorOf(model->execute("pair", {f32({4})})),
            "program 'pair' takes 2 inputs (a, b), got 1");
  EXPECT_EQ(errorOf(model->execute("main", {HostTensor::allocate(DType::I32, {2, 8})})),
            "input 0 ('x'): dtype i32, expected f32");
  EXPECT_EQ(errorOf(model->execute("main", {f32({16})})),
            "input 0 ('x'): rank 1, expected 2 [T, 8]");
  EXPECT_EQ(errorOf(model->execute("main", {f32({2, 7})})), "input 0 ('x') dim 1: 7, expected 8");
  EXPECT_EQ(errorOf(model->execute("pair", {f32({4}), f32({5})})),
            "input 1 ('b') dim 0: T = 5, but input 0 ('a') dim 0 bound T = 4");
  auto outputs = model->execute("pair", {f32({70}), f32({70}, 1)});
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  EXPECT_EQ((*outputs)[0].dataAs<float>()[69], 139.0f);
}

TEST_F(ExecutorTest, CopiesOutsideTheirBuffersAreRefused) {
  Json manifest = testing::testManifest();
  manifest["programs"][0]["steps"][3]["size"] = Json::parse(R"(["T", 64, "*"])");
  std::unique_ptr<Model> model = loadOk(manifest);
  ASSERT_TRUE(model);
  EXPECT_EQ(errorOf(model->execute("main", {f32({2, 8})})),
            "program 'main': step 3: copy of 128 bytes at offset 0 overruns its source buffer 4 "
            "(64 bytes)");
}

TEST_F(ExecutorTest, MissingCpuFeaturesAreRefusedAtLoad) {
  Json manifest = testing::testManifest();
  manifest["target"]["cpu_features"] = Json::array({"warp-drive"});
  auto model = load(manifest);
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().message().find(path + ": artifact needs CPU features [warp-drive] that "
                                                 "this runtime does not know"),
            std::string::npos)
      << model.status();

  if (CpuFeatures::host().has("amx-tile"))
    GTEST_SKIP() << "this CPU has AMX: no known feature is missing to test the refusal with";
  manifest["target"]["cpu_features"] = Json::array({"avx2", "amx-tile"});
  model = load(manifest);
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().message().find("artifact needs CPU features [amx-tile] that this CPU "
                                          "lacks"),
            std::string::npos)
      << model.status();
}

TEST_F(ExecutorTest, LoadErrorsNameWhatIsWrong) {
  Json manifest = testing::testManifest();
  manifest["programs"][1]["steps"][0]["kernel"] = "accumulate_v2";
  auto model = load(manifest);
  EXPECT_EQ(model.status().message(),
            path + ": programs[1] ('accumulate').steps[0]: kernels.cpu: kernel 'accumulate_v2' "
                   "is not in its kernel list");

  manifest = testing::testEmuManifest();
  EXPECT_NE(load(manifest).status().message().find("compiled for target 'cuda' but the "
                                                   "session's device is 'cpu'"),
            std::string::npos);

  LoadOptions options;
  options.loadSymbols = {{"pages", 4}};
  EXPECT_EQ(load(testing::testManifest(), options).status().message(),
            path + ": unknown load symbol 'pages' (the artifact has: slots)");
}

TEST_F(ExecutorTest, LoadSymbolsSizeTheStates) {
  LoadOptions options;
  options.loadSymbols = {{"slots", 4}};
  std::unique_ptr<Model> model = loadOk(testing::testManifest(), options);
  ASSERT_TRUE(model);
  std::ostringstream dump;
  model->dumpSchedule(dump);
  EXPECT_NE(dump.str().find("load symbol slots = 4\nstate acc: f32 [slots] (16 bytes)"),
            std::string::npos)
      << dump.str();
}

TEST_F(ExecutorTest, UnavailableOrUnknownDevicesAreRefusedClearly) {
  SessionOptions options;
  // Without a driver (build machines) or a GPU, CUDA is refused saying which is missing.
  options.device = "cuda:0";
  auto cudaSession = Session::create(options);
  std::string cuda(cudaSession.status().message());
  EXPECT_TRUE(cudaSession.ok() || cuda.rfind("no CUDA driver found: ", 0) == 0 ||
              cuda.rfind("CUDA driver failed to initialize", 0) == 0 || cuda == "no CUDA device")
      << cuda;
  options.device = "cuda:x";
  EXPECT_EQ(Session::create(options).status().message(),
            "unknown device 'cuda:x' (expected cpu, cuda:N or cuda-emu)");
  options.device = "cuda-emu";
  auto emu = Session::create(options);
  ASSERT_TRUE(emu.ok()) << emu.status();
  path = (dir / "cpu.mvc").string();
  ASSERT_TRUE(testing::writeTestArtifact(path, testing::testManifest(), MVC_TEST_KERNELS_PATH).ok());
  EXPECT_NE(std::string((*emu)->load(path).status().message())
                .find("compiled for target 'cpu' but the session's device is 'cuda-emu'"),
            std::string::npos);
  options.device = "tpu";
  EXPECT_EQ(Session::create(options).status().message(),
            "unknown device 'tpu' (expected cpu, cuda:N or cuda-emu)");
}

/// The test programs on cuda-emu: the CUDA HAL (device memory, copies, launches from the
/// schedule, states on the device) over the emulated driver.
class CudaEmuExecutorTest : public ExecutorTest {
protected:
  void SetUp() override {
    ExecutorTest::SetUp();
    SessionOptions options;
    options.device = "cuda-emu";
    auto created = Session::create(options);
    ASSERT_TRUE(created.ok()) << created.status();
    session = std::move(*created);
  }
  std::unique_ptr<Model> loadEmu(Json manifest = testing::testEmuManifest()) {
    path = (dir / "emu.mvc").string();
    absl::Status status = testing::writeTestArtifact(path, manifest, MVC_TEST_EMU_KERNELS_PATH,
                                                     "kernels.cuda-emu.sm_80");
    EXPECT_TRUE(status.ok()) << status;
    auto model = session->load(path);
    EXPECT_TRUE(model.ok()) << model.status();
    return model.ok() ? std::move(*model) : nullptr;
  }
};

TEST_F(CudaEmuExecutorTest, RunsTheSameProgramsAsTheCpu) {
  std::unique_ptr<Model> model = loadEmu();
  ASSERT_TRUE(model);
  for (int64_t rows : {5, 3, 0}) {
    HostTensor x = f32({rows, 8}, 1);
    auto outputs = model->execute("main", {x});
    ASSERT_TRUE(outputs.ok()) << outputs.status();
    const HostTensor &y = (*outputs)[0];
    for (int64_t i = 0; i < rows * 8; ++i)
      ASSERT_EQ(y.dataAs<float>()[i],
                6 * x.dataAs<float>()[i] + 4 * testing::testWeight(static_cast<int>(i % 8)))
          << "rows " << rows << ", element " << i;
  }
  for (int call = 1; call <= 2; ++call) {
    auto outputs = model->execute("accumulate", {f32({5}, 1)});
    ASSERT_TRUE(outputs.ok()) << outputs.status();
    for (int i = 0; i < 5; ++i)
      EXPECT_EQ((*outputs)[0].dataAs<float>()[i], call * (i + 1.0f)) << "call " << call;
  }
  HostTensor bytes = HostTensor::allocate(DType::U8, {3});
  auto ids = model->execute("workgroups", {bytes});
  ASSERT_TRUE(ids.ok()) << ids.status();
  for (int64_t i = 0; i < 3; ++i) EXPECT_EQ((*ids)[0].dataAs<int64_t>()[i], i * 1000 + 3);
  model->setProfiling(true);
  ASSERT_TRUE(model->execute("pair", {f32({100}, 1), f32({100}, 2)}).ok());
  std::ostringstream profile;
  model->printProfile(profile);
  EXPECT_NE(profile.str().find("pair:0  add"), std::string::npos) << profile.str();
  std::ostringstream dump;
  model->dumpSchedule(dump);
  EXPECT_NE(dump.str().find("0: dispatch add workgroups ceildiv(T, 64) push [T, 64] block [32, 1, 1] "
                            "shared_bytes 0\n"), std::string::npos) << dump.str();
}

TEST_F(ExecutorTest, AScheduleOnlyLoadNeedsNoDeviceAndRunsNothing) {
  path = (dir / "emu.mvc").string();
  ASSERT_TRUE(testing::writeTestArtifact(path, testing::testEmuManifest(),
                                         MVC_TEST_EMU_KERNELS_PATH, "kernels.cuda-emu.sm_80")
                  .ok());
  LoadOptions options;
  options.scheduleOnly = true;
  auto model = session->load(path, options); // a cpu session, a cuda artifact
  ASSERT_TRUE(model.ok()) << model.status();
  std::ostringstream dump;
  (*model)->dumpSchedule(dump);
  EXPECT_NE(dump.str().find("target cuda"), std::string::npos) << dump.str();
  EXPECT_EQ(errorOf((*model)->execute("pair", {f32({4}), f32({4})})),
            "program 'pair': the artifact was loaded for its schedule only");
}

TEST_F(CudaEmuExecutorTest, ARepeatedPlanReplaysACapturedGraphWithNewInputs) {
  std::unique_ptr<Model> model = loadEmu();
  ASSERT_TRUE(model);
  uint64_t before = emu::graphLaunches();
  // Runs 1 (direct), 2 (captured, then launched) and 3 of T = 4 replay one graph; T = 2 in
  // between is a plan of its own and runs directly.
  for (int call = 0; call < 4; ++call) {
    int64_t rows = call == 2 ? 2 : 4;
    HostTensor x = f32({rows, 8}, static_cast<float>(10 * call));
    auto outputs = model->execute("main", {x});
    ASSERT_TRUE(outputs.ok()) << outputs.status();
    for (int64_t i = 0; i < rows * 8; ++i)
      ASSERT_EQ((*outputs)[0].dataAs<float>()[i],
                6 * x.dataAs<float>()[i] + 4 * testing::testWeight(static_cast<int>(i % 8)))
          << "call " << call << ", element " << i;
  }
  EXPECT_EQ(emu::graphLaunches() - before, 2u);
  // States updated inside a graph persist like any other write.
  for (int call = 1; call <= 3; ++call) {
    auto outputs = model->execute("accumulate", {f32({3}, 1)});
    ASSERT_TRUE(outputs.ok()) << outputs.status();
    EXPECT_EQ((*outputs)[0].dataAs<float>()[2], call * 3.0f) << "call " << call;
  }
}

TEST_F(CudaEmuExecutorTest, KernelFailuresAndMissingKernelsAreNamed) {
  Json manifest = testing::testEmuManifest();
  // More dynamic shared memory than a block has: refused when the kernel opts in at load.
  manifest["programs"][2]["steps"][0]["shared_bytes"] = 200000;
  path = (dir / "big.mvc").string();
  ASSERT_TRUE(testing::writeTestArtifact(path, manifest, MVC_TEST_EMU_KERNELS_PATH,
                                         "kernels.cuda-emu.sm_80").ok());
  std::string big(session->load(path).status().message());
  EXPECT_NE(big.find("kernel 'add': 200000 bytes of shared memory: cuda-emu: kernel 'add': "
                     "200000 bytes of dynamic shared memory exceed the block's 166912"),
            std::string::npos) << big;
  manifest = testing::testEmuManifest();
  manifest["programs"][0]["steps"][0]["kernel"] = "nope";
  path = (dir / "missing.mvc").string();
  ASSERT_TRUE(testing::writeTestArtifact(path, manifest, MVC_TEST_EMU_KERNELS_PATH,
                                         "kernels.cuda-emu.sm_80").ok());
  std::string missing(session->load(path).status().message());
  EXPECT_NE(missing.find("programs[0] ('main').steps[0]: kernel 'nope': cuda-emu: the module "
                         "has no kernel 'nope'"), std::string::npos) << missing;
  manifest = testing::testEmuManifest();
  manifest["target"]["variants"][0]["format"] = "cubin";
  ASSERT_TRUE(testing::writeTestArtifact(path, manifest, MVC_TEST_EMU_KERNELS_PATH,
                                         "kernels.cuda-emu.sm_80").ok());
  std::string noEmu(session->load(path).status().message());
  EXPECT_NE(noEmu.find("no kernels for cuda-emu: the artifact has sm_80 cubin (compile with "
                       "--target cuda-emu)"), std::string::npos) << noEmu;
}

TEST_F(ExecutorTest, ScheduleDumpShowsStepsAsInfix) {
  std::unique_ptr<Model> model = loadOk();
  ASSERT_TRUE(model);
  std::ostringstream dump;
  model->dumpSchedule(dump);
  for (const char *expected : {
           "program main (symbols: T)\n  input  x: f32 [T, 8] in buffer 0\n",
           "    2 (transient) size T * 32 live [0, 2]\n",
           "    0: dispatch scale_add_rows workgroups ceildiv(T, 2) push [T, 8, 2]\n"
           "       bindings: 0 (input x), 1 (weight w), 2 (transient)\n",
           "    2: dispatch add workgroups ceildiv(T * 8, 16) push [T * 8, 16]\n",
           "    3: copy T * 32 bytes from 4 (transient) + 0 to 5 (output y) + 0\n",
           "       bindings: 0 (input x), 1 (state acc), 2 (output y)\n"})
    EXPECT_NE(dump.str().find(expected), std::string::npos) << expected << "\n---\n" << dump.str();
}

TEST_F(ExecutorTest, ProfileListsStepsThatRan) {
  std::unique_ptr<Model> model = loadOk();
  ASSERT_TRUE(model);
  model->setProfiling(true);
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(model->execute("main", {f32({64, 8})}).ok());
  std::ostringstream profile;
  model->printProfile(profile);
  std::string text = profile.str();
  EXPECT_NE(text.find("main:0  scale_add_rows"), std::string::npos) << text;
  EXPECT_NE(text.find("main:3  copy"), std::string::npos) << text;
  EXPECT_EQ(text.find("accumulate"), std::string::npos) << text;
  EXPECT_NE(text.find("       3  "), std::string::npos) << "3 calls per step\n" << text;
}

} // namespace
} // namespace mvc
