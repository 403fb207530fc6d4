//===- PrefixCache.h - KV pages of finished sequences, found again by prefix -===//
//
// Prefix caching across requests: when a sequence leaves the engine, its whole KV pages
// stay held by an entry of this cache instead of going back to the pool; a later prompt
// that starts with the same content starts on those pages (KvPageTable::share) and
// prefills only the rest. Chats resend their history every turn and many requests share
// a system prompt: those tokens are computed once.
//
// Positions are compared by content keys (Engine: contentKeys): a text token's key is its
// id; an image placeholder's is a hash of its frame's pixels and its row in the frame, so
// the same image in the same place shares its pages and a different image behind equal
// placeholder ids never does. Lookup is by a hash chain over whole pages: page i's key
// hashes page i-1's key with the page's content keys, so one key names the whole prefix
// up to the page's end; a hit is confirmed key by key (a chain collision never shares
// wrong pages). The KV of a position depends only on the content up to it (and, for an
// image's bidirectional span, on the whole span, whose keys are equal too), so a shared
// page is valid for any continuation; sliding-window layers read the same cached keys
// (pages are never dropped).
//
// Entries are sequences of the page table (ids from the engine's counter), so a page is
// free only when neither a running sequence nor an entry holds it. Pages held by entries
// alone are "evictable": the engine counts them as available and evicts entries least
// recently used first when it needs their pages.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_PIPELINE_PREFIXCACHE_H
#define MVC_RUNTIME_PIPELINE_PREFIXCACHE_H

#include <cstdint>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "runtime/kv_cache/KvPageTable.h"

namespace mvc {

class PrefixCache {
public:
  /// `pages` must outlive the cache.
  explicit PrefixCache(KvPageTable &pages);
  ~PrefixCache(); // releases every entry's pages

  /// Keeps the whole pages of `source` (which holds the keys and values of the first
  /// `computed` positions, whose content keys are `tokens`) under the new page-table
  /// sequence `entryId`, unless the cache already has that prefix (then it is only marked
  /// as used).
  absl::Status retain(SequenceId source, absl::Span<const uint64_t> tokens, int64_t computed,
                      SequenceId entryId);

  struct Match {
    SequenceId entry;
    int64_t tokens; // whole pages of the prompt found, at most `limit`
  };
  /// The longest cached prefix of `prompt` in whole pages, at most `limit` tokens (a
  /// prompt keeps its last token to run). Counts the lookup in the statistics.
  std::optional<Match> find(absl::Span<const uint64_t> prompt, int64_t limit);

  /// Pages only entries hold (what evicting every entry would free).
  int64_t evictablePages() const;
  /// Evicts entries, least recently used first, until the pool has `freePages` free pages
  /// or no entry is left.
  absl::Status evictUntilFree(int64_t freePages);

  size_t numEntries() const { return entries.size(); }
  int64_t queriedTokens() const { return queried; } // prompt tokens looked up
  int64_t hitTokens() const { return hit; }         // of them, found cached

private:
  struct Entry {
    std::vector<uint64_t> tokens; // content keys of whole pages
    std::vector<uint64_t> keys;  // the chain key of each page
    uint64_t lastUse = 0;
  };
  /// Chain keys of the whole pages of `tokens` up to `limit` tokens.
  std::vector<uint64_t> chainKeys(absl::Span<const uint64_t> tokens, int64_t limit) const;
  absl::Status evict(std::map<SequenceId, Entry>::iterator entry);

  KvPageTable *table;
  std::map<SequenceId, Entry> entries;
  std::unordered_map<uint64_t, std::pair<SequenceId, int64_t>> byKey; // key -> (entry, page)
  std::vector<int32_t> entryHolds; // per page: how many entries hold it
  uint64_t clock = 0;
  int64_t queried = 0, hit = 0;
};

} // namespace mvc

#endif // MVC_RUNTIME_PIPELINE_PREFIXCACHE_H
