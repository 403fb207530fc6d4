// Values of the Jinja engine: Python's data model as far as chat templates observe it
// (str/repr, truthiness, ==, ordering, json.dumps), with Jinja's lenient Undefined.
#ifndef MVC_RUNTIME_TEXT_JINJA_VALUE_H_
#define MVC_RUNTIME_TEXT_JINJA_VALUE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nlohmann/json.hpp"

namespace mvc::text::jinja {

class Value;
using ValueList = std::vector<Value>;

// A dict that keeps insertion order (Python 3.7+ semantics).
struct ValueDict {
  std::vector<std::pair<Value, Value>> items;
  const Value* find(const Value& key) const;
  void set(Value key, Value value);
};

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};

// Builtins, bound methods and macros. Errors are reported by throwing (see JinjaError).
struct Callable {
  std::string name;
  std::function<Value(CallArgs&)> call;
};

// Raised inside the engine; the renderer attaches the line and column of the failing node.
struct JinjaError {
  std::string message;
  bool located = false;  // message already starts with "line L, column C: "
};

class Value {
 public:
  enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kNamespace, kCallable };

  Value() = default;  // Undefined
  static Value undefined(std::string hint = {});
  static Value none();
  Value(bool b);  // NOLINT: implicit, like Python literals
  Value(int64_t i);  // NOLINT
  Value(int i) : Value(static_cast<int64_t>(i)) {}  // NOLINT
  Value(double f);  // NOLINT
  Value(std::string s);  // NOLINT
  Value(const char* s) : Value(std::string(s)) {}  // NOLINT
  static Value list(ValueList items);
  static Value tuple(ValueList items);  // a list that prints as (a, b)
  static Value dict(ValueDict dict);
  static Value namespaceObject(ValueDict attributes);
  static Value callable(std::string name, std::function<Value(CallArgs&)> fn);
  static Value fromJson(const nlohmann::ordered_json& json);

  Kind kind() const { return kind_; }
  bool isUndefined() const { return kind_ == Kind::kUndefined; }
  bool isNone() const { return kind_ == Kind::kNone; }
  bool isString() const { return kind_ == Kind::kString; }
  bool isNumber() const { return kind_ == Kind::kInt || kind_ == Kind::kFloat || kind_ == Kind::kBool; }
  bool isList() const { return kind_ == Kind::kList; }
  bool isDict() const { return kind_ == Kind::kDict; }

  bool asBool() const { return bool_; }
  int64_t asInt() const;  // bool/int/float
  double asFloat() const;
  const std::string& asString() const { return *string_; }
  const ValueList& asList() const { return *list_; }
  const ValueDict& asDict() const { return *dict_; }
  ValueDict& mutableNamespace() const { return *dict_; }
  const Callable& asCallable() const { return *callable_; }
  // The name an Undefined was looked up by, for error messages.
  std::string undefinedHint() const {
    return string_ && !string_->empty() ? *string_ : "undefined value";
  }
  // Object identity of namespaces and callables (Python's `is`).
  const void* identity() const {
    return kind_ == Kind::kCallable ? static_cast<const void*>(callable_.get()) : dict_.get();
  }

  bool truthy() const;
  // Python's str(): what {{ value }} prints ("" for Undefined).
  std::string str() const;
  // Python's repr() (used by str() of containers).
  std::string repr() const;
  // Python's type name, for error messages ("str", "list", "dict", ...).
  std::string typeName() const;
  // Jinja's description of an object in attribute errors ("'list object'").
  std::string objectDescription() const;

  // json.dumps(value, ensure_ascii=False, indent=indent, sort_keys=sort_keys); throws
  // JinjaError for values JSON cannot represent.
  std::string toJson(std::optional<int> indent, bool sort_keys) const;

  // Iteration as Python's iter(): list items, dict keys, string characters; throws otherwise.
  ValueList iterate() const;

 private:
  Kind kind_ = Kind::kUndefined;
  bool bool_ = false;  // for lists: is a tuple
  int64_t int_ = 0;
  double float_ = 0;
  std::shared_ptr<const std::string> string_;
  std::shared_ptr<const ValueList> list_;
  std::shared_ptr<ValueDict> dict_;
  std::shared_ptr<const Callable> callable_;
};

bool operator==(const Value& a, const Value& b);
inline bool operator!=(const Value& a, const Value& b) { return !(a == b); }
// Python's `<`; throws JinjaError for unorderable types.
bool lessThan(const Value& a, const Value& b);

// Python float repr ("1.0", "1e+16", "0.1").
std::string formatFloat(double value);
// Python's repr of a str.
std::string reprString(std::string_view s);

}  // namespace mvc::text::jinja

#endif  // MVC_RUNTIME_TEXT_JINJA_VALUE_H_
