#include "runtime/text/JinjaLexer.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "runtime/text/JinjaValue.h"
#include "runtime/text/Strings.h"
#include "runtime/text/Unicode.h"

namespace mvc::text::jinja {
namespace {

// Python's str.splitlines() boundaries become "\n", and one trailing line break is dropped
// (Jinja2 with keep_trailing_newline=False).
std::string normalizeNewlines(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(source[i]);
    if (c == '\r') {
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
      out += '\n';
    } else if (c == '\v' || c == '\f' || (c >= 0x1C && c <= 0x1E)) {
      out += '\n';
    } else if (c == 0xC2 && i + 1 < source.size() && static_cast<unsigned char>(source[i + 1]) == 0x85) {
      out += '\n';
      ++i;
    } else if (c == 0xE2 && i + 2 < source.size() && static_cast<unsigned char>(source[i + 1]) == 0x80 &&
               (static_cast<unsigned char>(source[i + 2]) == 0xA8 ||
                static_cast<unsigned char>(source[i + 2]) == 0xA9)) {
      out += '\n';
      i += 2;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
bool isNameStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool isNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }

class Lexer {
 public:
  explicit Lexer(std::string source) : src_(std::move(source)) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < src_.size(); ++i) {
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
    }
  }

  std::vector<Token> run() {
    bool line_starting = true;
    while (pos_ < src_.size()) {
      size_t tag = findTagStart(pos_);
      std::string text = src_.substr(pos_, tag - pos_);
      if (tag == src_.size()) {
        emitText(std::move(text), pos_);
        pos_ = tag;
        break;
      }
      char kind = src_[tag + 1];  // '{', '%' or '#'
      char sign = tag + 2 < src_.size() ? src_[tag + 2] : '\0';
      size_t text_start = pos_;
      if (sign == '-') {
        size_t end = text.size();
        while (end > 0 && isSpace(text[end - 1])) --end;
        text.resize(end);
      } else if (sign != '+' && kind != '{') {
        size_t line_begin = text.rfind('\n');
        line_begin = line_begin == std::string::npos ? 0 : line_begin + 1;
        if ((line_begin > 0 || line_starting) && line_begin < text.size() &&
            text.find_first_not_of(" \t\v\f\r", line_begin) == std::string::npos) {
          text.resize(line_begin);
        }
      }
      emitText(std::move(text), text_start);
      pos_ = tag + 2 + ((sign == '-' || sign == '+') ? 1 : 0);
      if (kind == '#') {
        line_starting = skipComment(tag);
      } else if (kind == '%' && isRawBlock()) {
        line_starting = readRaw(tag);
      } else {
        line_starting = readTag(kind == '{', tag);
      }
    }
    tokens_.push_back({Token::Kind::kEnd, "", line(src_.size()), column(src_.size())});
    return std::move(tokens_);
  }

 private:
  [[noreturn]] void fail(size_t at, const std::string& message) const {
    throw JinjaError{cat("line ", line(at), ", column ", column(at), ": ", message), true};
  }
  int line(size_t at) const {
    return static_cast<int>(std::upper_bound(line_starts_.begin(), line_starts_.end(), at) -
                            line_starts_.begin());
  }
  int column(size_t at) const { return static_cast<int>(at - line_starts_[line(at) - 1]) + 1; }
  void emit(Token::Kind kind, std::string text, size_t at) {
    tokens_.push_back({kind, std::move(text), line(at), column(at)});
  }
  void emitText(std::string text, size_t at) {
    if (!text.empty()) emit(Token::Kind::kText, std::move(text), at);
  }

  size_t findTagStart(size_t from) const {
    for (size_t i = src_.find('{', from); i != std::string::npos; i = src_.find('{', i + 1)) {
      if (i + 1 < src_.size() && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) {
        return i;
      }
    }
    return src_.size();
  }

  // After a tag's end: `-` strips all following whitespace, otherwise blocks and comments
  // eat one newline (trim_blocks). Returns whether the consumed end ended a line.
  bool finishTag(char sign, bool trims_newline) {
    bool ended_line = false;
    if (sign == '-') {
      while (pos_ < src_.size() && isSpace(src_[pos_])) ended_line = src_[pos_++] == '\n';
    } else if (trims_newline && sign != '+' && pos_ < src_.size() && src_[pos_] == '\n') {
      ++pos_;
      ended_line = true;
    }
    return ended_line;
  }

