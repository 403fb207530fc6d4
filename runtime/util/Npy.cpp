//===- Npy.cpp - .npy parsing and writing ---------------------------------===//
//
// The header is a Python dict literal, e.g.
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// parsed here by a small recursive-descent reader that accepts exactly the literal forms
// NumPy writes (strings, True/False, tuples of non-negative integers).
//
//===----------------------------------------------------------------------===//
#include "runtime/util/Npy.h"
#include "runtime/util/Files.h"

#include <cctype>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/util/AtomicFile.h"

namespace mvc {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;

/// One value of the header dict.
struct HeaderValue {
  enum Kind { String, Bool, Tuple } kind = String;
  std::string text;
  bool flag = false;
  std::vector<int64_t> items;
};

class HeaderParser {
public:
  explicit HeaderParser(absl::string_view text) : text(text) {}

  /// Parses the whole dict; fails on anything NumPy would not have written.
  absl::Status parse(std::vector<std::pair<std::string, HeaderValue>> &entries) {
    if (!consume('{'))
      return error("expected '{'");
    while (true) {
      skipSpace();
      if (consume('}'))
        break;
      std::string key;
      if (absl::Status status = parseString(key); !status.ok())
        return status;
      if (!consume(':'))
        return error("expected ':' after key '" + key + "'");
      HeaderValue value;
      if (absl::Status status = parseValue(value); !status.ok())
        return status;
      entries.emplace_back(std::move(key), std::move(value));
      if (consume(','))
        continue;
      if (!consume('}'))
        return error("expected ',' or '}'");
      break;
    }
    skipSpace();
    if (pos != text.size())
      return error("unexpected text after the dict");
    return absl::OkStatus();
  }

private:
  void skipSpace() {
    while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos])))
      ++pos;
  }
  bool consume(char c) {
    skipSpace();
    if (pos < text.size() && text[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  }
  bool consumeWord(absl::string_view word) {
    skipSpace();
    if (text.substr(pos, word.size()) != word)
      return false;
    pos += word.size();
    return true;
  }
  absl::Status error(absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("header dict at character ", pos, ": ", what));
  }
  absl::Status parseString(std::string &out) {
    skipSpace();
    if (pos >= text.size() || (text[pos] != '\'' && text[pos] != '"'))
      return error("expected a quoted string");
    char quote = text[pos++];
    size_t end = text.find(quote, pos);
    if (end == absl::string_view::npos)
      return error("unterminated string");
    out = std::string(text.substr(pos, end - pos));
    pos = end + 1;
    return absl::OkStatus();
  }
  absl::Status parseInt(int64_t &out) {
    skipSpace();
    size_t start = pos;
    int64_t value = 0;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
      int digit = text[pos] - '0';
      if (value > (std::numeric_limits<int64_t>::max() - digit) / 10)
        return error("dimension too large");
      value = value * 10 + digit;
      ++pos;
    }
    if (pos == start)
      return error("expected a non-negative integer");
    // Python 2 era files may carry an 'L' suffix on longs.
    if (pos < text.size() && text[pos] == 'L')
      ++pos;
    out = value;
    return absl::OkStatus();
  }
  absl::Status parseValue(HeaderValue &value) {
    skipSpace();
    if (consumeWord("True")) {
      value.kind = HeaderValue::Bool;
      value.flag = true;
      return absl::OkStatus();
    }
    if (consumeWord("False")) {
      value.kind = HeaderValue::Bool;
      return absl::OkStatus();
    }
    if (consume('(')) {
      value.kind = HeaderValue::Tuple;
      while (!consume(')')) {
        int64_t item;
        if (absl::Status status = parseInt(item); !status.ok())
          return status;
        value.items.push_back(item);
        if (!consume(',') && !(skipSpace(), pos < text.size() && text[pos] == ')'))
          return error("expected ',' or ')' in the shape tuple");
      }
      return absl::OkStatus();
    }
    value.kind = HeaderValue::String;
    return parseString(value.text);
  }

  absl::string_view text;
  size_t pos = 0;
};

