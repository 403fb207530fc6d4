// Model::languageModel(): the manifest's language_model entry as the executor parses and
// validates it at load (runtime/executor/LanguageModel.cpp), over the fake model's manifest
// and extra sections.
#include <filesystem>
#include <unistd.h>

#include "mvc/Runtime.h"
#include "runtime/pipeline/FakeLanguageModel.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mvc {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class LanguageModelTest : public ::testing::Test {
protected:
  void SetUp() override {
    path = (std::filesystem::path(::testing::TempDir()) /
            ("language_model." + std::to_string(getpid()) + ".mvc"))
               .string();
    session = *Session::create({.device = "cpu", .numThreads = 1});
  }
  void TearDown() override { std::filesystem::remove(path); }

  absl::StatusOr<std::unique_ptr<Model>>
  load(const nlohmann::ordered_json &manifest, const LoadOptions &options = {},
       const std::vector<std::pair<std::string, std::string>> &sections = {}) {
    EXPECT_TRUE(
        testing::writeFakeLanguageModel(path, manifest, MVC_FAKE_LM_KERNELS_PATH, sections).ok());
    return session->load(path, options);
  }
  /// Loading `manifest` fails with an error starting with the path and containing `needle`.
  void expectRefused(const nlohmann::ordered_json &manifest, const std::string &needle,
                     const std::vector<std::pair<std::string, std::string>> &sections = {}) {
    absl::StatusOr<std::unique_ptr<Model>> model = load(manifest, {}, sections);
    ASSERT_FALSE(model.ok()) << "expected: " << needle;
    EXPECT_THAT(std::string(model.status().message()), StartsWith(path + ": "));
    EXPECT_THAT(model.status().message(), HasSubstr(needle));
  }

  std::string path;
  std::unique_ptr<Session> session;
  testing::FakeLanguageModel fake;
};

TEST_F(LanguageModelTest, ParsesTheEntryWithTheLoadedPageCount) {
  fake.eosTokenIds = {1, 15};
  LoadOptions options;
  options.loadSymbols = {{"num_pages", 7}};
  absl::StatusOr<std::unique_ptr<Model>> model = load(fake.manifest(), options);
  ASSERT_TRUE(model.ok()) << model.status();
  const LanguageModelInfo *info = (*model)->languageModel();
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->program, "forward");
  EXPECT_EQ(info->vocabSize, 16);
  EXPECT_EQ(info->pageSize, 4);
  EXPECT_EQ(info->numPages, 7);
  EXPECT_EQ(info->bosTokenId, 2);
  EXPECT_EQ(info->padTokenId, 0);
  EXPECT_EQ(info->eosTokenIds, (std::vector<int32_t>{1, 15}));
  EXPECT_EQ(info->maxPositions, 64);
}

TEST_F(LanguageModelTest, BosAndPadAreOptional) {
  nlohmann::ordered_json manifest = fake.manifest();
  manifest["language_model"].erase("bos_token_id");
  manifest["language_model"]["pad_token_id"] = nullptr;
  absl::StatusOr<std::unique_ptr<Model>> model = load(manifest);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_FALSE((*model)->languageModel()->bosTokenId.has_value());
  EXPECT_FALSE((*model)->languageModel()->padTokenId.has_value());
}