  bool skipComment(size_t tag) {
    size_t end = src_.find("#}", pos_);
    if (end == std::string::npos) fail(tag, "missing end of comment tag");
    char sign = end > pos_ && (src_[end - 1] == '-' || src_[end - 1] == '+') ? src_[end - 1] : '\0';
    pos_ = end + 2;
    return finishTag(sign, true);
  }

  // `{% raw %}` (pos_ is just after `{%` and its sign).
  bool isRawBlock() const {
    size_t i = pos_;
    while (i < src_.size() && isSpace(src_[i])) ++i;
    if (src_.compare(i, 3, "raw") != 0 || (i + 3 < src_.size() && isNameChar(src_[i + 3]))) {
      return false;
    }
    return true;
  }

  bool readRaw(size_t tag) {
    size_t close = src_.find("%}", pos_);
    if (close == std::string::npos) fail(tag, "missing end of raw tag");
    char sign = src_[close - 1] == '-' ? '-' : '\0';
    pos_ = close + 2;
    finishTag(sign, true);
    for (size_t search = pos_;;) {
      size_t end = src_.find("{%", search);
      if (end == std::string::npos) fail(tag, "missing {% endraw %}");
      size_t i = end + 2;
      char end_sign = i < src_.size() && (src_[i] == '-' || src_[i] == '+') ? src_[i++] : '\0';
      while (i < src_.size() && isSpace(src_[i])) ++i;
      if (src_.compare(i, 6, "endraw") != 0) {
        search = end + 2;
        continue;
      }
      std::string body = src_.substr(pos_, end - pos_);
      if (end_sign == '-') {
        while (!body.empty() && isSpace(body.back())) body.pop_back();
      }
      emitText(std::move(body), pos_);
      i += 6;
      while (i < src_.size() && isSpace(src_[i])) ++i;
      char close_sign = i < src_.size() && (src_[i] == '-' || src_[i] == '+') ? src_[i++] : '\0';
      if (src_.compare(i, 2, "%}") != 0) fail(end, "malformed {% endraw %}");
      pos_ = i + 2;
      return finishTag(close_sign, true);
    }
  }

  bool readTag(bool variable, size_t tag) {
    emit(variable ? Token::Kind::kVariableBegin : Token::Kind::kBlockBegin, "", tag);
    const char* close = variable ? "}}" : "%}";
    int braces = 0;
    while (true) {
      while (pos_ < src_.size() && isSpace(src_[pos_])) ++pos_;
      if (pos_ >= src_.size()) fail(tag, variable ? "unexpected end of template, expected '}}'"
                                                  : "unexpected end of template, expected '%}'");
      char sign = src_[pos_];
      if (braces == 0 && (sign == '-' || sign == '+') && src_.compare(pos_ + 1, 2, close) == 0) {
        emit(variable ? Token::Kind::kVariableEnd : Token::Kind::kBlockEnd, "", pos_);
        pos_ += 3;
        return finishTag(sign, !variable);
      }
      if (braces == 0 && src_.compare(pos_, 2, close) == 0) {
        emit(variable ? Token::Kind::kVariableEnd : Token::Kind::kBlockEnd, "", pos_);
        pos_ += 2;
        return finishTag('\0', !variable);
      }
      readExpressionToken(braces);
    }
  }

  void readExpressionToken(int& braces) {
    size_t start = pos_;
    char c = src_[pos_];
    if (isNameStart(c) || static_cast<unsigned char>(c) >= 0x80) {
      while (pos_ < src_.size() && (isNameChar(src_[pos_]) || static_cast<unsigned char>(src_[pos_]) >= 0x80)) ++pos_;
      emit(Token::Kind::kName, src_.substr(start, pos_ - start), start);
      return;
    }
    if (isDigit(c)) {
      readNumber();
      return;
    }
    if (c == '\'' || c == '"') {
      readString();
      return;
    }
    static const char* kOperators[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/",
                                       "%",  "~",  "<",  ">",  "=",  "(",  ")", "[", "]", "{",
                                       "}",  ",",  ".",  ":",  "|",  ";"};
    for (const char* op : kOperators) {
      size_t len = std::strlen(op);
      if (src_.compare(pos_, len, op) == 0) {
        if (*op == '{' || *op == '(' || *op == '[') ++braces;
        if ((*op == '}' || *op == ')' || *op == ']') && braces > 0) --braces;
        pos_ += len;
        emit(Token::Kind::kOperator, op, start);
        return;
      }
    }
    fail(start, cat("unexpected character '", std::string(1, c), "'"));
  }