struct DescrInfo {
  absl::string_view descr;
  DType dtype;
};
constexpr DescrInfo kDescrs[] = {
    {"<f4", DType::F32}, {"<f2", DType::F16}, {"<i4", DType::I32},
    {"<i8", DType::I64}, {"|u1", DType::U8},  {"<u1", DType::U8},
};

absl::string_view descrFor(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return "<f4";
  case DType::F16:
    return "<f2";
  case DType::BF16:
    return "<u2";
  case DType::I32:
    return "<i4";
  case DType::I64:
    return "<i8";
  case DType::U8:
    return "|u1";
  }
  return "";
}

absl::StatusOr<DType> dtypeForDescr(const std::string &descr, const NpyReadOptions &options) {
  for (const DescrInfo &entry : kDescrs)
    if (entry.descr == descr)
      return entry.dtype;
  if (descr == "<u2") {
    if (options.u2AsBf16)
      return DType::BF16;
    return absl::InvalidArgumentError(
        "descr '<u2' (uint16) is only read as bf16, where a bf16 tensor is expected");
  }
  if (!descr.empty() && descr[0] == '>')
    return absl::InvalidArgumentError("descr '" + descr +
                                      "' is big-endian; only little-endian data is supported");
  return absl::InvalidArgumentError(
      "unsupported descr '" + descr +
      "' (expected '<f4', '<f2', '<i4', '<i8', '|u1', or '<u2' for bf16)");
}

uint32_t readLittleEndian(const unsigned char *p, size_t bytes) {
  uint32_t value = 0;
  for (size_t i = 0; i < bytes; ++i)
    value |= static_cast<uint32_t>(p[i]) << (8 * i);
  return value;
}

} // namespace

absl::StatusOr<NpyArray> parseNpy(absl::string_view bytes, absl::string_view name,
                                  const NpyReadOptions &options) {
  auto fail = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": ", what));
  };
  const auto *raw = reinterpret_cast<const unsigned char *>(bytes.data());
  if (bytes.size() < kMagicSize + 2 || bytes.substr(0, kMagicSize) != absl::string_view(kMagic, kMagicSize))
    return fail("not a .npy file (missing the \\x93NUMPY magic)");
  unsigned major = raw[kMagicSize], minor = raw[kMagicSize + 1];
  if (major < 1 || major > 3 || minor != 0)
    return fail(absl::StrCat("unsupported .npy version ", major, ".", minor,
                             " (expected 1.0, 2.0 or 3.0)"));
  size_t lengthBytes = major == 1 ? 2 : 4;
  size_t prefix = kMagicSize + 2 + lengthBytes;
  if (bytes.size() < prefix)
    return fail("truncated header length");
  size_t headerSize = readLittleEndian(raw + kMagicSize + 2, lengthBytes);
  if (headerSize > bytes.size() - prefix)
    return fail(absl::StrCat("header of ", headerSize, " bytes runs past the end of the file (",
                             bytes.size(), " bytes)"));
  absl::string_view header = bytes.substr(prefix, headerSize);

  std::vector<std::pair<std::string, HeaderValue>> entries;
  if (absl::Status status = HeaderParser(header).parse(entries); !status.ok())
    return fail(status.message());
  std::optional<HeaderValue> descr, fortran, shape;
  for (auto &[key, value] : entries) {
    std::optional<HeaderValue> *slot = key == "descr"           ? &descr
                                       : key == "fortran_order" ? &fortran
                                       : key == "shape"         ? &shape
                                                                : nullptr;
    if (!slot)
      return fail("unexpected header key '" + key + "'");
    if (slot->has_value())
      return fail("duplicate header key '" + key + "'");
    *slot = std::move(value);
  }
  if (!descr || descr->kind != HeaderValue::String)
    return fail("header field 'descr' is missing or not a string");
  if (!fortran || fortran->kind != HeaderValue::Bool)
    return fail("header field 'fortran_order' is missing or not True/False");
  if (!shape || shape->kind != HeaderValue::Tuple)
    return fail("header field 'shape' is missing or not a tuple");
  if (fortran->flag)
    return fail("fortran_order is True; only C-order arrays are supported");

  NpyArray array;
  absl::StatusOr<DType> dtype = dtypeForDescr(descr->text, options);
  if (!dtype.ok())
    return fail(dtype.status().message());
  array.dtype = *dtype;
  array.shape = shape->items;

  uint64_t count = 1;
  for (int64_t dim : array.shape) {
    if (dim != 0 && count > std::numeric_limits<uint64_t>::max() / 16 / static_cast<uint64_t>(dim))
      return fail("shape has too many elements");
    count *= static_cast<uint64_t>(dim);
  }
  uint64_t dataSize = count * dtypeSize(array.dtype);
  uint64_t available = bytes.size() - prefix - headerSize;
  if (available != dataSize)
    return fail(absl::StrCat("data is ", available, " bytes but shape (",
                             absl::StrJoin(array.shape, ", "), ") of ", dtypeName(array.dtype),
                             " needs ", dataSize, available < dataSize ? " (truncated)" : ""));
  array.data.assign(raw + prefix + headerSize, raw + bytes.size());
  return array;
}