TEST_F(LanguageModelTest, RefusesBadFieldsNamingThem) {
  auto with = [&](const std::function<void(nlohmann::ordered_json &)> &edit) {
    nlohmann::ordered_json manifest = fake.manifest();
    edit(manifest);
    return manifest;
  };
  expectRefused(with([](auto &m) { m["language_model"]["vocab_size"] = 17; }),
                "manifest: language_model.vocab_size: 17 but program 'forward' returns logits "
                "of width 16");
  expectRefused(with([](auto &m) {
                  m["language_model"]["eos_token_ids"] = {1, 16};
                }),
                "language_model.eos_token_ids[1]: expected a token id in [0, 16), got 16");
  expectRefused(with([](auto &m) { m["language_model"].erase("eos_token_ids"); }),
                "language_model.eos_token_ids: expected an array of token ids");
  expectRefused(with([](auto &m) { m["language_model"]["program"] = "nope"; }),
                "language_model.program: no program named 'nope'");
  expectRefused(with([](auto &m) { m["language_model"]["page_size"] = 0; }),
                "language_model.page_size: expected an integer in [1, 2147483647], got 0");
  expectRefused(with([](auto &m) { m["language_model"].erase("max_positions"); }),
                "language_model.max_positions: missing");
  expectRefused(with([](auto &m) { m["language_model"]["bos_token_id"] = -1; }),
                "language_model.bos_token_id: expected an integer in [0, 15], got -1");
  expectRefused(with([](auto &m) { m["language_model"] = 3; }),
                "manifest: language_model: expected an object");
}

TEST_F(LanguageModelTest, RefusesAProgramWithoutTheForwardInterface) {
  nlohmann::ordered_json renamed = fake.manifest();
  renamed["programs"][0]["inputs"][0]["name"] = "ids";
  expectRefused(renamed, "program 'forward' has no input 'tokens'");
  nlohmann::ordered_json retyped = fake.manifest();
  retyped["programs"][0]["inputs"][1]["dtype"] = "i64";
  expectRefused(retyped, "program 'forward' input 'positions' must be i32 of rank 1");
  nlohmann::ordered_json noLogits = fake.manifest();
  noLogits["programs"][0]["outputs"][0]["name"] = "scores";
  expectRefused(noLogits, "program 'forward' has no output 'logits'");
}

TEST_F(LanguageModelTest, TextViewsTheSectionsItNames) {
  std::vector<std::pair<std::string, std::string>> sections = {
      {"tok", R"({"model": {}})"}, {"tok_config", R"({"chat_template": "x"})"}};
  nlohmann::ordered_json manifest = fake.manifest();
  absl::StatusOr<std::unique_ptr<Model>> without = load(manifest, {}, sections);
  ASSERT_TRUE(without.ok()) << without.status();
  EXPECT_TRUE((*without)->languageModel()->tokenizerJson.empty());
  EXPECT_TRUE((*without)->languageModel()->tokenizerConfigJson.empty());

  manifest["language_model"]["text"] = {{"tokenizer", "tok"}};
  absl::StatusOr<std::unique_ptr<Model>> tokenizerOnly = load(manifest, {}, sections);
  ASSERT_TRUE(tokenizerOnly.ok()) << tokenizerOnly.status();
  EXPECT_EQ((*tokenizerOnly)->languageModel()->tokenizerJson, sections[0].second);
  EXPECT_TRUE((*tokenizerOnly)->languageModel()->tokenizerConfigJson.empty());

  manifest["language_model"]["text"]["tokenizer_config"] = "tok_config";
  absl::StatusOr<std::unique_ptr<Model>> both = load(manifest, {}, sections);
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_EQ((*both)->languageModel()->tokenizerJson, sections[0].second);
  EXPECT_EQ((*both)->languageModel()->tokenizerConfigJson, sections[1].second);
}

TEST_F(LanguageModelTest, RefusesTextNamingNoSection) {
  std::vector<std::pair<std::string, std::string>> sections = {{"tok", "{}"}, {"blank", ""}};
  auto withText = [&](nlohmann::ordered_json text) {
    nlohmann::ordered_json manifest = fake.manifest();
    manifest["language_model"]["text"] = std::move(text);
    return manifest;
  };
  expectRefused(withText({{"tokenizer", "tokenizer.json"}}),
                "language_model.text.tokenizer: the artifact has no section 'tokenizer.json'",
                sections);
  expectRefused(withText({{"tokenizer", "tok"}, {"tokenizer_config", "cfg"}}),
                "language_model.text.tokenizer_config: the artifact has no section 'cfg'",
                sections);
  expectRefused(withText({{"tokenizer_config", "tok"}}), "language_model.text.tokenizer: missing",
                sections);
  expectRefused(withText({{"tokenizer", 3}}),
                "language_model.text.tokenizer: expected a section name, got 3", sections);
  expectRefused(withText({{"tokenizer", "blank"}}),
                "language_model.text.tokenizer: section 'blank' is empty", sections);
  expectRefused(withText("tok"), "language_model.text: expected an object", sections);
}