  void readNumber() {
    size_t start = pos_;
    auto digits = [&] {
      while (pos_ < src_.size() && (isDigit(src_[pos_]) || src_[pos_] == '_')) ++pos_;
    };
    digits();
    bool is_float = false;
    bool after_dot = !tokens_.empty() && tokens_.back().kind == Token::Kind::kOperator &&
                     tokens_.back().text == ".";
    if (!after_dot && pos_ + 1 < src_.size() && src_[pos_] == '.' && isDigit(src_[pos_ + 1])) {
      ++pos_;
      digits();
      is_float = true;
    }
    if (!after_dot && pos_ < src_.size() && (src_[pos_] == 'e' || src_[pos_] == 'E')) {
      size_t e = pos_ + 1;
      if (e < src_.size() && (src_[e] == '+' || src_[e] == '-')) ++e;
      if (e < src_.size() && isDigit(src_[e])) {
        pos_ = e;
        digits();
        is_float = true;
      }
    }
    std::string text;
    for (size_t i = start; i < pos_; ++i) {
      if (src_[i] != '_') text += src_[i];
    }
    emit(is_float ? Token::Kind::kFloat : Token::Kind::kInteger, text, start);
  }

  // A Python string literal with Python's escapes (unknown escapes keep their backslash).
  void readString() {
    size_t start = pos_;
    char quote = src_[pos_++];
    std::string value;
    while (true) {
      if (pos_ >= src_.size()) fail(start, "unterminated string");
      char c = src_[pos_++];
      if (c == quote) break;
      if (c != '\\') {
        value += c;
        continue;
      }
      if (pos_ >= src_.size()) fail(start, "unterminated string");
      char e = src_[pos_++];
      auto hex = [&](int count) {
        if (pos_ + count > src_.size()) fail(start, "truncated \\x/\\u escape");
        uint32_t cp = 0;
        for (int i = 0; i < count; ++i) {
          char h = src_[pos_++];
          int d = isDigit(h) ? h - '0' : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                                       : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
          if (d < 0) fail(start, "truncated \\x/\\u escape");
          cp = cp * 16 + static_cast<uint32_t>(d);
        }
        if (cp > 0x10FFFF) fail(start, "illegal Unicode character");
        appendUtf8(value, cp);
      };
      switch (e) {
        case 'n': value += '\n'; break;
        case 't': value += '\t'; break;
        case 'r': value += '\r'; break;
        case '\\': value += '\\'; break;
        case '\'': value += '\''; break;
        case '"': value += '"'; break;
        case 'a': value += '\a'; break;
        case 'b': value += '\b'; break;
        case 'f': value += '\f'; break;
        case 'v': value += '\v'; break;
        case '\n': break;  // Line continuation.
        case 'x': hex(2); break;
        case 'u': hex(4); break;
        case 'U': hex(8); break;
        default:
          if (e >= '0' && e <= '7') {
            uint32_t cp = static_cast<uint32_t>(e - '0');
            for (int i = 0; i < 2 && pos_ < src_.size() && src_[pos_] >= '0' && src_[pos_] <= '7'; ++i) {
              cp = cp * 8 + static_cast<uint32_t>(src_[pos_++] - '0');
            }
            appendUtf8(value, cp);
          } else {
            value += '\\';
            value += e;
          }
      }
    }
    emit(Token::Kind::kString, std::move(value), start);
  }

  std::string src_;
  std::vector<size_t> line_starts_;
  size_t pos_ = 0;
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> tokenize(std::string_view source) {
  return Lexer(normalizeNewlines(source)).run();
}

}  // namespace mvc::text::jinja
