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

// A shared prefix: both sequences hold its full pages; a page goes back to the pool only
// when its last holder is released.
TEST(KvPageTable, SharedPagesAreReferenceCounted) {
  KvPageTable table = *KvPageTable::create(8, 4);
  ASSERT_TRUE(table.reserve(1, 10).ok()); // pages 0 1 2, the last partly filled
  absl::StatusOr<int64_t> shared = table.share(1, 2, 10);
  ASSERT_TRUE(shared.ok()) << shared.status();
  EXPECT_EQ(*shared, 8); // the full pages only: page 2 is still being written by sequence 1
  EXPECT_EQ(pagesOf(table, 2), (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(*table.length(2), 8);
  EXPECT_EQ(table.holders(0), 2);
  EXPECT_EQ(table.holders(2), 1);
  ASSERT_TRUE(table.reserve(2, 12).ok()); // its own third page
  EXPECT_EQ(pagesOf(table, 2), (std::vector<int32_t>{0, 1, 3}));
  EXPECT_EQ(table.numFreePages(), 4);
  ASSERT_TRUE(table.release(1).ok());
  EXPECT_EQ(table.numFreePages(), 5); // page 2 only; 0 and 1 are still sequence 2's
  EXPECT_EQ(table.holders(0), 1);
  ASSERT_TRUE(table.release(2).ok());
  EXPECT_EQ(table.numFreePages(), 8);

  ASSERT_TRUE(table.reserve(3, 4).ok());
  EXPECT_EQ(table.share(3, 3, 4).status().message(),
            "KV cache: sequence 3 exists; only a new sequence can share pages");
  EXPECT_EQ(table.share(3, 4, 5).status().message(),
            "KV cache: sequence 3 holds 4 tokens, cannot share 5");
  EXPECT_EQ(table.share(9, 4, 0).status().message(), "KV cache: no sequence 9");
}

TEST(KvPageTable, ReserveAllIsAllOrNothing) {
  KvPageTable table = *KvPageTable::create(4, 4);
  ASSERT_TRUE(table.reserve(1, 4).ok());
  std::vector<std::pair<SequenceId, int64_t>> step = {{1, 8}, {2, 12}};
  absl::Status status = table.reserveAll(step);
  EXPECT_EQ(status.message(), "KV cache: out of pages: 2 sequences need 4 more pages, 3 of 4 are free");
  EXPECT_EQ(*table.length(1), 4);
  EXPECT_FALSE(table.contains(2));
  EXPECT_EQ(table.numFreePages(), 3);
  step = {{1, 8}, {2, 8}};
  ASSERT_TRUE(table.reserveAll(step).ok());
  EXPECT_EQ(table.numFreePages(), 0);
  step = {{1, 8}, {1, 8}};
  EXPECT_EQ(table.reserveAll(step).message(),
            "KV cache: sequence 1 is reserved twice in one request");
}

// Random reserve/share/release: a page's holder count is the number of sequences whose
// table names it, and pages are conserved.
TEST(KvPageTable, RandomSharingKeepsCountsExact) {
  KvPageTable table = *KvPageTable::create(32, 4);
  std::mt19937 random(5);
  for (int step = 0; step < 3000; ++step) {
    SequenceId sequence = random() % 8;
    int op = random() % 5;
    if (op == 0) {
      (void)table.release(sequence);
    } else if (op == 1 && !table.contains(sequence)) {
      SequenceId from = random() % 8;
      if (table.contains(from))
        ASSERT_TRUE(table.share(from, sequence, *table.length(from)).ok());
    } else {
      int64_t current = table.contains(sequence) ? *table.length(sequence) : 0;
      (void)table.reserve(sequence, current + random() % 9);
    }
    std::map<int32_t, int32_t> counts;
    for (SequenceId id = 0; id < 8; ++id)
      if (table.contains(id))
        for (int32_t page : pagesOf(table, id))
          ++counts[page];
    int32_t held = 0;
    for (int32_t page = 0; page < 32; ++page) {
      ASSERT_EQ(table.holders(page), counts[page]) << "page " << page << " at step " << step;
      held += counts[page] > 0;
    }
    ASSERT_EQ(held + table.numFreePages(), 32);
  }
}

} // namespace
} // namespace mvc
