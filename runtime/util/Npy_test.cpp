#include "runtime/util/Npy.h"

#include <cstring>
#include <filesystem>
#include <unistd.h>

#include "gtest/gtest.h"

namespace mvc {
namespace {

using namespace std::string_literals;

// A file as NumPy 2.x writes np.arange(3, dtype=np.int32) with the given format version.
std::string numpyInt32File(int version) {
  std::string dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }";
  std::string header = dict + std::string(116 - dict.size() - 1, ' ') + "\n";
  std::string out = "\x93NUMPY"s + static_cast<char>(version) + '\0';
  out += version == 1 ? "t\0"s : "t\0\0\0"s;
  out += header;
  for (int32_t i = 0; i < 3; ++i)
    out.append(reinterpret_cast<const char *>(&i), 4);
  return out;
}

std::string withDict(const std::string &dict, size_t dataBytes) {
  std::string out = "\x93NUMPY\x01\x00"s;
  out.push_back(static_cast<char>(dict.size()));
  out.push_back(0);
  return out + dict + std::string(dataBytes, '\0');
}

testing::AssertionResult failsWith(absl::StatusOr<NpyArray> result, const std::string &needle) {
  if (result.ok())
    return testing::AssertionFailure() << "parsed, expected an error with '" << needle << "'";
  std::string message(result.status().message());
  if (message.find(needle) == std::string::npos || message.find("in.npy") == std::string::npos)
    return testing::AssertionFailure() << "error '" << message << "' lacks '" << needle
                                       << "' or the file name";
  return testing::AssertionSuccess();
}

TEST(Npy, ReadsNumpyVersions1To3) {
  for (int version : {1, 2, 3}) {
    absl::StatusOr<NpyArray> array = parseNpy(numpyInt32File(version), "in.npy");
    ASSERT_TRUE(array.ok()) << array.status();
    EXPECT_EQ(array->dtype, DType::I32);
    EXPECT_EQ(array->shape, std::vector<int64_t>{3});
    int32_t values[3];
    ASSERT_EQ(array->data.size(), sizeof(values));
    std::memcpy(values, array->data.data(), sizeof(values));
    EXPECT_EQ(values[2], 2);
  }
}

TEST(Npy, RoundTripsEveryDTypeAndShape) {
  struct Case {
    DType dtype;
    std::vector<int64_t> shape;
  };
  for (const Case &c : {Case{DType::F32, {2, 3}}, Case{DType::F16, {5}}, Case{DType::I32, {}},
                        Case{DType::I64, {1, 1, 2}}, Case{DType::U8, {4, 0}},
                        Case{DType::BF16, {3, 2}}}) {
    size_t count = 1;
    for (int64_t d : c.shape)
      count *= d;
    std::vector<uint8_t> data(count * dtypeSize(c.dtype));
    for (size_t i = 0; i < data.size(); ++i)
      data[i] = static_cast<uint8_t>(i * 7 + 1);
    absl::StatusOr<std::string> bytes = encodeNpy(c.dtype, c.shape, data.data(), data.size());
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    EXPECT_EQ((bytes->size() - data.size()) % 64, 0u);
    NpyReadOptions options;
    options.u2AsBf16 = c.dtype == DType::BF16;
    absl::StatusOr<NpyArray> array = parseNpy(*bytes, "in.npy", options);
    ASSERT_TRUE(array.ok()) << array.status();
    EXPECT_EQ(array->dtype, c.dtype);
    EXPECT_EQ(array->shape, c.shape);
    EXPECT_EQ(array->data, data);
  }
}

TEST(Npy, Bf16IsReadOnlyWhenAsked) {
  uint16_t data[2] = {0x3F80, 0x4000};
  absl::StatusOr<std::string> bytes = encodeNpy(DType::BF16, {2}, data, sizeof(data));
  ASSERT_TRUE(bytes.ok());
  EXPECT_TRUE(failsWith(parseNpy(*bytes, "in.npy"), "'<u2'"));
}

TEST(Npy, WriteIsAtomicAndReadable) {
  std::string dir = testing::TempDir() + "/npy." + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  float data[4] = {1, 2, 3, 4};
  std::vector<int64_t> shape = {2, 2};
  ASSERT_TRUE(writeNpy(dir + "/a.npy", DType::F32, shape, data, sizeof(data)).ok());
  absl::StatusOr<NpyArray> array = readNpy(dir + "/a.npy");
  ASSERT_TRUE(array.ok()) << array.status();
  EXPECT_EQ(array->shape, shape);
  // Data that does not match the shape is refused before anything is created.
  EXPECT_FALSE(writeNpy(dir + "/b.npy", DType::F32, shape, data, 8).ok());
  EXPECT_FALSE(std::filesystem::exists(dir + "/b.npy"));
  std::filesystem::remove_all(dir);
}

TEST(Npy, MissingFileNamesThePath) {
  absl::StatusOr<NpyArray> array = readNpy("/nonexistent/in.npy");
  ASSERT_FALSE(array.ok());
  EXPECT_NE(array.status().message().find("/nonexistent/in.npy"), std::string::npos);
}

TEST(Npy, MalformedHeadersAreRefusedWithTheReason) {
  EXPECT_TRUE(failsWith(parseNpy("PK\x03\x04 not npy", "in.npy"), "magic"));
  std::string file = numpyInt32File(1);
  EXPECT_TRUE(failsWith(parseNpy(file.substr(0, 9), "in.npy"), "truncated header length"));
  EXPECT_TRUE(failsWith(parseNpy(file.substr(0, 40), "in.npy"), "runs past the end"));
  EXPECT_TRUE(failsWith(parseNpy(file.substr(0, file.size() - 1), "in.npy"), "truncated"));
  EXPECT_TRUE(failsWith(parseNpy(file + "x", "in.npy"), "data is 13 bytes"));
  std::string badVersion = file;
  badVersion[6] = 4;
  EXPECT_TRUE(failsWith(parseNpy(badVersion, "in.npy"), "version 4.0"));

  const std::string good = "'fortran_order': False, 'shape': (3,), }";
  EXPECT_TRUE(failsWith(parseNpy(withDict("{'descr': '>f4', " + good, 12), "in.npy"),
                        "big-endian"));
  EXPECT_TRUE(failsWith(parseNpy(withDict("{'descr': '<c8', " + good, 24), "in.npy"),
                        "unsupported descr '<c8'"));
  EXPECT_TRUE(failsWith(
      parseNpy(withDict("{'descr': '<f4', 'fortran_order': True, 'shape': (3,), }", 12),
               "in.npy"),
      "fortran_order"));
  EXPECT_TRUE(failsWith(
      parseNpy(withDict("{'descr': '<f4', 'fortran_order': False, }", 4), "in.npy"),
      "'shape' is missing"));
  EXPECT_TRUE(failsWith(
      parseNpy(withDict("{'descr': '<f4', 'fortran_order': False, 'shape': (-3,), }", 12),
               "in.npy"),
      "non-negative integer"));
  EXPECT_TRUE(failsWith(parseNpy(withDict("{'descr': '<f4', 'descr': '<f4', " + good, 12),
                                 "in.npy"),
                        "duplicate header key 'descr'"));
  EXPECT_TRUE(failsWith(parseNpy(withDict("{'descr': '<f4', 'extra': 1, " + good, 12), "in.npy"),
                        "expected a quoted string"));
  EXPECT_TRUE(failsWith(
      parseNpy(withDict("{'descr': '<f4', 'fortran_order': False, 'shape': "
                        "(99999999999, 99999999999, 99999999999), }",
                        0),
               "in.npy"),
      "too many elements"));
  EXPECT_TRUE(failsWith(parseNpy(withDict("{'descr': '<f4'", 0), "in.npy"), "expected"));
}

} // namespace
} // namespace mvc