absl::StatusOr<NpyArray> readNpy(const std::string &path, const NpyReadOptions &options) {
  absl::StatusOr<std::string> contents = readInputFile(path, "npy file", kMaxBinaryInputBytes);
  if (!contents.ok()) return contents.status();
  return parseNpy(*contents, path, options);
}

absl::StatusOr<std::string> encodeNpy(DType dtype, absl::Span<const int64_t> shape,
                                      const void *data, size_t size) {
  uint64_t count = 1;
  for (int64_t dim : shape) {
    if (dim < 0)
      return absl::InvalidArgumentError("negative dimension in shape");
    count *= static_cast<uint64_t>(dim);
  }
  if (count * dtypeSize(dtype) != size)
    return absl::InvalidArgumentError(
        absl::StrCat("data is ", size, " bytes but the shape needs ", count * dtypeSize(dtype)));
  std::string shapeText = absl::StrJoin(shape, ", ");
  if (shape.size() == 1)
    shapeText += ",";
  std::string dict = absl::StrCat("{'descr': '", descrFor(dtype),
                                  "', 'fortran_order': False, 'shape': (", shapeText, "), }");
  // Pad with spaces so that magic + version + length + header is a multiple of 64, ending
  // in '\n', as NumPy does.
  size_t prefix = kMagicSize + 2 + 2;
  size_t total = (prefix + dict.size() + 1 + 63) / 64 * 64;
  if (total - prefix > 0xFFFF)
    return absl::InvalidArgumentError("shape too long for a .npy v1 header");
  dict.append(total - prefix - dict.size() - 1, ' ');
  dict.push_back('\n');

  std::string out(kMagic, kMagicSize);
  out.push_back(1);
  out.push_back(0);
  out.push_back(static_cast<char>(dict.size() & 0xFF));
  out.push_back(static_cast<char>(dict.size() >> 8));
  out += dict;
  out.append(static_cast<const char *>(data), size);
  return out;
}

absl::Status writeNpy(const std::string &path, DType dtype, absl::Span<const int64_t> shape,
                      const void *data, size_t size) {
  absl::StatusOr<std::string> bytes = encodeNpy(dtype, shape, data, size);
  if (!bytes.ok())
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", bytes.status().message()));
  absl::StatusOr<std::unique_ptr<AtomicFile>> file = AtomicFile::create(path);
  if (!file.ok())
    return file.status();
  if (absl::Status status = (*file)->write(bytes->data(), bytes->size()); !status.ok())
    return status;
  return (*file)->commit();
}

} // namespace mvc