TEST_F(LanguageModelTest, NeedsTheNumPagesLoadSymbol) {
  nlohmann::ordered_json manifest = fake.manifest();
  manifest["load_symbols"] = {{"pages", 16}};
  manifest["states"][0]["shape"][0] = "pages";
  manifest["programs"][0]["steps"][0]["push"][6] = "pages";
  expectRefused(manifest, "no load symbol 'num_pages'");
}

// The public execute API checks every index-like input of the forward program before a
// kernel runs: one bad value at a time, each named with its input, index and value.
TEST_F(LanguageModelTest, ExecuteRefusesOutOfRangeIndexInputs) {
  absl::StatusOr<std::unique_ptr<Model>> model = load(fake.manifest()); // 16 pages of 4, vocab 16
  ASSERT_TRUE(model.ok()) << model.status();
  auto i32 = [](std::vector<int32_t> v, std::vector<int64_t> shape) {
    return *HostTensor::fromBytes(DType::I32, std::move(shape), v.data(), v.size() * 4);
  };
  struct Call {
    std::vector<int32_t> tokens = {2, 5, 7}, positions = {0, 1, 2}, table = {3}, offsets = {0, 3},
                         lens = {0}, rows = {2};
  };
  auto run = [&](const Call &c) {
    std::vector<HostTensor> inputs;
    inputs.push_back(i32(c.tokens, {int64_t(c.tokens.size())}));
    inputs.push_back(i32(c.positions, {int64_t(c.positions.size())}));
    inputs.push_back(i32(c.table, {int64_t(c.lens.size()), int64_t(c.table.size() / std::max<size_t>(c.lens.size(), 1))}));
    inputs.push_back(i32(c.offsets, {int64_t(c.offsets.size())}));
    inputs.push_back(i32(c.lens, {int64_t(c.lens.size())}));
    inputs.push_back(i32(c.rows, {int64_t(c.rows.size())}));
    return (*model)->execute("forward", std::move(inputs)).status();
  };
  EXPECT_TRUE(run(Call{}).ok()) << run(Call{});
  Call c;
  c.tokens[1] = 99;
  EXPECT_EQ(run(c).message(), "program 'forward' input 'tokens'[1]: token id 99 is outside [0, 16)");
  c = Call{};
  c.table = {999999};
  EXPECT_EQ(run(c).message(),
            "program 'forward' input 'block_table'[0]: page 999999 is outside the pool of 16 pages");
  c = Call{};
  c.lens = {100000};
  EXPECT_THAT(run(c).message(), HasSubstr("input 'cache_lens'[0]: 100000 cached + 3 new tokens do not fit"));
  c = Call{};
  c.positions[2] = 1000000000;
  EXPECT_THAT(run(c).message(), HasSubstr("input 'positions'[2]: position 1000000000 is outside"));
  c = Call{};
  c.offsets = {0, 5};
  EXPECT_EQ(run(c).message(), "program 'forward' input 'row_offsets'[1]: 5 is not in [0, 3]");
  c = Call{};
  c.offsets = {1, 3};
  EXPECT_EQ(run(c).message(), "program 'forward' input 'row_offsets'[0]: must be 0, got 1");
  c = Call{};
  c.rows = {3};
  EXPECT_EQ(run(c).message(), "program 'forward' input 'logit_rows'[0]: row 3 is outside [0, 3)");
  EXPECT_TRUE(run(Call{}).ok()); // nothing was left half done
}

} // namespace
} // namespace mvc
