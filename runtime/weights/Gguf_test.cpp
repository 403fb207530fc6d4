#include "runtime/weights/Gguf.h"

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace mvc {
namespace {

const std::string kTiny = std::string(MVC_FIXTURES_DIR) + "/gguf_tiny/gemma3-tiny.gguf";

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string writeTemp(const std::string &name, const std::string &bytes) {
  std::string path = testing::TempDir() + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

/// The error open() gives for a file holding `bytes` (empty when it opens).
std::string openError(const std::string &bytes) {
  std::string path = writeTemp("case.gguf", bytes);
  auto reader = GgufReader::open(path);
  if (reader.ok())
    return "";
  std::string message(reader.status().message());
  EXPECT_EQ(message.rfind(path + ": ", 0), 0u) << "errors start with the path: " << message;
  return message.substr(path.size() + 2);
}

/// Builds GGUF bytes field by field, for files the writer would never produce.
struct Bytes {
  std::string s;
  Bytes &u32(uint32_t v) { return raw(&v, 4); }
  Bytes &u64(uint64_t v) { return raw(&v, 8); }
  Bytes &str(const std::string &v) { u64(v.size()); s += v; return *this; }
  Bytes &raw(const void *p, size_t n) { s.append(static_cast<const char *>(p), n); return *this; }
  /// Zero bytes up to the next multiple of `alignment`.
  Bytes &pad(size_t alignment) { s.resize((s.size() + alignment - 1) / alignment * alignment); return *this; }
  Bytes &header(uint64_t tensors, uint64_t keys, uint32_t version = 3) {
    return raw("GGUF", 4).u32(version).u64(tensors).u64(keys);
  }
  Bytes &tensor(const std::string &name, std::vector<uint64_t> dims, uint32_t type,
                uint64_t offset) {
    str(name).u32(dims.size());
    for (uint64_t d : dims) u64(d);
    return u32(type).u64(offset);
  }
};

TEST(GgufReader, ReadsTheFileGgufWriterWrote) {
  auto reader = GgufReader::open(kTiny);
  ASSERT_TRUE(reader.ok()) << reader.status();
  const GgufReader &r = **reader;
  EXPECT_EQ(r.version(), 3u);
  EXPECT_EQ(r.alignment(), 64u);
  EXPECT_EQ(r.dataOffset() % 64, 0u);
  EXPECT_EQ(*r.getString("general.architecture"), "gemma3");
  EXPECT_EQ(*r.getUInt("gemma3.embedding_length"), 64u);
  EXPECT_EQ(*r.getUInt("test.u8"), 200u);
  EXPECT_EQ(*r.getInt("test.i8"), -100);
  EXPECT_EQ(*r.getUInt("test.u16"), 60000u);
  EXPECT_EQ(*r.getInt("test.i16"), -30000);
  EXPECT_EQ(*r.getUInt("test.u32"), 4000000000u);
  EXPECT_EQ(*r.getInt("test.i32"), -2000000000);
  EXPECT_EQ(*r.getFloat("test.f32"), 0.25);
  EXPECT_EQ(*r.getBool("test.bool"), true);
  EXPECT_EQ(*r.getString("test.string"), "h\xc3\xa9llo");
  EXPECT_EQ(*r.getUInt("test.u64"), uint64_t(1) << 63);
  EXPECT_EQ(*r.getInt("test.i64"), -(int64_t(1) << 62));
  EXPECT_EQ(*r.getFloat("test.f64"), -1.5);
  EXPECT_EQ(*r.getIntArray("test.array.i16"), (std::vector<int64_t>{-1, 2, -3}));
  EXPECT_EQ(*r.getFloatArray("test.array.f64"), (std::vector<float>{0.5f, -2.0f}));
  const GgufValue *flags = r.find("test.array.bool");
  ASSERT_NE(flags, nullptr);
  EXPECT_EQ(flags->elementType, GgufValueType::Bool);
  EXPECT_EQ(std::vector<uint8_t>(flags->bytes.begin(), flags->bytes.end()),
            (std::vector<uint8_t>{1, 0}));
  const GgufValue *nested = r.find("test.array.nested");
  ASSERT_NE(nested, nullptr);
  ASSERT_EQ(nested->elementType, GgufValueType::Array);
  ASSERT_EQ(nested->items.size(), 2u);
  EXPECT_EQ(nested->items[0].count, 2u);
  EXPECT_EQ(nested->items[1].count, 1u);
  EXPECT_EQ(nested->items[1].bytes.size(), 4u); // one int32

  auto tokens = r.getStringArray("tokenizer.ggml.tokens");
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  ASSERT_EQ(tokens->size(), 96u);
  EXPECT_EQ((*tokens)[2], "<bos>");
  EXPECT_EQ(r.getFloatArray("tokenizer.ggml.scores")->size(), 96u);
  EXPECT_EQ((*r.getIntArray("tokenizer.ggml.token_type"))[0], 3); // CONTROL

  EXPECT_EQ(r.tensors().size(), 2u + 2 * 13);
  const GgufTensor *embed = r.tensor("token_embd.weight");
  ASSERT_NE(embed, nullptr);
  EXPECT_EQ(embed->type, GgmlType::Q8_0);
  EXPECT_EQ(embed->dims, (std::vector<int64_t>{64, 96})); // innermost first
  EXPECT_EQ(embed->hfShape(), (std::vector<int64_t>{96, 64}));
  EXPECT_EQ(embed->bytes.size(), 96u * 64 / 32 * 34);
  EXPECT_EQ(r.tensor("blk.1.ffn_up.weight")->type, GgmlType::BF16);
  auto norm = r.readAsF32("output_norm.weight");
  ASSERT_TRUE(norm.ok()) << norm.status();
  EXPECT_EQ(norm->size(), 64u);
  EXPECT_EQ(r.tensor("nope"), nullptr);
}

// Compiles stream large tensors by rows: any row range must equal that slice of the whole
// tensor, for a quantized (Q8_0) and a bf16 tensor; ranges past the end are refused.
TEST(GgufReader, RowRangesAreSlicesOfTheWholeTensor) {
  auto reader = GgufReader::open(kTiny);
  ASSERT_TRUE(reader.ok()) << reader.status();
  const GgufReader &r = **reader;
  for (const char *name : {"token_embd.weight", "blk.1.ffn_up.weight"}) {
    auto whole = r.readAsF32(name);
    ASSERT_TRUE(whole.ok()) << whole.status();
    int64_t rowElems = r.tensor(name)->dims[0];
    int64_t rows = int64_t(whole->size()) / rowElems;
    for (auto [begin, count] : {std::pair<int64_t, int64_t>{0, 1}, {3, 17}, {rows - 5, 5}, {0, rows}}) {
      auto part = r.readRowsAsF32(name, begin, count);
      ASSERT_TRUE(part.ok()) << part.status();
      std::vector<float> want(whole->begin() + begin * rowElems,
                              whole->begin() + (begin + count) * rowElems);
      EXPECT_EQ(*part, want) << name << " rows " << begin << "+" << count;
    }
    EXPECT_EQ(r.readRowsAsF32(name, rows - 1, 2).status().code(), absl::StatusCode::kOutOfRange);
  }
}

TEST(GgufReader, TypedGettersNameTheKeyAndTheTypes) {
  auto reader = GgufReader::open(kTiny);
  ASSERT_TRUE(reader.ok()) << reader.status();
  const GgufReader &r = **reader;
  auto s = r.getString("test.u32");
  EXPECT_EQ(s.status().message(),
            kTiny + ": metadata 'test.u32': expected string, found uint32");
  EXPECT_EQ(r.getUInt("test.i8").status().message(),
            kTiny + ": metadata 'test.i8': expected a non-negative integer, found int8");
  EXPECT_EQ(r.getInt("test.u64").status().message(),
            kTiny + ": metadata 'test.u64': expected an integer that fits in int64, found uint64");
  EXPECT_EQ(r.getFloatArray("tokenizer.ggml.tokens").status().message(),
            kTiny + ": metadata 'tokenizer.ggml.tokens': expected array of float32 or float64, "
                    "found array of string");
  EXPECT_FALSE(r.getIntArray("test.array.u64").ok()); // 2^63 does not fit in int64
  EXPECT_EQ(r.getBool("missing.key").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(r.readAsF32("missing").status().message(), kTiny + ": no tensor 'missing'");
}

TEST(GgufReader, EveryTruncationIsRefused) {
  std::string bytes = readFile(kTiny);
  auto reader = GgufReader::open(kTiny);
  ASSERT_TRUE(reader.ok());
  uint64_t dataStart = (*reader)->dataOffset();
  // Every cut inside the header, metadata and tensor infos, then cuts through the data.
  for (size_t cut = 0; cut < bytes.size(); cut += cut < dataStart ? 1 : 509) {
    std::string message = openError(bytes.substr(0, cut));
    ASSERT_FALSE(message.empty()) << "a file cut at " << cut << " opened";
  }
  // The scores array's elements start at 2321 in the fixture.
  EXPECT_EQ(openError(bytes.substr(0, 2400)),
            "metadata 'tokenizer.ggml.scores': array of 96 float32 at offset 2309 cannot fit in "
            "the 79 bytes left");
}

TEST(GgufReader, HeaderErrors) {
  EXPECT_EQ(openError(""), "truncated: the magic at offset 0 needs 4 bytes, the file has 0 left");
  EXPECT_EQ(openError(Bytes().raw("GGML", 4).u32(3).u64(0).u64(0).s),
            "not a GGUF file (the first 4 bytes are not \"GGUF\")");
  EXPECT_EQ(openError(Bytes().header(0, 0, 1).s), "GGUF version 1 (mvc reads 2 and 3)");
  EXPECT_EQ(openError(Bytes().header(0, 0, 0x03000000).s),
            "a big-endian GGUF; mvc reads little-endian files");
  EXPECT_EQ(openError(Bytes().header(0, 0, 2).s), "");
  EXPECT_EQ(openError(Bytes().header(0, uint64_t(1) << 62).s),
            "metadata count 4611686018427387904 cannot fit in the 0 bytes left");
  EXPECT_EQ(openError(Bytes().header(uint64_t(1) << 40, 0).s),
            "tensor count 1099511627776 cannot fit in the 0 bytes left");
}

TEST(GgufReader, MetadataErrors) {
  EXPECT_EQ(openError(Bytes().header(0, 1).u64(uint64_t(1) << 40).u64(0).s),
            "metadata key #0: string length 1099511627776 at offset 24 runs past the end of "
            "the file (8 bytes left)");
  EXPECT_EQ(openError(Bytes().header(0, 1).str("k").u32(13).u32(0).s),
            "metadata 'k': unknown value type 13");
  EXPECT_EQ(openError(Bytes().header(0, 1).str("k").u32(8).u64(100).s),
            "metadata 'k': string length 100 at offset 37 runs past the end of the file (0 "
            "bytes left)");
  EXPECT_EQ(openError(Bytes().header(0, 1).str("k").u32(9).u32(4).u64(uint64_t(1) << 60).s),
            "metadata 'k': array of 1152921504606846976 uint32 at offset 37 cannot fit in the 0 "
            "bytes left");
  EXPECT_EQ(openError(Bytes().header(0, 1).str("k").u32(9).u32(8).u64(3).str("a").s),
            "metadata 'k': array of 3 string at offset 37 cannot fit in the 9 bytes left");
  EXPECT_EQ(openError(Bytes().header(0, 2).str("k").u32(4).u32(1).str("k").u32(4).u32(2).s),
            "metadata 'k' appears twice");
  Bytes deep;
  deep.header(0, 1).str("k").u32(9);
  for (int i = 0; i < 20; ++i) deep.u32(9).u64(1);
  EXPECT_EQ(openError(deep.s).rfind("metadata 'k'[0][0]", 0), 0u);
  EXPECT_NE(openError(deep.s).find("arrays nested deeper than 16"), std::string::npos);
  EXPECT_EQ(openError(Bytes().header(0, 1).str("general.alignment").u32(4).u32(48).s),
            "general.alignment is 48, expected a power of two");
  std::string wrongType = openError(Bytes().header(0, 1).str("general.alignment").u32(8).str("x").s);
  EXPECT_NE(wrongType.find("'general.alignment': expected a non-negative integer, found string"),
            std::string::npos) << wrongType;
}

/// A file with one key-less header, the given tensor infos, and `dataBytes` of data.
std::string withTensors(const std::vector<Bytes> &infos, size_t dataBytes) {
  Bytes b;
  b.header(infos.size(), 0);
  for (const Bytes &info : infos) b.s += info.s;
  b.pad(32);
  b.s.append(dataBytes, '\0');
  return b.s;
}

TEST(GgufReader, TensorInfoErrors) {
  auto one = [](std::vector<uint64_t> dims, uint32_t type, uint64_t offset, size_t data) {
    return openError(withTensors({Bytes().tensor("w", dims, type, offset)}, data));
  };
  EXPECT_EQ(one({32, 2}, 0, 0, 256), "");
  EXPECT_EQ(one({32, 2}, 4, 0, 256), "tensor 'w': unknown ggml type 4");
  EXPECT_EQ(one({32, 2}, 99, 0, 256), "tensor 'w': unknown ggml type 99");
  EXPECT_EQ(one({}, 0, 0, 256), "tensor 'w': rank 0, expected 1 to 4");
  EXPECT_EQ(one({1, 1, 1, 1, 1}, 0, 0, 256), "tensor 'w': rank 5, expected 1 to 4");
  EXPECT_EQ(one({uint64_t(1) << 40, uint64_t(1) << 40}, 0, 0, 256),
            "tensor 'w': dims overflow 64 bits (dim 1 is 1099511627776)");
  EXPECT_EQ(one({640, 2}, 12, 0, 2048),
            "tensor 'w': rows of 640 values are not a multiple of the Q4_K block of 256");
  EXPECT_EQ(one({32, 2}, 0, 16, 512),
            "tensor 'w': offset 16 is not a multiple of the alignment 32");
  // The data area starts at 96: 65 bytes of header and tensor info, padded to 32.
  EXPECT_EQ(one({32, 2}, 0, 0, 255), "tensor 'w': data [96, 352) beyond the file size 351");
  EXPECT_EQ(one({32, 2}, 0, uint64_t(1) << 63, 256),
            "tensor 'w': data [9223372036854775904, 9223372036854776160) beyond the file size 352");
  EXPECT_EQ(one({uint64_t(1) << 61, 2}, 0, 0, 256),
            "tensor 'w': data size overflows 64 bits");
  EXPECT_EQ(openError(withTensors({Bytes().tensor("a", {32}, 0, 0),
                                    Bytes().tensor("b", {32}, 0, 64)}, 256)),
            "tensors 'a' and 'b' overlap");
  EXPECT_EQ(openError(withTensors({Bytes().tensor("a", {8}, 0, 0),
                                    Bytes().tensor("a", {8}, 0, 32)}, 256)),
            "tensor 'a' appears twice");
  // A tensor count one too high reads the padding before the data area as a tensor info.
  Bytes lying;
  lying.header(2, 0).tensor("a", {8}, 0, 0).pad(32);
  lying.s.append(256, '\0');
  EXPECT_EQ(openError(lying.s),
            "tensor #1 of 2 has an empty name (is the tensor count right?)");
  // A corrupt name is shown escaped and cut short.
  EXPECT_EQ(openError(withTensors({Bytes().tensor("a\n\xff", {}, 0, 0)}, 256)),
            "tensor 'a\\n\\xff': rank 0, expected 1 to 4");
  EXPECT_EQ(openError(withTensors({Bytes().tensor(std::string(300, 'x'), {}, 0, 0)}, 512)),
            "tensor '" + std::string(100, 'x') + "...': rank 0, expected 1 to 4");
}

TEST(GgufReader, UnsupportedTensorTypeIsRefusedWhenRead) {
  std::string path = writeTemp(
      "iq.gguf", withTensors({Bytes().tensor("blk.3.ffn_down.weight", {256}, 17, 0)}, 96));
  auto reader = GgufReader::open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  auto values = (*reader)->readAsF32("blk.3.ffn_down.weight");
  ASSERT_FALSE(values.ok());
  EXPECT_EQ(values.status().message().rfind(
                path + ": tensor 'blk.3.ffn_down.weight': unsupported GGUF tensor type IQ2_XS", 0),
            0u)
      << values.status();
}

} // namespace
} // namespace mvc
