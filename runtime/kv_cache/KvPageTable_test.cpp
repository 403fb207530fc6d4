#include "runtime/kv_cache/KvPageTable.h"

#include <map>
#include <random>
#include <set>

#include "gtest/gtest.h"

namespace mvc {
namespace {

std::vector<int32_t> pagesOf(const KvPageTable &table, SequenceId sequence) {
  absl::StatusOr<absl::Span<const int32_t>> pages = table.pages(sequence);
  EXPECT_TRUE(pages.ok()) << pages.status();
  return pages.ok() ? std::vector<int32_t>(pages->begin(), pages->end())
                    : std::vector<int32_t>{};
}

TEST(KvPageTable, GrowsSequencesPageByPage) {
  KvPageTable table = *KvPageTable::create(8, 16);
  ASSERT_TRUE(table.reserve(7, 1).ok());
  EXPECT_EQ(pagesOf(table, 7), (std::vector<int32_t>{0}));
  ASSERT_TRUE(table.reserve(7, 16).ok());
  EXPECT_EQ(pagesOf(table, 7).size(), 1u);
  ASSERT_TRUE(table.reserve(9, 40).ok());
  ASSERT_TRUE(table.reserve(7, 17).ok());
  EXPECT_EQ(pagesOf(table, 7), (std::vector<int32_t>{0, 4}));
  EXPECT_EQ(pagesOf(table, 9), (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(*table.length(7), 17);
  EXPECT_EQ(table.numFreePages(), 3);
  ASSERT_TRUE(table.reserve(11, 0).ok());
  EXPECT_TRUE(table.contains(11));
  EXPECT_TRUE(pagesOf(table, 11).empty());
}

TEST(KvPageTable, OutOfPagesChangesNothing) {
  KvPageTable table = *KvPageTable::create(4, 16);
  ASSERT_TRUE(table.reserve(1, 32).ok());
  absl::Status status = table.reserve(1, 100);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status.message(), "KV cache: out of pages: sequence 1 needs 5 more pages for 100 "
                              "tokens, 2 of 4 are free");
  EXPECT_EQ(*table.length(1), 32);
  EXPECT_EQ(table.numFreePages(), 2);
  EXPECT_FALSE(table.reserve(2, 49).ok());
  EXPECT_FALSE(table.contains(2));
}

TEST(KvPageTable, ReleasedPagesAreReused) {
  KvPageTable table = *KvPageTable::create(4, 2);
  ASSERT_TRUE(table.reserve(1, 4).ok());
  ASSERT_TRUE(table.reserve(2, 4).ok());
  EXPECT_EQ(table.numFreePages(), 0);
  ASSERT_TRUE(table.release(1).ok());
  EXPECT_FALSE(table.contains(1));
  EXPECT_EQ(table.numFreePages(), 2);
  ASSERT_TRUE(table.reserve(3, 3).ok());
  EXPECT_EQ(pagesOf(table, 3), (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(table.release(1).message(), "KV cache: no sequence 1");
}

TEST(KvPageTable, MisuseIsAnError) {
  EXPECT_FALSE(KvPageTable::create(4, 0).ok());
  EXPECT_FALSE(KvPageTable::create(-1, 16).ok());
  KvPageTable table = *KvPageTable::create(4, 16);
  ASSERT_TRUE(table.reserve(1, 20).ok());
  EXPECT_EQ(table.reserve(1, 10).message(),
            "KV cache: sequence 1 holds 20 tokens, cannot shrink to 10");
  EXPECT_FALSE(table.length(5).ok());
  EXPECT_FALSE(table.pages(5).ok());
}

TEST(KvPageTable, ExportsBlockTablesInBatchOrder) {
  KvPageTable table = *KvPageTable::create(8, 4);
  ASSERT_TRUE(table.reserve(10, 9).ok()); // pages 0 1 2
  ASSERT_TRUE(table.reserve(20, 2).ok()); // page 3
  std::vector<SequenceId> batch = {20, 10};
  absl::StatusOr<BlockTables> tables = table.exportBlockTables(batch);
  ASSERT_TRUE(tables.ok()) << tables.status();
  EXPECT_EQ(tables->maxPages, 3);
  EXPECT_EQ(tables->blockTable, (std::vector<int32_t>{3, 0, 0, 0, 1, 2}));
  EXPECT_EQ(tables->cacheLengths, (std::vector<int32_t>{2, 9}));

  tables = table.exportBlockTables(batch, 5);
  ASSERT_TRUE(tables.ok());
  EXPECT_EQ(tables->blockTable.size(), 10u);
  EXPECT_EQ(tables->blockTable[5], 0);
  EXPECT_EQ(tables->blockTable[7], 2);

  EXPECT_FALSE(table.exportBlockTables(batch, 2).ok());
  std::vector<SequenceId> twice = {10, 10};
  EXPECT_EQ(table.exportBlockTables(twice).status().message(),
            "KV cache: sequence 10 appears twice in the batch");
  std::vector<SequenceId> unknown = {10, 30};
  EXPECT_EQ(table.exportBlockTables(unknown).status().message(), "KV cache: no sequence 30");
  absl::StatusOr<BlockTables> empty = table.exportBlockTables({});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->blockTable.empty());
}

// Random reserve/release: no page is ever owned twice, and pages are conserved.
TEST(KvPageTable, RandomTrafficKeepsPagesExclusive) {
  KvPageTable table = *KvPageTable::create(32, 8);
  std::mt19937 random(3);
  std::map<SequenceId, int64_t> lengths;
  for (int step = 0; step < 2000; ++step) {
    SequenceId sequence = random() % 6;
    if (random() % 4 == 0) {
      EXPECT_EQ(table.release(sequence).ok(), lengths.erase(sequence) == 1);
    } else {
      int64_t target = lengths[sequence] + random() % 20;
      if (table.reserve(sequence, target).ok())
        lengths[sequence] = target;
      else if (!table.contains(sequence))
        lengths.erase(sequence);
    }
    std::set<int32_t> owned;
    size_t total = 0;
    for (const auto &[id, length] : lengths) {
      std::vector<int32_t> pages = pagesOf(table, id);
      ASSERT_EQ(static_cast<int64_t>(pages.size()), (length + 7) / 8);
      owned.insert(pages.begin(), pages.end());
      total += pages.size();
    }
    ASSERT_EQ(owned.size(), total) << "a page is owned twice at step " << step;
    ASSERT_EQ(total + table.numFreePages(), 32u);
  }
}

} // namespace
} // namespace mvc
