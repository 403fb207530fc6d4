#include "runtime/weights/SafetensorsReader.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <unistd.h>

#include "nlohmann/json.hpp"
#include "gtest/gtest.h"

namespace mvc {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

fs::path freshDir(const std::string &name) {
  fs::path dir = fs::path(testing::TempDir()) / (name + "." + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

testing::AssertionResult hasSubstr(const std::string &text, const std::string &part) {
  if (text.find(part) != std::string::npos)
    return testing::AssertionSuccess();
  return testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

void writeFile(const fs::path &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

std::string lengthPrefix(uint64_t length) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i)
    bytes[i] = static_cast<char>((length >> (8 * i)) & 0xff);
  return bytes;
}

/// A safetensors file with `header` verbatim and `dataSize` bytes of data (byte i = i % 251).
std::string rawFile(const std::string &header, size_t dataSize) {
  std::string data(dataSize, '\0');
  for (size_t i = 0; i < dataSize; ++i)
    data[i] = static_cast<char>(i % 251);
  return lengthPrefix(header.size()) + header + data;
}

template <typename T> std::string bytesOf(const std::vector<T> &values) {
  return std::string(reinterpret_cast<const char *>(values.data()), values.size() * sizeof(T));
}

struct Tensor {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};

/// A well-formed file laid out the way the safetensors library writes one: tensors back to
/// back in the given order, header padded with spaces to a multiple of 8.
std::string safetensorsFile(const std::vector<Tensor> &tensors) {
  Json header = {{"__metadata__", {{"format", "pt"}}}};
  std::string data;
  for (const Tensor &tensor : tensors) {
    header[tensor.name] = {{"dtype", tensor.dtype},
                           {"shape", tensor.shape},
                           {"data_offsets", {data.size(), data.size() + tensor.bytes.size()}}};
    data += tensor.bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  return lengthPrefix(text.size()) + text + data;
}

const std::vector<float> kF32Values = {1.5f, -2.25f, 0.0f, 3.0e-20f, 1.0e20f, -0.125f};
// bf16: 1.0, -2.0, 0.5, the largest finite value.
const std::vector<uint16_t> kBf16Bits = {0x3f80, 0xc000, 0x3f00, 0x7f7f};
// f16: 1.0, -2.0, 65504 (largest), 2^-24 (smallest subnormal).
const std::vector<uint16_t> kF16Bits = {0x3c00, 0xc000, 0x7bff, 0x0001};

std::vector<Tensor> threeDtypes() {
  return {{"model.embed_tokens.weight", "F32", {2, 3}, bytesOf(kF32Values)},
          {"model.norm.weight", "BF16", {4}, bytesOf(kBf16Bits)},
          {"lm_head.weight", "F16", {2, 2}, bytesOf(kF16Bits)}};
}

std::unique_ptr<SafetensorsReader> openOk(const fs::path &path) {
  auto reader = SafetensorsReader::open(path.string());
  EXPECT_TRUE(reader.ok()) << reader.status();
  return reader.ok() ? std::move(*reader) : nullptr;
}

std::string openError(const fs::path &path) {
  auto reader = SafetensorsReader::open(path.string());
  EXPECT_FALSE(reader.ok()) << "opened " << path;
  return reader.ok() ? "" : std::string(reader.status().message());
}

TEST(SafetensorsReader, RoundTripsF32Bf16F16) {
  fs::path dir = freshDir("st_roundtrip");
  writeFile(dir / "model.safetensors", safetensorsFile(threeDtypes()));
  auto reader = openOk(dir / "model.safetensors");
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->tensorNames(),
            (std::vector<std::string>{"lm_head.weight", "model.embed_tokens.weight",
                                      "model.norm.weight"}));

  auto embed = reader->tensor("model.embed_tokens.weight");
  ASSERT_TRUE(embed.ok()) << embed.status();
  EXPECT_EQ((*embed)->dtype, DType::F32);
  EXPECT_EQ((*embed)->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ((*embed)->numElements(), 6);
  EXPECT_EQ(
      std::string(reinterpret_cast<const char *>((*embed)->bytes.data()), (*embed)->bytes.size()),
      bytesOf(kF32Values));
  EXPECT_EQ((*embed)->file, (dir / "model.safetensors").string());
  auto embedValues = reader->readAsF32("model.embed_tokens.weight");
  ASSERT_TRUE(embedValues.ok()) << embedValues.status();
  EXPECT_EQ(*embedValues, kF32Values);
  // Element ranges (what a compile streams by rows) are slices; past the end is refused.
  auto tail = reader->readAsF32("model.embed_tokens.weight", 3, 3);
  ASSERT_TRUE(tail.ok()) << tail.status();
  EXPECT_EQ(*tail, std::vector<float>(kF32Values.begin() + 3, kF32Values.end()));
  EXPECT_EQ(reader->readAsF32("model.embed_tokens.weight", 4, 3).status().code(),
            absl::StatusCode::kOutOfRange);

  auto norm = reader->tensor("model.norm.weight");
  ASSERT_TRUE(norm.ok());
  EXPECT_EQ((*norm)->dtype, DType::BF16);
  EXPECT_EQ((*norm)->bytes.size(), 8u);
  auto normValues = reader->readAsF32("model.norm.weight");
  ASSERT_TRUE(normValues.ok());
  // 0x7f7f: exponent 254, mantissa 0x7f, i.e. (2 - 2^-7) * 2^127 = 255 * 2^120.
  EXPECT_EQ(*normValues, (std::vector<float>{1.0f, -2.0f, 0.5f, std::ldexp(255.0f, 120)}));

  auto head = reader->tensor("lm_head.weight");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ((*head)->dtype, DType::F16);
  auto headValues = reader->readAsF32("lm_head.weight");
  ASSERT_TRUE(headValues.ok());
  EXPECT_EQ(*headValues, (std::vector<float>{1.0f, -2.0f, 65504.0f, std::ldexp(1.0f, -24)}));
}

TEST(SafetensorsReader, OpensADirectoryAndAcceptsEmptyTensors) {
  fs::path dir = freshDir("st_dir");
  std::vector<Tensor> tensors = threeDtypes();
  tensors.push_back({"empty", "F32", {0, 4}, ""});
  writeFile(dir / "model.safetensors", safetensorsFile(tensors));
  auto reader = openOk(dir);
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->path(), (dir / "model.safetensors").string());
  EXPECT_EQ(reader->tensorNames().size(), 4u);
  auto empty = reader->readAsF32("empty");
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->empty());
  EXPECT_TRUE(reader->contains("empty"));
  EXPECT_FALSE(reader->contains("missing"));
}

TEST(SafetensorsReader, UnknownTensorIsNotFoundAndNamed) {
  fs::path dir = freshDir("st_unknown");
  writeFile(dir / "model.safetensors", safetensorsFile(threeDtypes()));
  auto reader = openOk(dir / "model.safetensors");
  ASSERT_TRUE(reader);
  auto missing = reader->readAsF32("model.layers.0.mlp.up_proj.weight");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(absl::IsNotFound(missing.status()));
  EXPECT_TRUE(hasSubstr(std::string(missing.status().message()),
                        "no tensor 'model.layers.0.mlp.up_proj.weight'"));
}

TEST(SafetensorsReader, DirectoryWithoutCheckpointIsAnError) {
  fs::path dir = freshDir("st_nothing");
  EXPECT_TRUE(hasSubstr(openError(dir), "neither model.safetensors.index.json nor"));
  EXPECT_TRUE(hasSubstr(openError(dir / "model.safetensors"), "cannot open"));
}

void writeShards(const fs::path &dir, const std::string &index) {
  std::vector<Tensor> all = threeDtypes();
  writeFile(dir / "model-00001-of-00002.safetensors", safetensorsFile({all[0], all[1]}));
  writeFile(dir / "model-00002-of-00002.safetensors", safetensorsFile({all[2]}));
  writeFile(dir / "model.safetensors.index.json", index);
}

std::string indexJson(const std::string &secondShardFor = "lm_head.weight",
                      const std::string &shard2 = "model-00002-of-00002.safetensors") {
  Json index = {{"metadata", {{"total_size", 44}}},
                {"weight_map",
                 {{"model.embed_tokens.weight", "model-00001-of-00002.safetensors"},
                  {"model.norm.weight", "model-00001-of-00002.safetensors"},
                  {secondShardFor, shard2}}}};
  return index.dump(2);
}

TEST(SafetensorsReader, ReadsShardedCheckpointThroughItsIndex) {
  fs::path dir = freshDir("st_sharded");
  writeShards(dir, indexJson());
  // A stray single file beside the index is ignored: the index wins, as in transformers.
  writeFile(dir / "model.safetensors", "garbage");
  for (const fs::path &path : {dir, dir / "model.safetensors.index.json"}) {
    auto reader = openOk(path);
    ASSERT_TRUE(reader);
    EXPECT_EQ(reader->tensorNames().size(), 3u);
    auto head = reader->tensor("lm_head.weight");
    ASSERT_TRUE(head.ok());
    EXPECT_EQ((*head)->file, (dir / "model-00002-of-00002.safetensors").string());
    auto embed = reader->readAsF32("model.embed_tokens.weight");
    ASSERT_TRUE(embed.ok());
    EXPECT_EQ(*embed, kF32Values);
    auto headValues = reader->readAsF32("lm_head.weight");
    ASSERT_TRUE(headValues.ok());
    EXPECT_EQ((*headValues)[2], 65504.0f);
  }
}

TEST(SafetensorsReader, IndexNamingAMissingShardIsAnError) {
  fs::path dir = freshDir("st_missing_shard");
  writeShards(dir, indexJson("lm_head.weight", "model-00003-of-00003.safetensors"));
  EXPECT_TRUE(hasSubstr(openError(dir),
                        "model.safetensors.index.json: shard 'model-00003-of-00003.safetensors' "
                        "(holding 'lm_head.weight' and 0 more): "));
}

TEST(SafetensorsReader, TensorInAnotherShardThanTheIndexSaysIsAnError) {
  fs::path dir = freshDir("st_wrong_shard");
  // The index puts the embedding in shard 2; the file has it in shard 1.
  Json index = Json::parse(indexJson());
  index["weight_map"]["model.embed_tokens.weight"] = "model-00002-of-00002.safetensors";
  writeShards(dir, index.dump());
  EXPECT_TRUE(hasSubstr(openError(dir),
                        "model-00001-of-00002.safetensors: tensor 'model.embed_tokens.weight': "
                        "present, but " +
                            (dir / "model.safetensors.index.json").string() +
                            " maps it to 'model-00002-of-00002.safetensors'"));
}

TEST(SafetensorsReader, TensorMissingFromItsShardIsAnError) {
  fs::path dir = freshDir("st_absent_tensor");
  Json index = Json::parse(indexJson());
  index["weight_map"]["model.layers.0.mlp.up_proj.weight"] = "model-00002-of-00002.safetensors";
  writeShards(dir, index.dump());
  EXPECT_TRUE(hasSubstr(openError(dir),
                        "maps tensor 'model.layers.0.mlp.up_proj.weight' to "
                        "'model-00002-of-00002.safetensors', which does not contain it"));
}

TEST(SafetensorsReader, ShardTensorAbsentFromTheIndexIsAnError) {
  fs::path dir = freshDir("st_unlisted");
  Json index = Json::parse(indexJson());
  index["weight_map"].erase("model.norm.weight");
  writeShards(dir, index.dump());
  EXPECT_TRUE(hasSubstr(openError(dir), "tensor 'model.norm.weight': present, but"));
  EXPECT_TRUE(hasSubstr(openError(dir), "does not list it"));
}

TEST(SafetensorsReader, MalformedIndexIsAnError) {
  struct Case {
    std::string index;
    std::string expected;
  };
  std::vector<Case> cases = {
      {"{\"weight_map\": {", "index is not valid JSON"},
      {"[1, 2]", "index is not a JSON object"},
      {"{\"metadata\": {}}", "'weight_map' is missing or not an object"},
      {"{\"weight_map\": {\"a\": 3}}", "weight_map['a'] is not a file name string"},
      {"{\"weight_map\": {\"a\": \"x.safetensors\", \"a\": \"y.safetensors\"}}",
       "index repeats the key 'a'"},
      {"{\"weight_map\": {\"a\": \"../model.safetensors\"}}",
       "weight_map['a'] names '../model.safetensors', which is not a file name in this "
       "directory"},
  };
  for (const Case &c : cases) {
    fs::path dir = freshDir("st_bad_index");
    writeShards(dir, c.index);
    EXPECT_TRUE(hasSubstr(openError(dir), c.expected)) << c.index;
  }
}

TEST(SafetensorsReader, TooShortOrTruncatedHeaderIsAnError) {
  fs::path dir = freshDir("st_short");
  writeFile(dir / "tiny.safetensors", "abc");
  EXPECT_TRUE(hasSubstr(openError(dir / "tiny.safetensors"),
                        "tiny.safetensors: file is 3 bytes, too short for the 8-byte header"));

  std::string good = safetensorsFile(threeDtypes());
  writeFile(dir / "cut.safetensors", good.substr(0, 40));
  EXPECT_TRUE(hasSubstr(openError(dir / "cut.safetensors"),
                        "exceeds the 32 bytes after it (truncated file?)"));

  writeFile(dir / "huge.safetensors", lengthPrefix(uint64_t(1) << 40) + "{}");
  EXPECT_TRUE(hasSubstr(openError(dir / "huge.safetensors"),
                        "header length 1099511627776 is more than the limit of 100000000"));
}

TEST(SafetensorsReader, MalformedHeaderIsAnErrorNamingFileAndTensor) {
  struct Case {
    std::string header;
    size_t dataSize;
    std::string expected;
  };
  const std::string w = "model.layers.3.mlp.up_proj.weight";
  auto entry = [&](const std::string &fields) { return "{\"" + w + "\": {" + fields + "}}"; };
  std::vector<Case> cases = {
      {"{\"a\": ", 0, "header is not valid JSON"},
      {"[]", 0, "header is not a JSON object"},
      {"{\"a\": {\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [0, 4]}, "
       "\"a\": {\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [4, 8]}}",
       8, "header repeats the key 'a'"},
      {"{\"" + w + "\": 7}", 0, "tensor '" + w + "': entry is not an object"},
      {entry("\"shape\": [2], \"data_offsets\": [0, 8]"), 8, "'dtype' is missing"},
      {entry("\"dtype\": \"F32\", \"data_offsets\": [0, 8]"), 8, "'shape' is missing"},
      {entry("\"dtype\": \"F32\", \"shape\": [2]"), 8, "'data_offsets' is missing"},
      {entry("\"dtype\": 32, \"shape\": [2], \"data_offsets\": [0, 8]"), 8,
       "'dtype' is not a string"},
      {entry("\"dtype\": \"I64\", \"shape\": [1], \"data_offsets\": [0, 8]"), 8,
       "unsupported dtype I64 for tensor '" + w + "' (mvc reads F32, F16 and BF16)"},
      {entry("\"dtype\": \"F32\", \"shape\": 2, \"data_offsets\": [0, 8]"), 8,
       "'shape' is not an array"},
      {entry("\"dtype\": \"F32\", \"shape\": [2, -1], \"data_offsets\": [0, 8]"), 8,
       "shape[1] is -1, expected a non-negative integer"},
      {entry("\"dtype\": \"F32\", \"shape\": [2.5], \"data_offsets\": [0, 8]"), 8,
       "shape[0] is 2.5, expected a non-negative integer"},
      {entry("\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296], "
             "\"data_offsets\": [0, 8]"),
       8, "shape's byte size overflows 64 bits"},
      {entry("\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0]"), 8,
       "data_offsets has 1 entries, expected 2"},
      {entry("\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [-8, 0]"), 8,
       "data_offsets[0] is -8, expected a non-negative integer"},
      {entry("\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [8, 0]"), 8,
       "data_offsets [8, 0) end before they begin"},
      {entry("\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]"), 12,
       ": tensor '" + w + "': data_offsets [0, 16) exceed the data size 12"},
      {entry("\"dtype\": \"BF16\", \"shape\": [2, 3], \"data_offsets\": [0, 8]"), 8,
       "data_offsets [0, 8) hold 8 bytes, but bf16 shape [2, 3] needs 12"},
      {"{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}, "
       "\"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [12, 20]}}",
       20, "tensor 'b': data_offsets [12, 20) overlap tensor 'a' at [0, 16)"},
      {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}, "
       "\"b\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}",
       16, "tensor 'a': data_offsets [4, 8) overlap tensor 'b' at [0, 16)"},
  };
  fs::path dir = freshDir("st_bad_header");
  fs::path path = dir / "model-00002-of-00002.safetensors";
  for (const Case &c : cases) {
    writeFile(path, rawFile(c.header, c.dataSize));
    std::string message = openError(path);
    EXPECT_TRUE(hasSubstr(message, c.expected)) << c.header;
    EXPECT_TRUE(hasSubstr(message, path.string() + ": ")) << c.header;
  }
}

TEST(SafetensorsReader, DisjointTensorsWithGapsAndEmptyOnesAreAccepted) {
  fs::path dir = freshDir("st_gaps");
  // Out of order, a gap between them, an empty tensor at the boundary and one inside a range.
  std::string header = "{\"b\": {\"dtype\": \"F16\", \"shape\": [2], \"data_offsets\": [20, 24]}, "
                       "\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}, "
                       "\"e\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [16, 16]}, "
                       "\"inner\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [4, 4]}, "
                       "\"__metadata__\": {\"format\": \"pt\"}}";
  writeFile(dir / "model.safetensors", rawFile(header, 24));
  auto reader = openOk(dir / "model.safetensors");
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->tensorNames(), (std::vector<std::string>{"a", "b", "e", "inner"}));
  auto b = reader->tensor("b");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)->bytes[0], 20);
}

