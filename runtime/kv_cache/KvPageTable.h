//===- KvPageTable.h - which KV-cache pages hold which sequence ------------===//
//
// A paged KV cache is a pool of `numPages` pages of `pageSize` tokens (the state tensors'
// leading "num_pages" dimension). KvPageTable is the bookkeeping only: it hands pages to
// sequences as they grow, takes them back when they finish, and exports the int32 block
// table and cache lengths that attention kernels read. It owns no tensors.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_KV_CACHE_KVPAGETABLE_H
#define MVC_RUNTIME_KV_CACHE_KVPAGETABLE_H

#include <cstdint>
#include <map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace mvc {

using SequenceId = int64_t;

/// Block tables of a batch, ready to be bound as kernel inputs.
struct BlockTables {
  int32_t maxPages = 0;
  std::vector<int32_t> blockTable;   // [batch, maxPages], row-major; unused entries are 0
  std::vector<int32_t> cacheLengths; // [batch], tokens in each sequence's cache
};

class KvPageTable {
public:
  /// Fails unless numPages >= 0 and pageSize > 0.
  static absl::StatusOr<KvPageTable> create(int32_t numPages, int32_t pageSize);

  /// Makes room for `numTokens` tokens in `sequence` (created if new), taking pages as
  /// needed. All or nothing: without enough free pages nothing changes. A sequence cannot
  /// shrink.
  absl::Status reserve(SequenceId sequence, int64_t numTokens);
  /// Returns the sequence's pages to the pool and forgets it.
  absl::Status release(SequenceId sequence);

  bool contains(SequenceId sequence) const { return sequences.count(sequence) != 0; }
  /// The sequence's pages, in token order.
  absl::StatusOr<absl::Span<const int32_t>> pages(SequenceId sequence) const;
  /// Tokens reserved for the sequence.
  absl::StatusOr<int64_t> length(SequenceId sequence) const;

  /// Block table and lengths for `batch`, in that order. `maxPages` = 0 sizes the table to
  /// the longest sequence; a larger value pads (fixed shapes); a smaller one is an error.
  absl::StatusOr<BlockTables> exportBlockTables(absl::Span<const SequenceId> batch,
                                                int32_t maxPages = 0) const;

  int32_t numPages() const { return totalPages; }
  int32_t pageSize() const { return tokensPerPage; }
  int32_t numFreePages() const { return static_cast<int32_t>(freePages.size()); }

private:
  KvPageTable(int32_t numPages, int32_t pageSize);

  struct Sequence {
    std::vector<int32_t> pages;
    int64_t length = 0;
  };
  absl::StatusOr<const Sequence *> find(SequenceId sequence) const;

  int32_t totalPages;
  int32_t tokensPerPage;
  std::vector<int32_t> freePages; // a stack; the lowest ids are handed out first
  std::map<SequenceId, Sequence> sequences;
};

} // namespace mvc

#endif // MVC_RUNTIME_KV_CACHE_KVPAGETABLE_H
