// Jinja2's builtin filters and tests, and the globals transformers installs
// (raise_exception, strftime_now) beside Jinja's (range, namespace, dict).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>

#include "runtime/text/JinjaInterpreter.h"
#include "runtime/text/JinjaStrings.h"
#include "runtime/text/Strings.h"

namespace mvc::text::jinja {
namespace {

const Value kNoValue;

// Positional argument `index` (after the input) or keyword `name`.
const Value& arg(const CallArgs& args, size_t index, std::string_view name,
                 const Value& fallback = kNoValue) {
  if (index < args.positional.size()) return args.positional[index];
  for (const auto& [key, value] : args.keyword) {
    if (key == name) return value;
  }
  return fallback;
}

bool boolArg(const CallArgs& args, size_t index, std::string_view name, bool fallback) {
  const Value& v = arg(args, index, name);
  return v.isUndefined() ? fallback : v.truthy();
}

// Jinja's attribute paths for filters ("a.b", "0").
Value attributePath(const Value& item, const std::string& path) {
  Value current = item;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
    if (current.isUndefined()) return current;
    if (numeric) {
      // An index too large for int64 names no item of any list or dict here.
      int64_t index = 0;
      auto [end, error] = std::from_chars(part.data(), part.data() + part.size(), index);
      current = error == std::errc() ? getItem(current, Value(index))
                                     : Value::undefined(cat("no item ", part));
    } else {
      current = getItem(current, Value(part));
    }
    if (dot == std::string::npos) return current;
    start = dot + 1;
  }
}

int64_t length(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: return 0;
    case Value::Kind::kString: return static_cast<int64_t>(codepointCount(v.asString()));
    case Value::Kind::kList: return static_cast<int64_t>(v.asList().size());
    case Value::Kind::kDict:
    case Value::Kind::kNamespace: return static_cast<int64_t>(v.asDict().items.size());
    default: throw JinjaError{cat("object of type '", v.typeName(), "' has no len()")};
  }
}

// Sort key comparison for sort/dictsort/min/max: case-insensitive strings unless asked.
bool sortLess(const Value& a, const Value& b, bool case_sensitive) {
  if (!case_sensitive && a.isString() && b.isString()) return pyLower(a.asString()) < pyLower(b.asString());
  return lessThan(a, b);
}

Value toInt(const Value& v, const Value& fallback, int base) {
  if (v.kind() == Value::Kind::kInt) return v;
  if (v.kind() == Value::Kind::kBool) return Value(v.asInt());
  if (v.kind() == Value::Kind::kFloat) {
    if (!std::isfinite(v.asFloat())) return fallback;
    return Value(static_cast<int64_t>(v.asFloat()));
  }
  if (v.isString()) {
    std::string s = pyStrip(v.asString(), std::nullopt, true, true);
    s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
    if (s.empty()) return fallback;
    char* end = nullptr;
    errno = 0;
    long long parsed = std::strtoll(s.c_str(), &end, base);
    if (errno == 0 && end && *end == '\0') return Value(static_cast<int64_t>(parsed));
    double d = std::strtod(s.c_str(), &end);  // Jinja falls back to int(float(s)).
    if (end && *end == '\0' && std::isfinite(d)) return Value(static_cast<int64_t>(d));
  }
  return fallback;
}

Value toFloat(const Value& v, const Value& fallback) {
  if (v.isNumber()) return Value(v.asFloat());
  if (v.isString()) {
    std::string s = pyStrip(v.asString(), std::nullopt, true, true);
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && end && *end == '\0') return Value(d);
  }
  return fallback;
}

}  // namespace

