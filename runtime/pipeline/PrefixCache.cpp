#include "runtime/pipeline/PrefixCache.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "runtime/util/StatusMacros.h"

namespace mvc {
namespace {

/// One 64-bit mixing step (splitmix64's finalizer) folding `value` into `seed`.
uint64_t mix(uint64_t seed, uint64_t value) {
  uint64_t z = seed ^ (value + 0x9e3779b97f4a7c15ull + (seed << 6) + (seed >> 2));
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

} // namespace

PrefixCache::PrefixCache(KvPageTable &pages)
    : table(&pages), entryHolds(static_cast<size_t>(pages.numPages()), 0) {}

PrefixCache::~PrefixCache() {
  for (const auto &[id, entry] : entries)
    if (table->contains(id))
      table->release(id).IgnoreError(); // present, so cannot fail
}

std::vector<uint64_t> PrefixCache::chainKeys(absl::Span<const uint64_t> tokens,
                                             int64_t limit) const {
  const int64_t pageSize = table->pageSize();
  const int64_t usable = std::min<int64_t>(limit, static_cast<int64_t>(tokens.size()));
  std::vector<uint64_t> keys;
  uint64_t key = 0x6d7663707265666full; // "mvcpref"
  for (int64_t page = 0; (page + 1) * pageSize <= usable; ++page) {
    for (int64_t i = page * pageSize; i < (page + 1) * pageSize; ++i)
      key = mix(key, tokens[i]);
    keys.push_back(key);
  }
  return keys;
}

absl::Status PrefixCache::retain(SequenceId source, absl::Span<const uint64_t> tokens,
                                 int64_t computed, SequenceId entryId) {
  std::vector<uint64_t> keys = chainKeys(tokens, computed);
  if (keys.empty())
    return absl::OkStatus();
  // The whole prefix cached already (by an entry holding at least these pages)?
  if (auto it = byKey.find(keys.back()); it != byKey.end()) {
    Entry &entry = entries.at(it->second.first);
    const int64_t length = static_cast<int64_t>(keys.size()) * table->pageSize();
    if (static_cast<int64_t>(entry.tokens.size()) >= length &&
        std::equal(tokens.begin(), tokens.begin() + length, entry.tokens.begin())) {
      entry.lastUse = ++clock;
      return absl::OkStatus();
    }
  }
  const int64_t length = static_cast<int64_t>(keys.size()) * table->pageSize();
  MVC_ASSIGN_OR_RETURN(int64_t shared, table->share(source, entryId, length));
  if (shared != length)
    return absl::InternalError(absl::StrCat("prefix cache: kept ", shared, " of ", length,
                                            " tokens of sequence ", source));
  MVC_ASSIGN_OR_RETURN(absl::Span<const int32_t> pages, table->pages(entryId));
  for (int32_t page : pages)
    ++entryHolds[page];
  Entry entry{std::vector<uint64_t>(tokens.begin(), tokens.begin() + length), keys, ++clock};
  for (size_t page = 0; page < keys.size(); ++page)
    byKey[keys[page]] = {entryId, static_cast<int64_t>(page)}; // the newest entry wins
  entries.emplace(entryId, std::move(entry));
  return absl::OkStatus();
}

std::optional<PrefixCache::Match> PrefixCache::find(absl::Span<const uint64_t> prompt,
                                                    int64_t limit) {
  queried += static_cast<int64_t>(prompt.size());
  std::vector<uint64_t> keys = chainKeys(prompt, limit);
  // The deepest page whose key is known and whose tokens match.
  for (int64_t page = static_cast<int64_t>(keys.size()) - 1; page >= 0; --page) {
    auto it = byKey.find(keys[page]);
    if (it == byKey.end())
      continue;
    Entry &entry = entries.at(it->second.first);
    const int64_t length = (page + 1) * table->pageSize();
    if (static_cast<int64_t>(entry.tokens.size()) < length ||
        !std::equal(prompt.begin(), prompt.begin() + length, entry.tokens.begin()))
      continue; // a hash collision: shorter prefixes may still match
    entry.lastUse = ++clock;
    hit += length;
    return Match{it->second.first, length};
  }
  return std::nullopt;
}

int64_t PrefixCache::evictablePages() const {
  int64_t count = 0;
  for (int32_t page = 0; page < table->numPages(); ++page)
    count += entryHolds[page] > 0 && entryHolds[page] == table->holders(page);
  return count;
}

absl::Status PrefixCache::evict(std::map<SequenceId, Entry>::iterator it) {
  MVC_ASSIGN_OR_RETURN(absl::Span<const int32_t> pages, table->pages(it->first));
  for (int32_t page : pages)
    --entryHolds[page];
  for (uint64_t key : it->second.keys)
    if (auto found = byKey.find(key); found != byKey.end() && found->second.first == it->first)
      byKey.erase(found);
  MVC_RETURN_IF_ERROR(table->release(it->first));
  // Keys this entry took over from an older entry holding the same prefix still name
  // that one's pages: point them back.
  for (const auto &[id, entry] : entries)
    if (id != it->first)
      for (size_t page = 0; page < entry.keys.size(); ++page)
        byKey.emplace(entry.keys[page], std::make_pair(id, static_cast<int64_t>(page)));
  entries.erase(it);
  return absl::OkStatus();
}

absl::Status PrefixCache::evictUntilFree(int64_t freePages) {
  while (table->numFreePages() < freePages && !entries.empty()) {
    auto oldest = std::min_element(entries.begin(), entries.end(), [](const auto &a, const auto &b) {
      return a.second.lastUse < b.second.lastUse;
    });
    MVC_RETURN_IF_ERROR(evict(oldest));
  }
  return absl::OkStatus();
}

} // namespace mvc
