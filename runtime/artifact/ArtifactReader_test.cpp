#include "runtime/artifact/ArtifactReader.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "compiler/Artifact/ArtifactWriter.h"
#include "gtest/gtest.h"
#include "runtime/artifact/Format.h"
#include "runtime/util/Hash.h"

namespace mvc {
namespace {

namespace fs = std::filesystem;
using namespace artifact;

void setName(SectionEntry &entry, const char *name) {
  std::memset(entry.name, 0, sizeof(entry.name));
  std::strcpy(entry.name, name);
}

const char kManifest[] = R"({"format_version": 1, "target": {"kind": "cpu"},
  "weights": [{"name": "w", "dtype": "f32", "shape": [3], "layout": "row_major",
               "offset": 64, "size": 12}],
  "programs": []})";

class ArtifactReaderTest : public testing::Test {
protected:
  void SetUp() override {
    dir = fs::path(testing::TempDir()) /
          ("artifact_reader." + std::to_string(getpid()) + "." +
           testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
    path = (dir / "a.mvc").string();
  }
  void TearDown() override { fs::remove_all(dir); }

  /// Writes an artifact with a manifest, a kernels section and a 76-byte weights section.
  void writeArtifact(const std::string &manifest = kManifest) {
    ArtifactWriter writer;
    ASSERT_TRUE(writer.addSection(kManifestSection, manifest).ok());
    ASSERT_TRUE(writer.addSection(kCpuKernelsSection, std::string(100, 'k')).ok());
    std::string weights(76, '\0');
    float values[3] = {1, 2, 3};
    std::memcpy(&weights[64], values, sizeof(values));
    ASSERT_TRUE(writer
                    .addSection(
                        kWeightsSection,
                        [weights](const ArtifactWriter::Sink &sink) {
                          // Streamed in uneven pieces, as a weight packer would.
                          if (absl::Status s = sink(weights.data(), 5); !s.ok())
                            return s;
                          return sink(weights.data() + 5, weights.size() - 5);
                        },
                        /*lazyChecksum=*/true)
                    .ok());
    absl::Status status = writer.write(path);
    ASSERT_TRUE(status.ok()) << status;
  }
  std::string bytes() const {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
  }
  void setBytes(const std::string &data) const {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
  }
  /// Applies `edit` to section entry `index` and re-signs the table, so only the edit's
  /// own consequence is seen.
  void editEntry(int index, const std::function<void(SectionEntry &)> &edit) const {
    std::string data = bytes();
    Header header;
    std::memcpy(&header, data.data(), sizeof(header));
    SectionEntry entry;
    char *slot = &data[sizeof(Header) + index * sizeof(SectionEntry)];
    std::memcpy(&entry, slot, sizeof(entry));
    edit(entry);
    std::memcpy(slot, &entry, sizeof(entry));
    header.headerChecksum =
        mvcHash64(data.data() + sizeof(Header), header.numSections * sizeof(SectionEntry));
    std::memcpy(data.data(), &header, sizeof(header));
    setBytes(data);
  }
  std::string openError() const {
    absl::StatusOr<std::unique_ptr<ArtifactReader>> reader = ArtifactReader::open(path);
    if (reader.ok())
      return "opened";
    std::string message(reader.status().message());
    EXPECT_EQ(message.rfind(path, 0), 0u) << "error does not start with the path: " << message;
    return message;
  }
  uint64_t sectionOffset(const char *name) const {
    absl::StatusOr<std::unique_ptr<ArtifactReader>> reader = ArtifactReader::open(path);
    EXPECT_TRUE(reader.ok()) << reader.status();
    return reader.ok() ? (*reader)->findSection(name)->offset : 0;
  }

  fs::path dir;
  std::string path;
};

TEST_F(ArtifactReaderTest, RoundTripKeepsSectionsAlignedAndChecked) {
  writeArtifact();
  absl::StatusOr<std::unique_ptr<ArtifactReader>> reader = ArtifactReader::open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  const auto &sections = (*reader)->sections();
  ASSERT_EQ(sections.size(), 3u);
  EXPECT_EQ(sections[0].name, "manifest");
  EXPECT_EQ(sections[1].name, "kernels.cpu");
  EXPECT_EQ(sections[2].name, "weights");
  for (const auto &s : sections)
    EXPECT_EQ(s.offset % kAlignment, 0u) << s.name;
  EXPECT_EQ(sections[0].offset, sizeof(Header) + 3 * sizeof(SectionEntry));
  EXPECT_EQ(sections[1].bytes.size(), 100u);
  EXPECT_EQ(sections[1].flags, 0u);
  EXPECT_EQ(sections[2].flags, kSectionLazyChecksum);
  const WeightInfo &weight = (*reader)->manifest().weights.at(0);
  absl::Span<const uint8_t> w = (*reader)->weightBytes(weight);
  ASSERT_EQ(w.size(), 12u);
  float third;
  std::memcpy(&third, w.data() + 8, 4);
  EXPECT_EQ(third, 3.0f);
  EXPECT_TRUE((*reader)->verifyWeights().ok());
  EXPECT_EQ(fs::file_size(path), sections[2].offset + 76);
  // Nothing but the artifact is left in the directory.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
}

TEST_F(ArtifactReaderTest, EveryTruncationIsRefused) {
  writeArtifact();
  std::string data = bytes();
  for (size_t length = 0; length < data.size(); ++length) {
    setBytes(data.substr(0, length));
    std::string error = openError();
    EXPECT_NE(error, "opened") << "truncated to " << length;
    EXPECT_NE(error.find("truncated"), std::string::npos) << length << ": " << error;
  }
}

TEST_F(ArtifactReaderTest, BitFlipsAreCaughtWhereTheyLand) {
  writeArtifact();
  const std::string data = bytes();
  uint64_t manifestOffset = sectionOffset("manifest");
  uint64_t kernelsOffset = sectionOffset("kernels.cpu");
  uint64_t weightsOffset = sectionOffset("weights");
  struct Flip {
    uint64_t offset;
    const char *error;
  };
  for (Flip flip : {Flip{0, "bad magic"}, Flip{8, "unsupported artifact version"},
                    Flip{16, "header says"}, Flip{24, "section table checksum"},
                    Flip{40, "reserved bytes"}, Flip{64 + 3, "section table checksum"},
                    Flip{manifestOffset + 10, "section 'manifest': checksum mismatch"},
                    Flip{kernelsOffset + 99, "section 'kernels.cpu': checksum mismatch"}}) {
    std::string flipped = data;
    flipped[flip.offset] ^= 0x10;
    setBytes(flipped);
    std::string error = openError();
    EXPECT_NE(error.find(flip.error), std::string::npos) << flip.offset << ": " << error;
  }
  // Weights are checked on request only.
  std::string flipped = data;
  flipped[weightsOffset + 70] ^= 1;
  setBytes(flipped);
  absl::StatusOr<std::unique_ptr<ArtifactReader>> reader = ArtifactReader::open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  absl::Status status = (*reader)->verifyWeights();
  EXPECT_NE(status.message().find("section 'weights': checksum mismatch"), std::string::npos)
      << status;
}

TEST_F(ArtifactReaderTest, BadSectionTablesAreRefused) {
  writeArtifact();
  const std::string original = bytes();
  auto expectError = [&](int index, const std::function<void(SectionEntry &)> &edit,
                         const char *expected) {
    setBytes(original);
    editEntry(index, edit);
    std::string error = openError();
    EXPECT_NE(error.find(expected), std::string::npos) << expected << ": " << error;
  };
  expectError(1, [](SectionEntry &e) { e.offset += 8; }, "is not a multiple of 64");
  expectError(1, [](SectionEntry &e) { e.size = 1ull << 62; }, "outside the payload area");
  expectError(1, [](SectionEntry &e) { e.offset = 0; }, "outside the payload area");
  expectError(1, [](SectionEntry &e) { e.offset = ~0ull << 6; }, "outside the payload area");
  expectError(1, [](SectionEntry &e) { setName(e, "manifest"); }, "appears twice");
  expectError(0, [](SectionEntry &e) { setName(e, "notes"); }, "no 'manifest' section");
  expectError(1, [](SectionEntry &e) { e.name[20] = 'x'; }, "bytes after its terminating NUL");
  expectError(1, [](SectionEntry &e) { std::memset(e.name, 0, sizeof(e.name)); }, "empty name");
  expectError(2, [](SectionEntry &e) { e.flags = 6; }, "unknown flags 6");
}

TEST_F(ArtifactReaderTest, ManifestErrorsNameTheFileAndTheField) {
  writeArtifact(R"({"format_version": 1, "target": {"kind": "cpu"}, "programs": [{}]})");
  EXPECT_NE(openError().find(": manifest: programs[0]: missing field 'name'"), std::string::npos);
  writeArtifact("not json");
  EXPECT_NE(openError().find("manifest: not valid JSON"), std::string::npos);
  std::string manifest = kManifest;
  manifest.replace(manifest.find("\"offset\": 64"), 12, "\"offset\": 128");
  writeArtifact(manifest);
  EXPECT_NE(openError().find("weights[0] ('w'): bytes [128, +12) are outside the 76-byte "
                             "weights section"),
            std::string::npos);
}

TEST_F(ArtifactReaderTest, MissingOrForeignFiles) {
  EXPECT_NE(openError().find("cannot open"), std::string::npos);
  setBytes(std::string(200, 'x'));
  EXPECT_NE(openError().find("bad magic"), std::string::npos);
}

TEST_F(ArtifactReaderTest, WriterLeavesNothingWhenAProducerFails) {
  ArtifactWriter writer;
  ASSERT_TRUE(writer.addSection("manifest", "{}").ok());
  ASSERT_TRUE(writer
                  .addSection("weights",
                              [](const ArtifactWriter::Sink &sink) -> absl::Status {
                                if (absl::Status s = sink("abc", 3); !s.ok())
                                  return s;
                                return absl::DataLossError("weight file vanished");
                              })
                  .ok());
  absl::Status status = writer.write(path);
  EXPECT_NE(status.message().find("section 'weights': weight file vanished"), std::string::npos)
      << status;
  EXPECT_TRUE(fs::is_empty(dir));
}

TEST_F(ArtifactReaderTest, WriterRejectsBadSectionNames) {
  ArtifactWriter writer;
  EXPECT_FALSE(writer.addSection("", "x").ok());
  EXPECT_FALSE(writer.addSection(std::string(33, 'n'), "x").ok());
  EXPECT_TRUE(writer.addSection(std::string(32, 'n'), "x").ok());
  EXPECT_NE(writer.addSection(std::string(32, 'n'), "x").message().find("duplicate"),
            std::string::npos);
  for (int i = 1; i < 64; ++i)
    ASSERT_TRUE(writer.addSection("s" + std::to_string(i), "x").ok());
  EXPECT_NE(writer.addSection("one-more", "x").message().find("at most 64"), std::string::npos);
}

} // namespace
} // namespace mvc