// The file save_pretrained wrote for the Gemma 3 fixture (tests/fixtures/gen_gemma3_text.py).
TEST(SafetensorsReader, ReadsTheCheckpointTransformersWrote) {
  auto reader = openOk(fs::path(MVC_FIXTURES_DIR) / "tiny-gemma3-text");
  ASSERT_TRUE(reader);
  std::vector<std::string> names = reader->tensorNames();
  EXPECT_EQ(names.size(), 2 + 4 * 13u); // embedding, final norm, 13 per layer
  EXPECT_FALSE(reader->contains("lm_head.weight")); // tied: save_pretrained leaves it out
  const std::pair<const char *, std::vector<int64_t>> expected[] = {
      {"model.embed_tokens.weight", {512, 64}},
      {"model.norm.weight", {64}},
      {"model.layers.3.self_attn.q_proj.weight", {128, 64}},
      {"model.layers.3.self_attn.k_proj.weight", {64, 64}},
      {"model.layers.3.self_attn.o_proj.weight", {64, 128}},
      {"model.layers.3.self_attn.q_norm.weight", {32}},
      {"model.layers.0.mlp.down_proj.weight", {64, 128}},
      {"model.layers.0.post_feedforward_layernorm.weight", {64}},
  };
  for (const auto &[name, shape] : expected) {
    auto tensor = reader->tensor(name);
    ASSERT_TRUE(tensor.ok()) << tensor.status();
    EXPECT_EQ((*tensor)->dtype, DType::F32) << name;
    EXPECT_EQ((*tensor)->shape, shape) << name;
  }
  auto embedding = reader->readAsF32("model.embed_tokens.weight");
  ASSERT_TRUE(embedding.ok());
  double sumSquares = 0;
  for (float value : *embedding)
    sumSquares += double(value) * value;
  // Re-randomized with std 0.05.
  EXPECT_NEAR(std::sqrt(sumSquares / embedding->size()), 0.05, 0.005);
}