Value Interpreter::applyFilter(std::string_view name, const Value& input, CallArgs& args) {
  charge(1);
  if (name == "default" || name == "d") {
    bool boolean = boolArg(args, 1, "boolean", false);
    if (input.isUndefined() || (boolean && !input.truthy())) {
      const Value& fallback = arg(args, 0, "default_value");
      return fallback.isUndefined() ? Value("") : fallback;
    }
    return input;
  }
  if (name == "tojson") {
    const Value& indent = arg(args, 0, "indent");
    std::optional<int> spaces;
    if (!indent.isUndefined() && !indent.isNone()) {
      if (!indent.isNumber()) throw JinjaError{"tojson: indent must be an integer"};
      spaces = static_cast<int>(std::clamp<int64_t>(indent.asInt(), 0, 64));
    }
    std::string json = input.toJson(spaces, boolArg(args, 3, "sort_keys", false));
    checkSize(json.size());
    return Value(std::move(json));
  }
  if (name == "length" || name == "count") return Value(length(input));
  if (name == "string") return input.isString() ? input : Value(input.str());
  if (name == "safe" || name == "e" || name == "escape" || name == "forceescape") {
    if (name == "safe") return input.isString() ? input : Value(input.str());
    std::string out;
    for (char c : input.str()) {
      switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&#34;"; break;
        case '\'': out += "&#39;"; break;
        default: out += c;
      }
    }
    return Value(std::move(out));
  }
  if (name == "trim") {
    const Value& chars = arg(args, 0, "chars");
    return Value(pyStrip(input.str(), chars.isString() ? std::optional<std::string>(chars.asString()) : std::nullopt, true, true));
  }
  if (name == "upper") return Value(pyUpper(input.str()));
  if (name == "lower") return Value(pyLower(input.str()));
  if (name == "title") return Value(pyTitle(input.str()));
  if (name == "capitalize") return Value(pyCapitalize(input.str()));
  if (name == "replace") {
    const Value& old_value = arg(args, 0, "old");
    const Value& new_value = arg(args, 1, "new");
    const Value& count = arg(args, 2, "count");
    std::string out = pyReplace(input.str(), old_value.str(), new_value.str(), count.isNumber() ? count.asInt() : -1);
    checkSize(out.size());
    return Value(std::move(out));
  }
  if (name == "format") return Value(formatPercent(input.str(), args.positional));
  if (name == "indent") {
    const Value& width_value = arg(args, 0, "width");
    std::string pad = width_value.isString() ? width_value.asString()
                                             : std::string(static_cast<size_t>(std::clamp<int64_t>(width_value.isNumber() ? width_value.asInt() : 4, 0, 256)), ' ');
    bool first = boolArg(args, 1, "first", false), blank = boolArg(args, 2, "blank", false);
    std::string s = input.str(), out;
    size_t start = 0;
    for (bool is_first = true; start <= s.size(); is_first = false) {
      size_t nl = s.find('\n', start);
      std::string line = s.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
      if ((is_first ? first : true) && (blank || !line.empty())) out += pad;
      out += line;
      if (nl == std::string::npos) break;
      out += '\n';
      start = nl + 1;
    }
    checkSize(out.size());
    return Value(std::move(out));
  }
  if (name == "int") return toInt(input, arg(args, 0, "default", Value(int64_t{0})), static_cast<int>(arg(args, 1, "base", Value(int64_t{10})).asInt()));
  if (name == "float") return toFloat(input, arg(args, 0, "default", Value(0.0)));
  if (name == "abs") {
    if (!input.isNumber()) throw JinjaError{cat("bad operand type for abs(): '", input.typeName(), "'")};
    return input.kind() == Value::Kind::kFloat ? Value(std::fabs(input.asFloat())) : Value(input.asInt() < 0 ? -input.asInt() : input.asInt());
  }
  if (name == "round") {
    if (!input.isNumber()) throw JinjaError{"round: a number is required"};
    double scale = std::pow(10.0, static_cast<double>(arg(args, 0, "precision", Value(int64_t{0})).asInt()));
    std::string method = arg(args, 1, "method", Value("common")).str();
    double v = input.asFloat() * scale;
    // "common" is Python's round(): halves go to the even neighbour.
    v = method == "floor" ? std::floor(v) : method == "ceil" ? std::ceil(v) : std::nearbyint(v);
    return Value(v / scale);
  }
  if (name == "first" || name == "last") {
    ValueList items = input.iterate();
    if (items.empty()) return Value::undefined(cat("No ", name, " item, sequence was empty."));
    return name == "first" ? items.front() : items.back();
  }
  if (name == "list") return Value::list(input.iterate());
  if (name == "reverse") {
    if (input.isString()) return sliceOf(input, Value::none(), Value::none(), Value(int64_t{-1}));
    ValueList items = input.iterate();
    std::reverse(items.begin(), items.end());
    return Value::list(std::move(items));
  }
  if (name == "items") {
    if (input.isUndefined()) return Value::list({});
    if (!input.isDict()) throw JinjaError{"Can only get item pairs from a mapping."};
    ValueList items;
    for (const auto& [k, v] : input.asDict().items) items.push_back(Value::tuple({k, v}));
    return Value::list(std::move(items));
  }
  if (name == "dictsort") {
    if (!input.isDict()) throw JinjaError{"dictsort: can only sort a mapping"};
    bool case_sensitive = boolArg(args, 0, "case_sensitive", false);
    bool by_value = arg(args, 1, "by", Value("key")).str() == "value";
    bool reverse = boolArg(args, 2, "reverse", false);
    auto items = input.asDict().items;
    charge(items.size());
    std::stable_sort(items.begin(), items.end(), [&](const auto& a, const auto& b) {
      const Value& x = by_value ? a.second : a.first;
      const Value& y = by_value ? b.second : b.first;
      return reverse ? sortLess(y, x, case_sensitive) : sortLess(x, y, case_sensitive);
    });
    ValueList out;
    for (auto& [k, v] : items) out.push_back(Value::tuple({k, v}));
    return Value::list(std::move(out));
  }
  if (name == "sort") {
    bool reverse = boolArg(args, 0, "reverse", false);
    bool case_sensitive = boolArg(args, 1, "case_sensitive", false);
    const Value& attribute = arg(args, 2, "attribute");
    ValueList items = input.iterate();
    charge(items.size());
    auto key = [&](const Value& v) { return attribute.isString() ? attributePath(v, attribute.asString()) : v; };
    std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
      return reverse ? sortLess(key(b), key(a), case_sensitive) : sortLess(key(a), key(b), case_sensitive);
    });
    return Value::list(std::move(items));
  }
  if (name == "unique") {
    ValueList out;
    for (const Value& item : input.iterate()) {
      charge(out.size());
      bool seen = false;
      for (const Value& kept : out) seen = seen || (kept.isString() && item.isString() ? pyLower(kept.asString()) == pyLower(item.asString()) : kept == item);
      if (!seen) out.push_back(item);
    }
    return Value::list(std::move(out));
  }
  if (name == "min" || name == "max" || name == "sum") {
    ValueList items = input.iterate();
    const Value& attribute = arg(args, name == "sum" ? 0 : 1, "attribute");
    if (attribute.isString()) {
      for (Value& item : items) item = attributePath(item, attribute.asString());
    }
    if (name == "sum") {
      Value total = arg(args, 1, "start", Value(int64_t{0}));
      for (const Value& item : items) total = binaryOp("+", total, item, *this);
      return total;
    }
    if (items.empty()) return Value::undefined(cat("No ", name, " item, sequence was empty."));
    bool case_sensitive = boolArg(args, 0, "case_sensitive", false);
    Value best = items[0];
    for (const Value& item : items) {
      if (name == "min" ? sortLess(item, best, case_sensitive) : sortLess(best, item, case_sensitive)) best = item;
    }
    return best;
  }
  if (name == "join") {
    const Value& separator = arg(args, 0, "d", Value(""));
    const Value& attribute = arg(args, 1, "attribute");
    std::string out;
    bool first = true;
    for (const Value& item : input.iterate()) {
      if (!first) out += separator.str();
      first = false;
      out += (attribute.isString() ? attributePath(item, attribute.asString()) : item).str();
      checkSize(out.size());
    }
    return Value(std::move(out));
  }
  if (name == "attr") return getAttribute(input, arg(args, 0, "name").str());
  if (name == "map") {
    ValueList out;
    const Value& attribute = arg(args, 0, "attribute");
    bool by_attribute = args.positional.empty() && attribute.isString();
    for (const Value& item : input.iterate()) {
      if (by_attribute) {
        Value v = attributePath(item, attribute.asString());
        out.push_back(v.isUndefined() ? arg(args, 1, "default", v) : v);
      } else {
        if (args.positional.empty()) throw JinjaError{"map: no filter or attribute given"};
        CallArgs rest;
        rest.positional.assign(args.positional.begin() + 1, args.positional.end());
        rest.keyword = args.keyword;
        out.push_back(applyFilter(args.positional[0].str(), item, rest));
      }
    }
    return Value::list(std::move(out));
  }
  if (name == "select" || name == "reject" || name == "selectattr" || name == "rejectattr") {
    bool by_attribute = name == "selectattr" || name == "rejectattr";
    bool keep_matching = name == "select" || name == "selectattr";
    size_t test_index = by_attribute ? 1 : 0;
    ValueList out;
    for (const Value& item : input.iterate()) {
      Value subject = by_attribute ? attributePath(item, arg(args, 0, "attribute").str()) : item;
      bool matched;
      if (args.positional.size() > test_index) {
        CallArgs rest;
        rest.positional.assign(args.positional.begin() + static_cast<std::ptrdiff_t>(test_index) + 1, args.positional.end());
        matched = applyTest(args.positional[test_index].str(), subject, rest);
      } else {
        matched = subject.truthy();
      }
      if (matched == keep_matching) out.push_back(item);
    }
    return Value::list(std::move(out));
  }
  if (name == "batch") {
    int64_t size = std::max<int64_t>(1, arg(args, 0, "linecount", Value(int64_t{1})).asInt());
    ValueList out, current;
    for (const Value& item : input.iterate()) {
      current.push_back(item);
      if (static_cast<int64_t>(current.size()) == size) {
        out.push_back(Value::list(std::move(current)));
        current.clear();
      }
    }
    if (!current.empty()) {
      const Value& fill = arg(args, 1, "fill_with");
      while (!fill.isUndefined() && !fill.isNone() && static_cast<int64_t>(current.size()) < size) current.push_back(fill);
      out.push_back(Value::list(std::move(current)));
    }
    return Value::list(std::move(out));
  }
  if (name == "wordcount") return Value(static_cast<int64_t>(pySplit(input.str(), std::nullopt, -1).size()));
  throw JinjaError{cat("No filter named '", name, "'.")};
}

