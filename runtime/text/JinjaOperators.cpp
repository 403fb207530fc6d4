// Attribute and item access, the sandbox's method table, and Python's binary operators.
#include <algorithm>
#include <cctype>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>

#include "runtime/text/JinjaInterpreter.h"
#include "runtime/text/JinjaStrings.h"
#include "runtime/text/Strings.h"

namespace mvc::text::jinja {
namespace {

[[noreturn]] void failUndefined(const Value& v) { throw JinjaError{v.undefinedHint()}; }

Value missingAttribute(const Value& object, const std::string& name) {
  return Value::undefined(cat(object.objectDescription(), " has no attribute '", name, "'"));
}

const Value& arg(CallArgs& args, size_t index, const char* keyword, const Value& fallback) {
  if (index < args.positional.size()) return args.positional[index];
  for (const auto& [key, value] : args.keyword) {
    if (key == keyword) return value;
  }
  return fallback;
}

std::optional<std::string> optionalString(const Value& v, const char* method) {
  if (v.isNone() || v.isUndefined()) return std::nullopt;
  if (!v.isString()) throw JinjaError{cat(method, " arg must be None or str")};
  return v.asString();
}

int64_t intArg(const Value& v, int64_t fallback) {
  if (v.isUndefined() || v.isNone()) return fallback;
  if (v.kind() != Value::Kind::kInt && v.kind() != Value::Kind::kBool) {
    throw JinjaError{cat("'", v.typeName(), "' object cannot be interpreted as an integer")};
  }
  return v.asInt();
}

Value stringList(const std::vector<std::string>& parts) {
  ValueList items;
  for (const auto& part : parts) items.emplace_back(part);
  return Value::list(std::move(items));
}

bool affixMatch(const std::string& s, const Value& affix, bool prefix) {
  auto one = [&](const Value& v) {
    if (!v.isString()) throw JinjaError{"startswith/endswith first arg must be str or a tuple of str"};
    const std::string& a = v.asString();
    if (a.size() > s.size()) return false;
    return prefix ? s.compare(0, a.size(), a) == 0 : s.compare(s.size() - a.size(), a.size(), a) == 0;
  };
  if (affix.isList()) {
    for (const Value& v : affix.asList()) {
      if (one(v)) return true;
    }
    return false;
  }
  return one(affix);
}

Value stringMethod(const std::string& s, const std::string& name) {
  static const Value kNone = Value::none();
  static const Value kMissing;
  auto method = [&](auto fn) {
    return Value::callable(name, [s, fn](CallArgs& args) { return fn(s, args); });
  };
  if (name == "startswith" || name == "endswith") {
    bool prefix = name == "startswith";
    return method([prefix](const std::string& str, CallArgs& args) {
      return Value(affixMatch(str, arg(args, 0, "prefix", kMissing), prefix));
    });
  }
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    bool left = name != "rstrip", right = name != "lstrip";
    return method([left, right, name](const std::string& str, CallArgs& args) {
      return Value(pyStrip(str, optionalString(arg(args, 0, "chars", kNone), name.c_str()), left, right));
    });
  }
  if (name == "split" || name == "rsplit") {
    bool reverse = name == "rsplit";
    return method([reverse](const std::string& str, CallArgs& args) {
      auto sep = optionalString(arg(args, 0, "sep", kNone), "split");
      if (sep && sep->empty()) throw JinjaError{"empty separator"};
      int64_t maxsplit = intArg(arg(args, 1, "maxsplit", kNone), -1);
      return stringList(reverse ? pyRsplit(str, sep, maxsplit) : pySplit(str, sep, maxsplit));
    });
  }
  if (name == "splitlines") {
    return method([](const std::string& str, CallArgs&) {
      std::vector<std::string> lines;
      size_t start = 0;
      for (size_t i = 0; i < str.size(); ++i) {
        if (str[i] == '\n' || str[i] == '\r') {
          lines.push_back(str.substr(start, i - start));
          if (str[i] == '\r' && i + 1 < str.size() && str[i + 1] == '\n') ++i;
          start = i + 1;
        }
      }
      if (start < str.size()) lines.push_back(str.substr(start));
      return stringList(lines);
    });
  }
  if (name == "replace") {
    return method([](const std::string& str, CallArgs& args) {
      const Value& old_value = arg(args, 0, "old", kMissing);
      const Value& new_value = arg(args, 1, "new", kMissing);
      if (!old_value.isString() || !new_value.isString()) throw JinjaError{"replace() arguments must be str"};
      return Value(pyReplace(str, old_value.asString(), new_value.asString(),
                             intArg(arg(args, 2, "count", kNone), -1)));
    });
  }
  if (name == "upper") return method([](const std::string& str, CallArgs&) { return Value(pyUpper(str)); });
  if (name == "lower") return method([](const std::string& str, CallArgs&) { return Value(pyLower(str)); });
  if (name == "title") return method([](const std::string& str, CallArgs&) { return Value(pyTitle(str)); });
  if (name == "capitalize") {
    return method([](const std::string& str, CallArgs&) { return Value(pyCapitalize(str)); });
  }
  if (name == "find" || name == "rfind" || name == "count" || name == "index") {
    return method([name](const std::string& str, CallArgs& args) {
      const Value& needle = arg(args, 0, "sub", kMissing);
      if (!needle.isString()) throw JinjaError{cat("must be str, not ", needle.typeName())};
      const std::string& sub = needle.asString();
      if (name == "count") {
        if (sub.empty()) return Value(static_cast<int64_t>(codepointCount(str) + 1));
        int64_t n = 0;
        for (size_t pos = str.find(sub); pos != std::string::npos; pos = str.find(sub, pos + sub.size())) ++n;
        return Value(n);
      }
      size_t pos = name == "rfind" ? str.rfind(sub) : str.find(sub);
      if (pos == std::string::npos) {
        if (name == "index") throw JinjaError{"substring not found"};
        return Value(int64_t{-1});
      }
      return Value(static_cast<int64_t>(codepointCount(std::string_view(str).substr(0, pos))));
    });
  }
  if (name == "join") {
    return method([](const std::string& str, CallArgs& args) {
      std::string out;
      bool first = true;
      for (const Value& item : arg(args, 0, "iterable", kMissing).iterate()) {
        if (!item.isString()) throw JinjaError{cat("sequence item: expected str instance, ", item.typeName(), " found")};
        if (!first) out += str;
        first = false;
        out += item.asString();
      }
      return Value(std::move(out));
    });
  }
  if (name == "isdigit" || name == "isalpha" || name == "isalnum" || name == "isspace" ||
      name == "islower" || name == "isupper") {
    return method([name](const std::string& str, CallArgs&) {
      if (str.empty()) return Value(false);
      if (name == "islower") return Value(pyLower(str) == str && pyUpper(str) != str);
      if (name == "isupper") return Value(pyUpper(str) == str && pyLower(str) != str);
      for (unsigned char c : str) {
        bool ok = name == "isdigit"   ? std::isdigit(c)
                  : name == "isalpha" ? std::isalpha(c) || c >= 0x80
                  : name == "isalnum" ? std::isalnum(c) || c >= 0x80
                                      : std::isspace(c);
        if (!ok) return Value(false);
      }
      return Value(true);
    });
  }
  return Value::undefined(cat("'str object' has no attribute '", name, "'"));
}

ValueList dictItems(const ValueDict& dict) {
  ValueList items;
  for (const auto& [k, v] : dict.items) items.push_back(Value::tuple({k, v}));
  return items;
}

// A dict's method `name`, or nullopt when `name` is not one (then it is a key lookup).
std::optional<Value> dictMethod(const Value& object, const std::string& name) {
  static const Value kNone = Value::none();
  static const Value kMissing;
  if (name == "get") {
    return Value::callable(name, [object](CallArgs& args) {
      const Value* found = object.asDict().find(arg(args, 0, "key", kMissing));
      return found ? *found : arg(args, 1, "default", kNone);
    });
  }
  if (name == "items") {
    return Value::callable(name, [object](CallArgs&) { return Value::list(dictItems(object.asDict())); });
  }
  if (name == "keys") return Value::callable(name, [object](CallArgs&) { return Value::list(object.iterate()); });
  if (name == "values") {
    return Value::callable(name, [object](CallArgs&) {
      ValueList values;
      for (const auto& item : object.asDict().items) values.push_back(item.second);
      return Value::list(std::move(values));
    });
  }
  if (name == "copy") return Value::callable(name, [object](CallArgs&) { return Value::dict(object.asDict()); });
  if (name == "pop" || name == "popitem" || name == "setdefault" || name == "update" || name == "clear") {
    return Value::undefined(cat("access to attribute '", name, "' of 'dict' object is unsafe"));
  }
  return std::nullopt;
}

std::optional<Value> listMethod(const Value& object, const std::string& name) {
  static const Value kMissing;
  if (name == "index" || name == "count") {
    return Value::callable(name, [object, name](CallArgs& args) {
      const Value& needle = arg(args, 0, "value", kMissing);
      const ValueList& items = object.asList();
      int64_t n = 0;
      for (size_t i = 0; i < items.size(); ++i) {
        if (items[i] == needle) {
          if (name == "index") return Value(static_cast<int64_t>(i));
          ++n;
        }
      }
      if (name == "index") throw JinjaError{"x not in list"};
      return Value(n);
    });
  }
  if (name == "append" || name == "pop" || name == "insert" || name == "extend" || name == "remove" ||
      name == "sort" || name == "reverse" || name == "clear") {
    return Value::undefined(cat("access to attribute '", name, "' of 'list' object is unsafe"));
  }
  return std::nullopt;
}

}  // namespace

