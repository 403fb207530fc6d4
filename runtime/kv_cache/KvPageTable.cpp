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
    : totalPages(numPages), tokensPerPage(pageSize) {
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

absl::Status KvPageTable::reserve(SequenceId sequence, int64_t numTokens) {
  auto it = sequences.find(sequence);
  int64_t current = it == sequences.end() ? 0 : it->second.length;
  if (numTokens < current)
    return absl::InvalidArgumentError(absl::StrCat("KV cache: sequence ", sequence, " holds ",
                                                   current, " tokens, cannot shrink to ",
                                                   numTokens));
  int64_t needed = (numTokens + tokensPerPage - 1) / tokensPerPage;
  int64_t have = it == sequences.end() ? 0 : static_cast<int64_t>(it->second.pages.size());
  if (needed - have > static_cast<int64_t>(freePages.size()))
    return absl::ResourceExhaustedError(absl::StrCat(
        "KV cache: out of pages: sequence ", sequence, " needs ", needed - have,
        " more pages for ", numTokens, " tokens, ", freePages.size(), " of ", totalPages,
        " are free"));
  Sequence &entry = sequences[sequence];
  for (int64_t i = have; i < needed; ++i) {
    entry.pages.push_back(freePages.back());
    freePages.pop_back();
  }
  entry.length = numTokens;
  return absl::OkStatus();
}

absl::Status KvPageTable::release(SequenceId sequence) {
  auto it = sequences.find(sequence);
  if (it == sequences.end())
    return absl::NotFoundError(absl::StrCat("KV cache: no sequence ", sequence));
  // Push in reverse so the sequence's first page is the next one handed out.
  for (auto page = it->second.pages.rbegin(); page != it->second.pages.rend(); ++page)
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
