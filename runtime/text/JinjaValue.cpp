#include "runtime/text/JinjaValue.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "runtime/text/JsonString.h"
#include "runtime/text/Strings.h"
#include "runtime/text/Unicode.h"

namespace mvc::text::jinja {

const Value* ValueDict::find(const Value& key) const {
  for (const auto& [k, v] : items) {
    if (k == key) return &v;
  }
  return nullptr;
}

void ValueDict::set(Value key, Value value) {
  for (auto& [k, v] : items) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  items.emplace_back(std::move(key), std::move(value));
}

Value Value::undefined(std::string hint) {
  Value v;
  v.string_ = std::make_shared<const std::string>(std::move(hint));
  return v;
}

Value Value::none() {
  Value v;
  v.kind_ = Kind::kNone;
  return v;
}

Value::Value(bool b) : kind_(Kind::kBool), bool_(b), int_(b) {}
Value::Value(int64_t i) : kind_(Kind::kInt), int_(i) {}
Value::Value(double f) : kind_(Kind::kFloat), float_(f) {}
Value::Value(std::string s)
    : kind_(Kind::kString), string_(std::make_shared<const std::string>(std::move(s))) {}

Value Value::list(ValueList items) {
  Value v;
  v.kind_ = Kind::kList;
  v.list_ = std::make_shared<const ValueList>(std::move(items));
  return v;
}

Value Value::tuple(ValueList items) {
  Value v = list(std::move(items));
  v.bool_ = true;
  return v;
}

Value Value::dict(ValueDict dict) {
  Value v;
  v.kind_ = Kind::kDict;
  v.dict_ = std::make_shared<ValueDict>(std::move(dict));
  return v;
}

Value Value::namespaceObject(ValueDict attributes) {
  Value v = dict(std::move(attributes));
  v.kind_ = Kind::kNamespace;
  return v;
}

Value Value::callable(std::string name, std::function<Value(CallArgs&)> fn) {
  Value v;
  v.kind_ = Kind::kCallable;
  v.callable_ = std::make_shared<const Callable>(Callable{std::move(name), std::move(fn)});
  return v;
}

Value Value::fromJson(const nlohmann::ordered_json& json) {
  switch (json.type()) {
    case nlohmann::ordered_json::value_t::null:
      return none();
    case nlohmann::ordered_json::value_t::boolean:
      return Value(json.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer:
      return Value(json.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned:
      return json.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX)
                 ? Value(static_cast<int64_t>(json.get<uint64_t>()))
                 : Value(json.get<double>());
    case nlohmann::ordered_json::value_t::number_float:
      return Value(json.get<double>());
    case nlohmann::ordered_json::value_t::string:
      return Value(json.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      ValueList items;
      items.reserve(json.size());
      for (const auto& item : json) items.push_back(fromJson(item));
      return list(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      ValueDict d;
      d.items.reserve(json.size());
      for (auto it = json.begin(); it != json.end(); ++it) {
        d.items.emplace_back(Value(it.key()), fromJson(it.value()));
      }
      return dict(std::move(d));
    }
    default:
      return none();
  }
}

int64_t Value::asInt() const {
  if (kind_ == Kind::kFloat) return static_cast<int64_t>(float_);
  return int_;
}

double Value::asFloat() const {
  if (kind_ == Kind::kFloat) return float_;
  return static_cast<double>(int_);
}

bool Value::truthy() const {
  switch (kind_) {
    case Kind::kUndefined:
    case Kind::kNone:
      return false;
    case Kind::kBool:
      return bool_;
    case Kind::kInt:
      return int_ != 0;
    case Kind::kFloat:
      return float_ != 0.0;
    case Kind::kString:
      return !string_->empty();
    case Kind::kList:
      return !list_->empty();
    case Kind::kDict:
      return !dict_->items.empty();
    default:
      return true;
  }
}

std::string formatFloat(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  if (value == 0) return std::signbit(value) ? "-0.0" : "0.0";
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::scientific);
  std::string sci(buffer, result.ptr);  // e.g. "-1.2345e+02", shortest round-trip digits
  bool negative = sci[0] == '-';
  if (negative) sci.erase(0, 1);
  size_t e = sci.find('e');
  int exponent = std::stoi(sci.substr(e + 1));
  std::string digits = sci.substr(0, e);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  std::string out = negative ? "-" : "";
  if (exponent < -4 || exponent >= 16) {
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char exp[16];
    std::snprintf(exp, sizeof(exp), "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    return out + exp;
  }
  if (exponent < 0) {
    return out + "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
  }
  size_t integer_digits = static_cast<size_t>(exponent) + 1;
  if (digits.size() <= integer_digits) {
    return out + digits + std::string(integer_digits - digits.size(), '0') + ".0";
  }
  return out + digits.substr(0, integer_digits) + "." + digits.substr(integer_digits);
}

std::string reprString(std::string_view s) {
  bool has_single = s.find('\'') != std::string_view::npos;
  bool has_double = s.find('"') != std::string_view::npos;
  char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (unsigned char c : s) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c == static_cast<unsigned char>(quote)) {
          out += '\\';
          out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7F) {
          char hex[8];
          std::snprintf(hex, sizeof(hex), "\\x%02x", c);
          out += hex;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += quote;
  return out;
}

std::string Value::str() const {
  switch (kind_) {
    case Kind::kUndefined:
      return "";
    case Kind::kString:
      return *string_;
    default:
      return repr();
  }
}

std::string Value::repr() const {
  switch (kind_) {
    case Kind::kUndefined:
      return "";
    case Kind::kNone:
      return "None";
    case Kind::kBool:
      return bool_ ? "True" : "False";
    case Kind::kInt:
      return std::to_string(int_);
    case Kind::kFloat:
      return formatFloat(float_);
    case Kind::kString:
      return reprString(*string_);
    case Kind::kList: {
      std::string out = bool_ ? "(" : "[";
      for (size_t i = 0; i < list_->size(); ++i) {
        if (i) out += ", ";
        out += (*list_)[i].repr();
      }
      if (bool_ && list_->size() == 1) out += ",";
      return out + (bool_ ? ")" : "]");
    }
    case Kind::kDict: {
      std::string out = "{";
      for (size_t i = 0; i < dict_->items.size(); ++i) {
        if (i) out += ", ";
        out += dict_->items[i].first.repr() + ": " + dict_->items[i].second.repr();
      }
      return out + "}";
    }
    case Kind::kNamespace:
      return "<Namespace>";
    case Kind::kCallable:
      return "<function " + callable_->name + ">";
  }
  return "";
}

std::string Value::typeName() const {
  switch (kind_) {
    case Kind::kUndefined: return "Undefined";
    case Kind::kNone: return "NoneType";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kFloat: return "float";
    case Kind::kString: return "str";
    case Kind::kList: return "list";
    case Kind::kDict: return "dict";
    case Kind::kNamespace: return "Namespace";
    case Kind::kCallable: return "function";
  }
  return "object";
}

std::string Value::objectDescription() const {
  if (kind_ == Kind::kNone) return "None";
  return "'" + typeName() + " object'";
}

namespace {

void appendJsonString(std::string& out, std::string_view s) {
  text::appendJsonString(out, s, /*ensureAscii=*/false);  // tojson: ensure_ascii=False
}

std::string jsonKey(const Value& key) {
  switch (key.kind()) {
    case Value::Kind::kString: return key.asString();
    case Value::Kind::kNone: return "null";
    case Value::Kind::kBool: return key.asBool() ? "true" : "false";
    case Value::Kind::kInt:
    case Value::Kind::kFloat: return key.repr();
    default:
      throw JinjaError{cat("keys must be str, int, float, bool or None, not ", key.typeName())};
  }
}

void appendJson(std::string& out, const Value& v, std::optional<int> indent, bool sort_keys,
                int level) {
  auto newline = [&](int depth) {
    out += '\n';
    out.append(static_cast<size_t>(*indent) * static_cast<size_t>(depth), ' ');
  };
  switch (v.kind()) {
    case Value::Kind::kNone: out += "null"; return;
    case Value::Kind::kBool: out += v.asBool() ? "true" : "false"; return;
    case Value::Kind::kInt: out += std::to_string(v.asInt()); return;
    case Value::Kind::kFloat: {
      double f = v.asFloat();
      if (std::isnan(f)) out += "NaN";
      else if (std::isinf(f)) out += f < 0 ? "-Infinity" : "Infinity";
      else out += formatFloat(f);
      return;
    }
    case Value::Kind::kString: appendJsonString(out, v.asString()); return;
    case Value::Kind::kList: {
      const auto& items = v.asList();
      if (items.empty()) { out += "[]"; return; }
      out += '[';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += indent ? "," : ", ";
        if (indent) newline(level + 1);
        appendJson(out, items[i], indent, sort_keys, level + 1);
      }
      if (indent) newline(level);
      out += ']';
      return;
    }
    case Value::Kind::kDict: {
      std::vector<std::pair<std::string, const Value*>> entries;
      for (const auto& [k, value] : v.asDict().items) entries.emplace_back(jsonKey(k), &value);
      if (entries.empty()) { out += "{}"; return; }
      if (sort_keys) {
        std::stable_sort(entries.begin(), entries.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
      }
      out += '{';
      for (size_t i = 0; i < entries.size(); ++i) {
        if (i) out += indent ? "," : ", ";
        if (indent) newline(level + 1);
        appendJsonString(out, entries[i].first);
        out += ": ";
        appendJson(out, *entries[i].second, indent, sort_keys, level + 1);
      }
      if (indent) newline(level);
      out += '}';
      return;
    }
    default:
      throw JinjaError{cat("Object of type ", v.typeName(), " is not JSON serializable")};
  }
}

}  // namespace

std::string Value::toJson(std::optional<int> indent, bool sort_keys) const {
  std::string out;
  appendJson(out, *this, indent, sort_keys, 0);
  return out;
}

ValueList Value::iterate() const {
  switch (kind_) {
    case Kind::kUndefined:
      return {};
    case Kind::kList:
      return *list_;
    case Kind::kDict: {
      ValueList keys;
      for (const auto& item : dict_->items) keys.push_back(item.first);
      return keys;
    }
    case Kind::kString: {
      ValueList chars;
      for (size_t i = 0; i < string_->size();) {
        size_t len = std::min(utf8SequenceLength(static_cast<unsigned char>((*string_)[i])),
                              string_->size() - i);
        chars.emplace_back(string_->substr(i, len));
        i += len;
      }
      return chars;
    }
    default:
      throw JinjaError{cat("'", typeName(), "' object is not iterable")};
  }
}

bool operator==(const Value& a, const Value& b) {
  if (a.isNumber() && b.isNumber()) {
    if (a.kind() == Value::Kind::kFloat || b.kind() == Value::Kind::kFloat) {
      return a.asFloat() == b.asFloat();
    }
    return a.asInt() == b.asInt();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone:
      return true;
    case Value::Kind::kString:
      return a.asString() == b.asString();
    case Value::Kind::kList:
      return a.asList() == b.asList();
    case Value::Kind::kDict: {
      const auto& x = a.asDict().items;
      const auto& y = b.asDict();
      if (x.size() != y.items.size()) return false;
      for (const auto& [k, v] : x) {
        const Value* other = y.find(k);
        if (other == nullptr || !(*other == v)) return false;
      }
      return true;
    }
    default:
      return a.identity() == b.identity();
  }
}

bool lessThan(const Value& a, const Value& b) {
  if (a.isNumber() && b.isNumber()) {
    if (a.kind() == Value::Kind::kFloat || b.kind() == Value::Kind::kFloat) {
      return a.asFloat() < b.asFloat();
    }
    return a.asInt() < b.asInt();
  }
  if (a.isString() && b.isString()) return a.asString() < b.asString();
  if (a.isList() && b.isList()) {
    const auto& x = a.asList();
    const auto& y = b.asList();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (x[i] != y[i]) return lessThan(x[i], y[i]);
    }
    return x.size() < y.size();
  }
  throw JinjaError{cat("'<' not supported between instances of '", a.typeName(), "' and '",
                       b.typeName(), "'")};
}

}  // namespace mvc::text::jinja