Value getAttribute(const Value& object, const std::string& name) {
  switch (object.kind()) {
    case Value::Kind::kUndefined:
      failUndefined(object);
    case Value::Kind::kDict: {
      if (auto method = dictMethod(object, name)) return *method;
      if (const Value* found = object.asDict().find(Value(name))) return *found;
      return missingAttribute(object, name);
    }
    case Value::Kind::kNamespace:
      if (const Value* found = object.asDict().find(Value(name))) return *found;
      return missingAttribute(object, name);
    case Value::Kind::kString:
      return stringMethod(object.asString(), name);
    case Value::Kind::kList: {
      if (auto method = listMethod(object, name)) return *method;
      return missingAttribute(object, name);
    }
    default:
      return missingAttribute(object, name);
  }
}

Value getItem(const Value& object, const Value& key) {
  if (object.isUndefined()) failUndefined(object);
  if (object.isDict() || object.kind() == Value::Kind::kNamespace) {
    if (object.isDict()) {
      if (const Value* found = object.asDict().find(key)) return *found;
    }
    if (key.isString()) return getAttribute(object, key.asString());
    return Value::undefined(cat(object.objectDescription(), " has no element ", key.repr()));
  }
  if ((object.isList() || object.isString()) &&
      (key.kind() == Value::Kind::kInt || key.kind() == Value::Kind::kBool)) {
    int64_t index = key.asInt();
    if (object.isList()) {
      int64_t size = static_cast<int64_t>(object.asList().size());
      if (index < 0) index += size;
      if (index < 0 || index >= size) return Value::undefined(cat(object.objectDescription(), " has no element ", key.repr()));
      return object.asList()[static_cast<size_t>(index)];
    }
    auto offsets = codepointOffsets(object.asString());
    int64_t size = static_cast<int64_t>(offsets.size()) - 1;
    if (index < 0) index += size;
    if (index < 0 || index >= size) return Value::undefined(cat(object.objectDescription(), " has no element ", key.repr()));
    return Value(object.asString().substr(offsets[index], offsets[index + 1] - offsets[index]));
  }
  if (key.isString()) return getAttribute(object, key.asString());
  return Value::undefined(cat(object.objectDescription(), " has no element ", key.repr()));
}