bool Interpreter::applyTest(std::string_view name, const Value& input, CallArgs& args) {
  charge(1);
  const Value& other = arg(args, 0, "value");
  using K = Value::Kind;
  if (name == "defined") return !input.isUndefined();
  if (name == "undefined") return input.isUndefined();
  if (name == "none") return input.isNone();
  if (name == "boolean") return input.kind() == K::kBool;
  if (name == "true") return input.kind() == K::kBool && input.asBool();
  if (name == "false") return input.kind() == K::kBool && !input.asBool();
  if (name == "integer") return input.kind() == K::kInt;
  if (name == "float") return input.kind() == K::kFloat;
  if (name == "number") return input.isNumber();
  if (name == "string") return input.isString();
  if (name == "mapping") return input.isDict();
  if (name == "iterable") return input.isUndefined() || input.isString() || input.isList() || input.isDict();
  if (name == "sequence") return input.isUndefined() || input.isString() || input.isList() || input.isDict();
  if (name == "callable") return input.kind() == K::kCallable;
  if (name == "sameas") {
    if (input.kind() != other.kind()) return false;
    if (input.kind() == K::kNamespace || input.kind() == K::kCallable || input.isList() || input.isDict()) {
      return input.kind() == K::kList ? &input.asList() == &other.asList() : input.identity() == other.identity();
    }
    return input == other;
  }
  if (name == "eq" || name == "equalto" || name == "==") return input == other;
  if (name == "ne" || name == "!=") return input != other;
  if (name == "lt" || name == "lessthan" || name == "<") return lessThan(input, other);
  if (name == "le" || name == "<=") return !lessThan(other, input);
  if (name == "gt" || name == "greaterthan" || name == ">") return lessThan(other, input);
  if (name == "ge" || name == ">=") return !lessThan(input, other);
  if (name == "in") return contains(other, input);
  if (name == "odd" || name == "even" || name == "divisibleby") {
    if (!input.isNumber()) throw JinjaError{cat("test '", name, "' needs a number")};
    int64_t divisor = name == "divisibleby" ? other.asInt() : 2;
    if (divisor == 0) throw JinjaError{"integer division or modulo by zero"};
    int64_t remainder = ((input.asInt() % divisor) + divisor) % divisor;
    return name == "odd" ? remainder == 1 : remainder == 0;
  }
  if (name == "lower") return input.isString() && pyLower(input.asString()) == input.asString();
  if (name == "upper") return input.isString() && pyUpper(input.asString()) == input.asString();
  if (name == "escaped") return false;
  throw JinjaError{cat("No test named '", name, "'.")};
}