TEST(HalfFloats, F16ConvertsSpecialValuesExactly) {
  EXPECT_EQ(f16ToF32(0x0000), 0.0f);
  EXPECT_TRUE(std::signbit(f16ToF32(0x8000)));
  EXPECT_EQ(f16ToF32(0x3555), 0.333251953125f);
  EXPECT_EQ(f16ToF32(0x03ff), std::ldexp(1023.0f, -24)); // largest subnormal
  EXPECT_EQ(f16ToF32(0x0400), std::ldexp(1.0f, -14));    // smallest normal
  EXPECT_EQ(f16ToF32(0x8001), -std::ldexp(1.0f, -24));
  EXPECT_EQ(f16ToF32(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(f16ToF32(0xfc00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(f16ToF32(0x7e00)));
  EXPECT_TRUE(std::isnan(f16ToF32(0x7c01)));
}

TEST(HalfFloats, F16IsStrictlyIncreasingOverPositiveFiniteValues) {
  for (uint16_t bits = 0; bits < 0x7bff; ++bits)
    ASSERT_LT(f16ToF32(bits), f16ToF32(bits + 1)) << std::hex << bits;
  for (uint16_t bits = 0; bits <= 0x7bff; ++bits)
    ASSERT_EQ(f16ToF32(bits | 0x8000), -f16ToF32(bits)) << std::hex << bits;
}

TEST(HalfFloats, Bf16IsTheTopHalfOfAFloat) {
  EXPECT_EQ(bf16ToF32(0x3f80), 1.0f);
  EXPECT_EQ(bf16ToF32(0x4049), 3.140625f);
  EXPECT_EQ(bf16ToF32(0x0001), std::ldexp(1.0f, -133)); // subnormal
  EXPECT_EQ(bf16ToF32(0xff80), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(bf16ToF32(0x7fc0)));
}

} // namespace
} // namespace mvc
