//===- KvPageTable.h - which KV-cache pages hold which sequence ------------===//
//
// A paged KV cache is a pool of `numPages` pages of `pageSize` tokens (the state tensors'
// leading "num_pages" dimension). KvPageTable is the bookkeeping only: it hands pages to
// sequences as they grow, takes them back when they finish, and exports the int32 block
// table and cache lengths that attention kernels read. It owns no tensors; the Model that
// owns the states owns one KvPageTable for them (Model::kvPages()).
//
// Pages are reference counted. share() lets a new sequence start on the full pages of
// another's cached prefix (prefix caching, n > 1 continuations of one prompt): both read
// them, neither writes them (a kernel writes only at positions >= the cache length, and a
// shared prefix ends on a page boundary), and a page returns to the pool when its last
// holder is released.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_KV_CACHE_KVPAGETABLE_H
#define MVC_RUNTIME_KV_CACHE_KVPAGETABLE_H

#include <cstdint>
#include <map>
#include <utility>
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
  /// reserve() for several sequences at once, all or nothing: either every sequence gets
  /// its tokens or nothing changes (a step of a batch never half-allocates).
  absl::Status reserveAll(absl::Span<const std::pair<SequenceId, int64_t>> requests);
  /// Starts the new sequence `to` on the first floor(numTokens / pageSize) pages of `from`
  /// (which must hold at least numTokens tokens), shared with it; returns the tokens
  /// shared (a multiple of the page size, possibly 0). `to` must not exist.
  absl::StatusOr<int64_t> share(SequenceId from, SequenceId to, int64_t numTokens);
  /// Drops the sequence's hold on its pages (a page nobody else holds returns to the pool)
  /// and forgets it.
  absl::Status release(SequenceId sequence);

  bool contains(SequenceId sequence) const { return sequences.count(sequence) != 0; }
  /// The sequence's pages, in token order.
  absl::StatusOr<absl::Span<const int32_t>> pages(SequenceId sequence) const;
  /// Tokens reserved for the sequence.
  absl::StatusOr<int64_t> length(SequenceId sequence) const;
  /// How many sequences hold `page` (0: free).
  int32_t holders(int32_t page) const { return refCounts[page]; }

  /// Block table and lengths for `batch`, in that order. `maxPages` = 0 sizes the table to
  /// the longest sequence; a larger value pads (fixed shapes); a smaller one is an error.
  absl::StatusOr<BlockTables> exportBlockTables(absl::Span<const SequenceId> batch,
                                                int32_t maxPages = 0) const;

  int32_t numPages() const { return totalPages; }
  int32_t pageSize() const { return tokensPerPage; }
  int32_t numFreePages() const { return static_cast<int32_t>(freePages.size()); }
  /// A page no sequence holds, or -1 if every page is held. Its contents are anyone's: a
  /// forward call may use it as scratch space (the Engine's padding rows write there).
  int32_t anyFreePage() const { return freePages.empty() ? -1 : freePages.front(); }
  size_t numSequences() const { return sequences.size(); }
  /// Pages `numTokens` tokens take.
  int64_t pagesFor(int64_t numTokens) const {
    return (numTokens + tokensPerPage - 1) / tokensPerPage;
  }

private:
  KvPageTable(int32_t numPages, int32_t pageSize);

  struct Sequence {
    std::vector<int32_t> pages;
    int64_t length = 0;
  };
  absl::StatusOr<const Sequence *> find(SequenceId sequence) const;
  /// New pages `sequence` needs to hold `numTokens`, or an error if it would shrink.
  absl::StatusOr<int64_t> growth(SequenceId sequence, int64_t numTokens) const;
  void grow(SequenceId sequence, int64_t numTokens);

  int32_t totalPages;
  int32_t tokensPerPage;
  std::vector<int32_t> freePages; // a stack; the lowest ids are handed out first
  std::vector<int32_t> refCounts; // per page
  std::map<SequenceId, Sequence> sequences;
};

} // namespace mvc

#endif // MVC_RUNTIME_KV_CACHE_KVPAGETABLE_H
