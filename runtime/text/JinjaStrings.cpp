#include "runtime/text/JinjaStrings.h"

#include <utf8proc.h>

#include <algorithm>

#include "runtime/text/Unicode.h"

namespace mvc::text::jinja {

std::vector<size_t> codepointOffsets(std::string_view s) {
  std::vector<size_t> offsets;
  offsets.reserve(s.size() + 1);
  for (size_t i = 0; i < s.size();) {
    offsets.push_back(i);
    i += std::min(utf8SequenceLength(static_cast<unsigned char>(s[i])), s.size() - i);
  }
  offsets.push_back(s.size());
  return offsets;
}

size_t codepointCount(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

bool isPythonSpace(uint32_t c) { return isWhitespace(c) || (c >= 0x1C && c <= 0x1F); }

namespace {

uint32_t codepointAt(std::string_view s, size_t pos, size_t* len) {
  int32_t c = decodeUtf8(s, pos, len);
  return c < 0 ? 0xFFFD : static_cast<uint32_t>(c);
}

template <typename Fn>
std::string mapCodepoints(std::string_view s, Fn fn) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t len;
    uint32_t c = codepointAt(s, i, &len);
    appendUtf8(out, fn(c, i));
    i += len;
  }
  return out;
}

bool isCased(uint32_t c) {
  return utf8proc_tolower(static_cast<utf8proc_int32_t>(c)) != static_cast<utf8proc_int32_t>(c) ||
         utf8proc_toupper(static_cast<utf8proc_int32_t>(c)) != static_cast<utf8proc_int32_t>(c);
}

}  // namespace

std::string pyStrip(std::string_view s, const std::optional<std::string>& chars, bool left,
                    bool right) {
  std::vector<uint32_t> set;
  if (chars) {
    for (size_t i = 0; i < chars->size();) {
      size_t len;
      set.push_back(codepointAt(*chars, i, &len));
      i += len;
    }
  }
  auto strip = [&](uint32_t c) {
    return chars ? std::find(set.begin(), set.end(), c) != set.end() : isPythonSpace(c);
  };
  auto offsets = codepointOffsets(s);
  size_t begin = 0, end = offsets.size() - 1;
  size_t len;
  while (left && begin < end && strip(codepointAt(s, offsets[begin], &len))) ++begin;
  while (right && end > begin && strip(codepointAt(s, offsets[end - 1], &len))) --end;
  return std::string(s.substr(offsets[begin], offsets[end] - offsets[begin]));
}

std::vector<std::string> pySplit(std::string_view s, const std::optional<std::string>& sep,
                                 int64_t maxsplit) {
  std::vector<std::string> parts;
  if (sep) {
    size_t start = 0;
    for (size_t pos = s.find(*sep); pos != std::string_view::npos &&
                                    (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit);
         pos = s.find(*sep, start)) {
      parts.emplace_back(s.substr(start, pos - start));
      start = pos + sep->size();
    }
    parts.emplace_back(s.substr(start));
    return parts;
  }
  size_t i = 0;
  auto skipSpace = [&] {
    size_t len;
    while (i < s.size() && isPythonSpace(codepointAt(s, i, &len))) i += len;
  };
  skipSpace();
  while (i < s.size()) {
    if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) == maxsplit) {
      parts.emplace_back(s.substr(i));  // The remainder keeps its trailing whitespace.
      return parts;
    }
    size_t start = i, len;
    while (i < s.size() && !isPythonSpace(codepointAt(s, i, &len))) i += len;
    parts.emplace_back(s.substr(start, i - start));
    skipSpace();
  }
  return parts;
}

std::vector<std::string> pyRsplit(std::string_view s, const std::optional<std::string>& sep,
                                  int64_t maxsplit) {
  if (maxsplit < 0) return pySplit(s, sep, maxsplit);
  std::vector<std::string> parts;
  if (sep) {
    size_t end = s.size();
    while (static_cast<int64_t>(parts.size()) < maxsplit) {
      if (end < sep->size()) break;
      size_t pos = s.rfind(*sep, end - sep->size());
      if (pos == std::string_view::npos) break;
      parts.emplace_back(s.substr(pos + sep->size(), end - pos - sep->size()));
      end = pos;
    }
    parts.emplace_back(s.substr(0, end));
    std::reverse(parts.begin(), parts.end());
    return parts;
  }
  auto offsets = codepointOffsets(s);
  auto space = [&](size_t k) {
    size_t len;
    return isPythonSpace(codepointAt(s, offsets[k], &len));
  };
  size_t k = offsets.size() - 1;  // Scan code points backwards.
  while (k > 0 && space(k - 1)) --k;
  while (k > 0) {
    if (static_cast<int64_t>(parts.size()) == maxsplit) {
      parts.push_back(pyStrip(s.substr(0, offsets[k]), std::nullopt, true, false));
      break;
    }
    size_t end = k;
    while (k > 0 && !space(k - 1)) --k;
    parts.emplace_back(s.substr(offsets[k], offsets[end] - offsets[k]));
    while (k > 0 && space(k - 1)) --k;
  }
  std::reverse(parts.begin(), parts.end());
  return parts;
}

std::string pyReplace(std::string_view s, std::string_view old, std::string_view replacement,
                      int64_t count) {
  std::string out;
  if (old.empty()) {
    auto offsets = codepointOffsets(s);
    int64_t done = 0;
    for (size_t k = 0; k + 1 < offsets.size(); ++k) {
      if (count < 0 || done < count) {
        out.append(replacement);
        ++done;
      }
      out.append(s.substr(offsets[k], offsets[k + 1] - offsets[k]));
    }
    if (count < 0 || done < count) out.append(replacement);
    return out;
  }
  size_t start = 0;
  int64_t done = 0;
  for (size_t pos = s.find(old); pos != std::string_view::npos && (count < 0 || done < count);
       pos = s.find(old, start), ++done) {
    out.append(s.substr(start, pos - start));
    out.append(replacement);
    start = pos + old.size();
  }
  out.append(s.substr(start));
  return out;
}

std::string pyUpper(std::string_view s) {
  return mapCodepoints(s, [](uint32_t c, size_t) {
    return static_cast<uint32_t>(utf8proc_toupper(static_cast<utf8proc_int32_t>(c)));
  });
}

std::string pyLower(std::string_view s) {
  return mapCodepoints(s, [](uint32_t c, size_t) {
    return static_cast<uint32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c)));
  });
}

std::string pyTitle(std::string_view s) {
  bool previous_cased = false;
  return mapCodepoints(s, [&](uint32_t c, size_t) {
    uint32_t mapped = static_cast<uint32_t>(
        previous_cased ? utf8proc_tolower(static_cast<utf8proc_int32_t>(c))
                       : utf8proc_totitle(static_cast<utf8proc_int32_t>(c)));
    previous_cased = isCased(c);
    return mapped;
  });
}

std::string pyCapitalize(std::string_view s) {
  return mapCodepoints(s, [](uint32_t c, size_t pos) {
    return static_cast<uint32_t>(pos == 0 ? utf8proc_totitle(static_cast<utf8proc_int32_t>(c))
                                          : utf8proc_tolower(static_cast<utf8proc_int32_t>(c)));
  });
}

}  // namespace mvc::text::jinja