Value sliceOf(const Value& object, const Value& start_value, const Value& stop_value,
              const Value& step_value) {
  if (object.isUndefined()) failUndefined(object);
  int64_t step = intArg(step_value, 1);
  if (step == 0) throw JinjaError{"slice step cannot be zero"};
  const bool is_string = object.isString();
  if (!is_string && !object.isList()) {
    throw JinjaError{cat("'", object.typeName(), "' object is not subscriptable")};
  }
  std::vector<size_t> offsets;
  int64_t size;
  if (is_string) {
    offsets = codepointOffsets(object.asString());
    size = static_cast<int64_t>(offsets.size()) - 1;
  } else {
    size = static_cast<int64_t>(object.asList().size());
  }
  auto clamp = [&](const Value& v, int64_t fallback) {
    if (v.isNone() || v.isUndefined()) return fallback;
    int64_t i = intArg(v, 0);
    if (i < 0) i += size;
    if (step > 0) return std::clamp<int64_t>(i, 0, size);
    return std::clamp<int64_t>(i, -1, size - 1);
  };
  int64_t start = clamp(start_value, step > 0 ? 0 : size - 1);
  int64_t stop = clamp(stop_value, step > 0 ? size : -1);
  std::string text;
  ValueList items;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    if (is_string) {
      text.append(object.asString(), offsets[i], offsets[i + 1] - offsets[i]);
    } else {
      items.push_back(object.asList()[static_cast<size_t>(i)]);
    }
  }
  return is_string ? Value(std::move(text)) : Value::list(std::move(items));
}