void Interpreter::installGlobals() {
  globals_["range"] = Value::callable("range", [this](CallArgs& args) {
    int64_t start = 0, stop, step = 1;
    auto number = [](const Value& v) {
      if (v.kind() != Value::Kind::kInt && v.kind() != Value::Kind::kBool) {
        throw JinjaError{cat("'", v.typeName(), "' object cannot be interpreted as an integer")};
      }
      return v.asInt();
    };
    if (args.positional.empty() || args.positional.size() > 3) throw JinjaError{"range expected 1 to 3 arguments"};
    if (args.positional.size() == 1) {
      stop = number(args.positional[0]);
    } else {
      start = number(args.positional[0]);
      stop = number(args.positional[1]);
      if (args.positional.size() == 3) step = number(args.positional[2]);
    }
    if (step == 0) throw JinjaError{"range() arg 3 must not be zero"};
    ValueList items;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
      charge(1);
      items.emplace_back(i);
    }
    return Value::list(std::move(items));
  });
  globals_["namespace"] = Value::callable("namespace", [this](CallArgs& args) {
    ValueDict attributes;
    for (const Value& positional : args.positional) {
      if (!positional.isDict()) throw JinjaError{"namespace() takes a mapping or keyword arguments"};
      for (const auto& [k, v] : positional.asDict().items) attributes.set(k, v);
    }
    for (auto& [key, value] : args.keyword) attributes.set(Value(key), value);
    Value created = Value::namespaceObject(std::move(attributes));
    namespaces_.push_back(created);  // emptied when the render ends (render())
    return created;
  });
  globals_["dict"] = Value::callable("dict", [](CallArgs& args) {
    ValueDict d;
    for (auto& [key, value] : args.keyword) d.set(Value(key), value);
    return Value::dict(std::move(d));
  });
  globals_["raise_exception"] = Value::callable("raise_exception", [](CallArgs& args) -> Value {
    throw JinjaError{args.positional.empty() ? "raise_exception called" : args.positional[0].str()};
  });
  globals_["strftime_now"] = Value::callable("strftime_now", [this](CallArgs& args) {
    std::string format = arg(args, 0, "format").str();
    if (format.empty()) return Value("");
    char buffer[512];
    size_t n = std::strftime(buffer, sizeof(buffer), format.c_str(), &now_);
    if (n == 0) throw JinjaError{"strftime_now: format is empty or too long"};
    return Value(std::string(buffer, n));
  });
}

}  // namespace mvc::text::jinja
