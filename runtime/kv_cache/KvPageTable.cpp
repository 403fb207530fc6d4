//===- KvPageTable.cpp ----------------------------------------------------===//
#include "runtime/kv_cache/KvPageTable.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"

namespace mvc {

absl::StatusOr<KvPageTable> KvPageTable::create(int32_t numPages, int32_t pageSize) {
  if (numPages < 0 || pageSize <= 0)
    return absl::InvalidArgumentError(absl::StrCat(
        "KV page table needs num_pages >= 0 and page_size > 0, got ", numPages, " and ",
        pageSize));
  return KvPageTable(numPages, pageSize);
}

KvPageTable::KvPageTable(int32_t numPages, int32_t pageSize)
    : totalPages(numPages), tokensPerPage(pageSize), refCounts(numPages, 0) {
  freePages.reserve(numPages);
  for (int32_t page = numPages - 1; page >= 0; --page)
    freePages.push_back(page);
}

absl::StatusOr<const KvPageTable::Sequence *> KvPageTable::find(SequenceId sequence) const {
  auto it = sequences.find(sequence);
  if (it == sequences.end())
    return absl::NotFoundError(absl::StrCat("KV cache: no sequence ", sequence));
  return &it->second;
}

absl::StatusOr<int64_t> KvPageTable::growth(SequenceId sequence, int64_t numTokens) const {
  auto it = sequences.find(sequence);
  int64_t current = it == sequences.end() ? 0 : it->second.length;
  if (numTokens < current)
    return absl::InvalidArgumentError(absl::StrCat("KV cache: sequence ", sequence, " holds ",
                                                   current, " tokens, cannot shrink to ",
                                                   numTokens));
  int64_t have = it == sequences.end() ? 0 : static_cast<int64_t>(it->second.pages.size());
  return std::max<int64_t>(pagesFor(numTokens) - have, 0);
}

void KvPageTable::grow(SequenceId sequence, int64_t numTokens) {
  Sequence &entry = sequences[sequence];
  for (int64_t i = static_cast<int64_t>(entry.pages.size()); i < pagesFor(numTokens); ++i) {
    int32_t page = freePages.back();
    freePages.pop_back();
    refCounts[page] = 1;
    entry.pages.push_back(page);
  }
  entry.length = numTokens;
}

absl::Status KvPageTable::reserve(SequenceId sequence, int64_t numTokens) {
  std::pair<SequenceId, int64_t> request(sequence, numTokens);
  return reserveAll(absl::MakeConstSpan(&request, 1));
}

absl::Status KvPageTable::reserveAll(absl::Span<const std::pair<SequenceId, int64_t>> requests) {
  int64_t needed = 0;
  std::set<SequenceId> seen;
  for (const auto &[sequence, numTokens] : requests) {
    if (!seen.insert(sequence).second)
      return absl::InvalidArgumentError(
          absl::StrCat("KV cache: sequence ", sequence, " is reserved twice in one request"));
    absl::StatusOr<int64_t> more = growth(sequence, numTokens);
    if (!more.ok())
      return more.status();
    needed += *more;
  }
  if (needed > static_cast<int64_t>(freePages.size())) {
    std::string who = requests.size() == 1
                          ? absl::StrCat("sequence ", requests[0].first, " needs ", needed,
                                         " more pages for ", requests[0].second, " tokens")
                          : absl::StrCat(requests.size(), " sequences need ", needed, " more pages");
    return absl::ResourceExhaustedError(absl::StrCat("KV cache: out of pages: ", who, ", ",
                                                     freePages.size(), " of ", totalPages,
                                                     " are free"));
  }
  for (const auto &[sequence, numTokens] : requests)
    grow(sequence, numTokens);
  return absl::OkStatus();
}

absl::StatusOr<int64_t> KvPageTable::share(SequenceId from, SequenceId to, int64_t numTokens) {
  absl::StatusOr<const Sequence *> source = find(from);
  if (!source.ok())
    return source.status();
  if (contains(to))
    return absl::InvalidArgumentError(
        absl::StrCat("KV cache: sequence ", to, " exists; only a new sequence can share pages"));
  if (numTokens < 0 || numTokens > (*source)->length)
    return absl::InvalidArgumentError(absl::StrCat("KV cache: sequence ", from, " holds ",
                                                   (*source)->length, " tokens, cannot share ",
                                                   numTokens));
  int64_t fullPages = numTokens / tokensPerPage;
  Sequence entry;
  entry.pages.assign((*source)->pages.begin(), (*source)->pages.begin() + fullPages);
  entry.length = fullPages * tokensPerPage;
  for (int32_t page : entry.pages)
    ++refCounts[page];
  int64_t shared = entry.length;
  sequences.emplace(to, std::move(entry));
  return shared;
}

absl::Status KvPageTable::release(SequenceId sequence) {
  auto it = sequences.find(sequence);
  if (it == sequences.end())
    return absl::NotFoundError(absl::StrCat("KV cache: no sequence ", sequence));
  // Push in reverse so the sequence's first page is the next one handed out.
  for (auto page = it->second.pages.rbegin(); page != it->second.pages.rend(); ++page)
    if (--refCounts[*page] == 0)
      freePages.push_back(*page);
  sequences.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<absl::Span<const int32_t>> KvPageTable::pages(SequenceId sequence) const {
  absl::StatusOr<const Sequence *> entry = find(sequence);
  if (!entry.ok())
    return entry.status();
  return absl::MakeConstSpan((*entry)->pages);
}

absl::StatusOr<int64_t> KvPageTable::length(SequenceId sequence) const {
  absl::StatusOr<const Sequence *> entry = find(sequence);
  if (!entry.ok())
    return entry.status();
  return (*entry)->length;
}

absl::StatusOr<BlockTables> KvPageTable::exportBlockTables(absl::Span<const SequenceId> batch,
                                                           int32_t maxPages) const {
  std::vector<const Sequence *> entries;
  std::set<SequenceId> seen;
  int32_t longest = 0;
  for (SequenceId sequence : batch) {
    if (!seen.insert(sequence).second)
      return absl::InvalidArgumentError(
          absl::StrCat("KV cache: sequence ", sequence, " appears twice in the batch"));
    absl::StatusOr<const Sequence *> entry = find(sequence);
    if (!entry.ok())
      return entry.status();
    if ((*entry)->length > INT32_MAX)
      return absl::OutOfRangeError(
          absl::StrCat("KV cache: sequence ", sequence, " is too long for an int32 length"));
    entries.push_back(*entry);
    longest = std::max(longest, static_cast<int32_t>((*entry)->pages.size()));
  }
  if (maxPages != 0 && maxPages < longest)
    return absl::InvalidArgumentError(absl::StrCat(
        "KV cache: block table width ", maxPages, " is less than the ", longest,
        " pages of the longest sequence"));
  BlockTables tables;
  tables.maxPages = maxPages == 0 ? longest : maxPages;
  // Padding is page 0, a valid page: kernels bound their reads by the cache lengths.
  tables.blockTable.assign(entries.size() * tables.maxPages, 0);
  for (size_t row = 0; row < entries.size(); ++row) {
    std::copy(entries[row]->pages.begin(), entries[row]->pages.end(),
              tables.blockTable.begin() + row * tables.maxPages);
    tables.cacheLengths.push_back(static_cast<int32_t>(entries[row]->length));
  }
  return tables;
}

} // namespace mvc