bool contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Value::Kind::kUndefined:
      return false;
    case Value::Kind::kString:
      if (!item.isString()) {
        throw JinjaError{cat("'in <string>' requires string as left operand, not ", item.typeName())};
      }
      return container.asString().find(item.asString()) != std::string::npos;
    case Value::Kind::kList:
      for (const Value& v : container.asList()) {
        if (v == item) return true;
      }
      return false;
    case Value::Kind::kDict:
      return container.asDict().find(item) != nullptr;
    default:
      throw JinjaError{cat("argument of type '", container.typeName(), "' is not iterable")};
  }
}

namespace {

[[noreturn]] void unsupportedOperands(std::string_view op, const Value& a, const Value& b) {
  throw JinjaError{cat("unsupported operand type(s) for ", op, ": '", a.typeName(), "' and '",
                       b.typeName(), "'")};
}

bool isInt(const Value& v) { return v.kind() == Value::Kind::kInt || v.kind() == Value::Kind::kBool; }

// Python ints do not overflow; ours fail cleanly instead of wrapping.
template <typename Op>
Value checkedInt(Op op, int64_t a, int64_t b) {
  int64_t result;
  if (op(a, b, &result)) throw JinjaError{"integer overflow"};
  return Value(result);
}

// printf-style `format % args` (the `%` operator and the `format` filter).
std::string percentFormat(const std::string& format, const ValueList& args) {
  std::string out;
  size_t next = 0;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') {
      out += format[i];
      continue;
    }
    size_t spec_start = i++;
    while (i < format.size() && std::string_view("-+ 0#").find(format[i]) != std::string_view::npos) ++i;
    while (i < format.size() && std::isdigit(static_cast<unsigned char>(format[i]))) ++i;
    if (i < format.size() && format[i] == '.') {
      ++i;
      while (i < format.size() && std::isdigit(static_cast<unsigned char>(format[i]))) ++i;
    }
    if (i >= format.size()) throw JinjaError{"incomplete format"};
    char conversion = format[i];
    if (conversion == '%') {
      out += '%';
      continue;
    }
    if (next >= args.size()) throw JinjaError{"not enough arguments for format string"};
    const Value& v = args[next++];
    std::string spec = format.substr(spec_start, i - spec_start);
    char buffer[512];
    switch (conversion) {
      case 's': out += v.str(); break;
      case 'r': out += v.repr(); break;
      case 'd': case 'i': case 'x': case 'X': case 'o':
        if (!v.isNumber()) throw JinjaError{cat("%", std::string(1, conversion), " format: a real number is required, not ", v.typeName())};
        std::snprintf(buffer, sizeof(buffer), (spec + "ll" + (conversion == 'i' ? 'd' : conversion)).c_str(), static_cast<long long>(v.asInt()));
        out += buffer;
        break;
      case 'f': case 'F': case 'e': case 'E': case 'g': case 'G':
        if (!v.isNumber()) throw JinjaError{cat("must be real number, not ", v.typeName())};
        std::snprintf(buffer, sizeof(buffer), (spec + conversion).c_str(), v.asFloat());
        out += buffer;
        break;
      default:
        throw JinjaError{cat("unsupported format character '", std::string(1, conversion), "'")};
    }
  }
  if (next < args.size()) throw JinjaError{"not all arguments converted during string formatting"};
  return out;
}

}  // namespace

std::string formatPercent(const std::string& format, const ValueList& args) {
  return percentFormat(format, args);
}

Value binaryOp(std::string_view op, const Value& a, const Value& b, const Interpreter& interp) {
  if (op == "~") {
    std::string out = a.str();
    out += b.str();
    interp.checkSize(out.size());
    return Value(std::move(out));
  }
  if (a.isUndefined()) failUndefined(a);
  if (b.isUndefined()) failUndefined(b);
  const bool numbers = a.isNumber() && b.isNumber();
  const bool ints = isInt(a) && isInt(b);
  if (op == "+") {
    if (ints) return checkedInt([](int64_t x, int64_t y, int64_t* r) { return __builtin_add_overflow(x, y, r); }, a.asInt(), b.asInt());
    if (numbers) return Value(a.asFloat() + b.asFloat());
    if (a.isString() && b.isString()) {
      interp.checkSize(a.asString().size() + b.asString().size());
      return Value(a.asString() + b.asString());
    }
    if (a.isList() && b.isList()) {
      interp.checkSize((a.asList().size() + b.asList().size()) * sizeof(Value));
      ValueList items = a.asList();
      items.insert(items.end(), b.asList().begin(), b.asList().end());
      return Value::list(std::move(items));
    }
    if (a.isString() || a.isList()) {
      throw JinjaError{cat("can only concatenate ", a.typeName(), " (not \"", b.typeName(), "\") to ", a.typeName())};
    }
    unsupportedOperands(op, a, b);
  }
  if (op == "-") {
    if (ints) return checkedInt([](int64_t x, int64_t y, int64_t* r) { return __builtin_sub_overflow(x, y, r); }, a.asInt(), b.asInt());
    if (numbers) return Value(a.asFloat() - b.asFloat());
    unsupportedOperands(op, a, b);
  }
  if (op == "*") {
    if (ints) return checkedInt([](int64_t x, int64_t y, int64_t* r) { return __builtin_mul_overflow(x, y, r); }, a.asInt(), b.asInt());
    if (numbers) return Value(a.asFloat() * b.asFloat());
    const Value& seq = isInt(a) ? b : a;
    const Value& count = isInt(a) ? a : b;
    if (isInt(count) && (seq.isString() || seq.isList())) {
      int64_t n = std::max<int64_t>(0, count.asInt());
      size_t unit = seq.isString() ? seq.asString().size() : seq.asList().size() * sizeof(Value);
      if (unit > 0 && static_cast<uint64_t>(n) > (uint64_t{1} << 40) / unit) interp.checkSize(SIZE_MAX);
      interp.checkSize(unit * static_cast<size_t>(n));
      if (seq.isString()) {
        std::string out;
        for (int64_t i = 0; i < n; ++i) out += seq.asString();
        return Value(std::move(out));
      }
      ValueList items;
      for (int64_t i = 0; i < n; ++i) items.insert(items.end(), seq.asList().begin(), seq.asList().end());
      return Value::list(std::move(items));
    }
    unsupportedOperands(op, a, b);
  }
  if (op == "/" || op == "//" || op == "%") {
    if (op == "%" && a.isString()) return Value(percentFormat(a.asString(), b.isList() ? b.asList() : ValueList{b}));
    if (!numbers) unsupportedOperands(op, a, b);
    if (b.asFloat() == 0) throw JinjaError{ints && op != "/" ? "integer division or modulo by zero" : "division by zero"};
    if (op == "/") return Value(a.asFloat() / b.asFloat());
    if (ints) {
      int64_t x = a.asInt(), y = b.asInt();
      if (x == INT64_MIN && y == -1) throw JinjaError{"integer overflow"};
      int64_t q = x / y, r = x % y;
      if (r != 0 && ((r < 0) != (y < 0))) {
        --q;
        r += y;
      }
      return Value(op == "//" ? q : r);
    }
    double x = a.asFloat(), y = b.asFloat();
    double m = std::fmod(x, y);
    if (m != 0 && ((m < 0) != (y < 0))) m += y;
    return op == "//" ? Value(std::floor(x / y)) : Value(m);
  }
  if (op == "**") {
    if (!numbers) unsupportedOperands(op, a, b);
    if (ints && b.asInt() >= 0) {
      int64_t base = a.asInt(), exponent = b.asInt(), power = 1;
      if (base == 0 || base == 1) return Value(exponent == 0 ? int64_t{1} : base);
      if (base == -1) return Value(exponent % 2 == 0 ? int64_t{1} : int64_t{-1});
      for (int64_t e = 0; e < exponent; ++e) {  // |base| >= 2: overflows within 63 steps.
        if (__builtin_mul_overflow(power, base, &power)) throw JinjaError{"integer overflow"};
      }
      return Value(power);
    }
    return Value(std::pow(a.asFloat(), b.asFloat()));
  }
  throw JinjaError{cat("unknown operator ", op)};
}

}  // namespace mvc::text::jinja
