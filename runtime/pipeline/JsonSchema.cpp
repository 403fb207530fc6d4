#include "runtime/pipeline/JsonSchema.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "runtime/util/StatusMacros.h"

namespace mvc {

using Json = nlohmann::json;

/// Turns schema objects into nodes; $refs resolve against the document's root.
class JsonSchemaCompiler {
public:
  explicit JsonSchemaCompiler(const Json &document) : document(document) {
    schema.nodes.emplace_back(); // kAny
  }

  absl::StatusOr<std::shared_ptr<const JsonSchema>> run() {
    absl::StatusOr<int32_t> root = compile(document, "schema", 0);
    if (!root.ok())
      return root.status();
    schema.rootNode = *root;
    MVC_RETURN_IF_ERROR(resolveAliases());
    std::vector<uint8_t> state(schema.nodes.size(), 0);
    for (size_t i = 0; i < schema.nodes.size(); ++i) {
      absl::StatusOr<uint8_t> types = firstTypes(static_cast<int32_t>(i), state);
      if (!types.ok())
        return types.status();
    }
    computeFrameCosts();
    const int32_t rootCost = schema.nodes[static_cast<size_t>(schema.rootNode)].minFrames;
    if (rootCost >= JsonSchemaNode::kNever)
      return bad("schema", "no finite JSON value satisfies it (required properties or items "
                           "that recur without end)");
    if (rootCost > JsonSchema::kMaxDepth)
      return bad("schema", absl::StrCat("its values nest at least ", rootCost,
                                        " levels deep; at most ", JsonSchema::kMaxDepth,
                                        " are supported"));
    return std::make_shared<const JsonSchema>(std::move(schema));
  }

private:
  static absl::Status bad(const std::string &where, const std::string &what) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", what));
  }

  /// A non-negative integer keyword, or the error.
  static absl::Status readCount(const Json &object, const char *key, const std::string &where,
                                int64_t &out) {
    auto it = object.find(key);
    if (it == object.end())
      return absl::OkStatus();
    if (!it->is_number_integer() || *it < 0 || *it > JsonSchemaNode::kUnbounded)
      return bad(absl::StrCat(where, ".", key), "expected a non-negative integer");
    out = it->get<int64_t>();
    return absl::OkStatus();
  }

  static absl::StatusOr<uint8_t> typeBit(const Json &name, const std::string &where) {
    static const std::map<std::string, uint8_t> kTypes = {
        {"object", JsonSchemaNode::kObject},   {"array", JsonSchemaNode::kArray},
        {"string", JsonSchemaNode::kString},   {"number", JsonSchemaNode::kNumber},
        {"integer", JsonSchemaNode::kInteger}, {"boolean", JsonSchemaNode::kBoolean},
        {"null", JsonSchemaNode::kNull}};
    auto it = name.is_string() ? kTypes.find(name.get<std::string>()) : kTypes.end();
    if (it == kTypes.end())
      return bad(where, absl::StrCat("unknown type ", name.dump()));
    return it->second;
  }

  /// The JSON types a value has (integers are numbers too).
  static uint8_t typesOf(const Json &value) {
    switch (value.type()) {
    case Json::value_t::object:
      return JsonSchemaNode::kObject;
    case Json::value_t::array:
      return JsonSchemaNode::kArray;
    case Json::value_t::string:
      return JsonSchemaNode::kString;
    case Json::value_t::boolean:
      return JsonSchemaNode::kBoolean;
    case Json::value_t::null:
      return JsonSchemaNode::kNull;
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return JsonSchemaNode::kNumber | JsonSchemaNode::kInteger;
    default:
      return JsonSchemaNode::kNumber;
    }
  }

  absl::StatusOr<int32_t> resolve(const std::string &ref, const std::string &where, int depth) {
    auto known = refs.find(ref);
    if (known != refs.end())
      return known->second;
    for (const std::string section : {"$defs", "definitions"}) {
      const std::string prefix = "#/" + section + "/";
      if (ref.compare(0, prefix.size(), prefix) != 0)
        continue;
      const std::string name = ref.substr(prefix.size());
      const Json *defs = nullptr;
      auto it = document.is_object() ? document.find(section) : document.end();
      if (it != document.end() && it->is_object())
        defs = &*it;
      if (!defs || !defs->contains(name))
        return bad(where, absl::StrCat("$ref ", ref, " names no definition"));
      // Reserve the node first so that a definition may refer to itself.
      const int32_t index = static_cast<int32_t>(schema.nodes.size());
      schema.nodes.emplace_back();
      refs[ref] = index;
      absl::StatusOr<int32_t> body =
          compile(defs->at(name), absl::StrCat("schema.", section, ".", name), depth);
      if (!body.ok())
        return body.status();
      // The body may itself be a $ref still being compiled: copied once all nodes exist.
      aliases.emplace_back(index, *body);
      return index;
    }
    return bad(where, absl::StrCat("$ref ", ref,
                                   " is not supported (only #/$defs/NAME and #/definitions/NAME)"));
  }

  static bool isAnnotation(const std::string &key) {
    for (const char *annotation : {"title", "description", "$comment", "$defs", "definitions",
                                   "default", "examples", "$schema", "$id", "deprecated",
                                   "readOnly", "writeOnly"})
      if (key == annotation)
        return true;
    return false;
  }

  /// Each $ref node becomes a copy of what its definition compiled to, following chains of
  /// definitions that are $refs themselves.
  absl::Status resolveAliases() {
    std::map<int32_t, int32_t> target(aliases.begin(), aliases.end());
    for (const auto &[index, body] : aliases) {
      int32_t at = body;
      for (size_t steps = 0; target.count(at); ++steps) {
        if (steps > target.size())
          return bad("schema", "a $ref chain refers only to itself");
        at = target[at];
      }
      schema.nodes[static_cast<size_t>(index)] = schema.nodes[static_cast<size_t>(at)];
    }
    return absl::OkStatus();
  }

  /// The fewest automaton frames a value of each node needs open at once (an object or
  /// array frame, plus what its required members or minimum items need; a scalar one),
  /// as a fixed point over the node graph (kNever: no finite value).
  void computeFrameCosts() {
    using Node = JsonSchemaNode;
    auto add = [](int32_t a, int32_t b) { return std::min<int32_t>(Node::kNever, a + b); };
    for (Node &node : schema.nodes) // from "never" down to the least fixed point
      node.minObjectFrames = node.minArrayFrames = node.minFrames = Node::kNever;
    for (bool changed = true; changed;) {
      changed = false;
      for (Node &node : schema.nodes) {
        int32_t object = Node::kNever, array = Node::kNever, cost = Node::kNever;
        if (!node.alternatives.empty()) {
          for (int32_t alternative : node.alternatives)
            cost = std::min(cost, schema.nodes[static_cast<size_t>(alternative)].minFrames);
        } else if (!node.values.empty()) {
          cost = 1; // matched as one text
        } else {
          if (node.types & Node::kObject) {
            object = 2; // the object and a key
            for (size_t i = 0; i < node.propertyNames.size(); ++i)
              if (node.required >> i & 1)
                object = std::max(object, add(1, schema.nodes[static_cast<size_t>(
                                                     node.propertyNodes[i])].minFrames));
            if (node.required == 0)
              object = 1;
          }
          if (node.types & Node::kArray)
            array = node.minItems > 0
                        ? add(1, schema.nodes[static_cast<size_t>(node.items)].minFrames)
                        : 1;
          cost = std::min(object, array);
          if (node.types & ~(Node::kObject | Node::kArray))
            cost = 1;
        }
        if (object != node.minObjectFrames || array != node.minArrayFrames ||
            cost != node.minFrames) {
          node.minObjectFrames = object;
          node.minArrayFrames = array;
          node.minFrames = cost;
          changed = true;
        }
      }
    }
  }

  /// anyOf: a node over its alternatives (their types are checked once all nodes exist,
  /// since a $ref may still be under construction here).
  absl::StatusOr<int32_t> alternativesOf(const Json &alternatives, const std::string &where,
                                         int depth) {
    if (!alternatives.is_array() || alternatives.empty())
      return bad(where, "expected a non-empty array of schemas");
    JsonSchemaNode node;
    for (size_t i = 0; i < alternatives.size(); ++i) {
      const std::string at = absl::StrCat(where, "[", i, "]");
      absl::StatusOr<int32_t> index = compile(alternatives[i], at, depth + 1);
      if (!index.ok())
        return index.status();
      node.alternatives.push_back(*index);
      alternativeWhere[*index] = at;
    }
    schema.nodes.push_back(std::move(node));
    return static_cast<int32_t>(schema.nodes.size() - 1);
  }

  /// The types a node's values start as; an anyOf's alternatives must not share one.
  absl::StatusOr<uint8_t> firstTypes(int32_t index, std::vector<uint8_t> &state) {
    // state: 0 not visited, 1 in progress, 2 done.
    JsonSchemaNode &node = schema.nodes[static_cast<size_t>(index)];
    if (state[static_cast<size_t>(index)] == 2)
      return node.firstTypes;
    if (state[static_cast<size_t>(index)] == 1)
      return bad("schema", "an anyOf contains itself");
    state[static_cast<size_t>(index)] = 1;
    uint8_t types = 0;
    if (!node.alternatives.empty()) {
      for (int32_t alternative : node.alternatives) {
        absl::StatusOr<uint8_t> t = firstTypes(alternative, state);
        if (!t.ok())
          return t.status();
        if (*t & types)
          return bad(alternativeWhere[alternative],
                     "anyOf alternatives of the same JSON type are not supported");
        types |= *t;
      }
    } else if (!node.values.empty()) {
      for (const std::string &value : node.values)
        types |= JsonSchema::typeOfFirstByte(static_cast<unsigned char>(value[0]));
    } else {
      types = node.types;
      if (types & (JsonSchemaNode::kNumber | JsonSchemaNode::kInteger))
        types |= JsonSchemaNode::kNumber | JsonSchemaNode::kInteger;
    }
    node.firstTypes = types;
    state[static_cast<size_t>(index)] = 2;
    return types;
  }

  absl::StatusOr<int32_t> compile(const Json &value, const std::string &where, int depth) {
    if (depth > 4 * JsonSchema::kMaxDepth)
      return bad(where, "the schema nests too deeply");
    if (value.is_boolean()) {
      if (!value.get<bool>())
        return bad(where, "the schema false matches nothing");
      return JsonSchema::kAny;
    }
    if (!value.is_object())
      return bad(where, "expected a schema object");
    for (const char *keyword :
         {"pattern", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
          "multipleOf", "uniqueItems", "oneOf", "allOf", "not", "if", "then", "else",
          "patternProperties", "propertyNames", "prefixItems", "contains", "minContains",
          "maxContains", "minProperties", "maxProperties", "dependentRequired",
          "dependentSchemas", "dependencies", "unevaluatedProperties", "unevaluatedItems",
          "additionalItems", "contentEncoding", "contentMediaType", "$dynamicRef",
          "$recursiveRef"})
      if (value.contains(keyword))
        return bad(absl::StrCat(where, ".", keyword), "this keyword is not supported");
    if (auto ref = value.find("$ref"); ref != value.end()) {
      if (!ref->is_string())
        return bad(where + ".$ref", "expected a string");
      for (auto &[key, unused] : value.items())
        if (key != "$ref" && !isAnnotation(key))
          return bad(absl::StrCat(where, ".", key), "keywords beside $ref are not supported");
      return resolve(ref->get<std::string>(), where + ".$ref", depth + 1);
    }
    if (auto any = value.find("anyOf"); any != value.end()) {
      for (auto &[key, unused] : value.items())
        if (key != "anyOf" && !isAnnotation(key))
          return bad(absl::StrCat(where, ".", key), "keywords beside anyOf are not supported");
      return alternativesOf(*any, where + ".anyOf", depth);
    }

    JsonSchemaNode node;
    if (auto type = value.find("type"); type != value.end()) {
      node.types = 0;
      if (type->is_array()) {
        for (const Json &name : *type) {
          absl::StatusOr<uint8_t> bit = typeBit(name, where + ".type");
          if (!bit.ok())
            return bit.status();
          node.types |= *bit;
        }
      } else {
        absl::StatusOr<uint8_t> bit = typeBit(*type, where + ".type");
        if (!bit.ok())
          return bit.status();
        node.types = *bit;
      }
      if (node.types == 0)
        return bad(where + ".type", "no type allowed");
    }
    // enum / const: the allowed values, of the allowed types.
    std::vector<Json> allowed;
    if (auto list = value.find("enum"); list != value.end()) {
      if (!list->is_array() || list->empty())
        return bad(where + ".enum", "expected a non-empty array");
      allowed.assign(list->begin(), list->end());
    }
    if (auto constant = value.find("const"); constant != value.end()) {
      if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), *constant) == allowed.end())
        return bad(where + ".const", "the const value is not in enum");
      allowed.assign(1, *constant);
    }
    if (!allowed.empty())
      for (const char *key : {"properties", "required", "additionalProperties", "items",
                              "minItems", "maxItems", "minLength", "maxLength"})
        if (value.contains(key))
          return bad(absl::StrCat(where, ".", key),
                     "this keyword beside enum or const is not supported (list only the "
                     "values that satisfy it)");
    for (const Json &v : allowed) {
      if (typesOf(v) & node.types & ~(v.is_number_float() ? JsonSchemaNode::kInteger : 0))
        node.values.push_back(v.dump());
    }
    if (!allowed.empty()) {
      if (node.values.empty())
        return bad(where, "no enum/const value has an allowed type");
      std::sort(node.values.begin(), node.values.end());
      node.values.erase(std::unique(node.values.begin(), node.values.end()), node.values.end());
    }

    if (auto properties = value.find("properties"); properties != value.end()) {
      if (!properties->is_object())
        return bad(where + ".properties", "expected an object");
      if (properties->size() > JsonSchema::kMaxProperties)
        return bad(where + ".properties",
                   absl::StrCat("more than ", JsonSchema::kMaxProperties, " properties"));
      for (auto &[name, unused] : properties->items()) {
        for (unsigned char c : name)
          if (c == '"' || c == '\\' || c < 0x20)
            return bad(absl::StrCat(where, ".properties"),
                       absl::StrCat("property name ", Json(name).dump(),
                                    " has a character that needs escaping (not supported)"));
        node.propertyNames.push_back(name);
      }
      std::sort(node.propertyNames.begin(), node.propertyNames.end());
      for (const std::string &name : node.propertyNames) {
        absl::StatusOr<int32_t> child =
            compile(properties->at(name), absl::StrCat(where, ".properties.", name), depth + 1);
        if (!child.ok())
          return child.status();
        node.propertyNodes.push_back(*child);
      }
    }
    if (auto required = value.find("required"); required != value.end()) {
      if (!required->is_array())
        return bad(where + ".required", "expected an array of property names");
      for (const Json &name : *required) {
        auto it = name.is_string() ? std::find(node.propertyNames.begin(),
                                               node.propertyNames.end(), name.get<std::string>())
                                   : node.propertyNames.end();
        if (it == node.propertyNames.end())
          return bad(where + ".required",
                     absl::StrCat("required property ", name.dump(), " is not in properties"));
        node.required |= uint64_t{1} << (it - node.propertyNames.begin());
      }
    }
    if (auto additional = value.find("additionalProperties"); additional != value.end()) {
      if (additional->is_boolean() && !additional->get<bool>()) {
        node.additional = JsonSchemaNode::kNone;
      } else {
        absl::StatusOr<int32_t> child =
            compile(*additional, where + ".additionalProperties", depth + 1);
        if (!child.ok())
          return child.status();
        node.additional = *child;
      }
    }
    if (auto items = value.find("items"); items != value.end()) {
      if (items->is_array())
        return bad(where + ".items", "tuple items (an array of schemas) are not supported");
      absl::StatusOr<int32_t> child = compile(*items, where + ".items", depth + 1);
      if (!child.ok())
        return child.status();
      node.items = *child;
    }
    for (absl::Status status :
         {readCount(value, "minItems", where, node.minItems),
          readCount(value, "maxItems", where, node.maxItems),
          readCount(value, "minLength", where, node.minLength),
          readCount(value, "maxLength", where, node.maxLength)})
      if (!status.ok())
        return status;
    if (node.minItems > node.maxItems)
      return bad(where, "minItems is above maxItems");
    if (node.minLength > node.maxLength)
      return bad(where, "minLength is above maxLength");
    schema.nodes.push_back(std::move(node));
    return static_cast<int32_t>(schema.nodes.size() - 1);
  }

  const Json &document;
  JsonSchema schema;
  std::map<std::string, int32_t> refs;
  std::vector<std::pair<int32_t, int32_t>> aliases; // $ref node -> its definition's node
  std::map<int32_t, std::string> alternativeWhere;  // for errors
};

uint8_t JsonSchema::typeOfFirstByte(unsigned char c) {
  switch (c) {
  case '{':
    return JsonSchemaNode::kObject;
  case '[':
    return JsonSchemaNode::kArray;
  case '"':
    return JsonSchemaNode::kString;
  case 't':
  case 'f':
    return JsonSchemaNode::kBoolean;
  case 'n':
    return JsonSchemaNode::kNull;
  default:
    return c == '-' || (c >= '0' && c <= '9') ? JsonSchemaNode::kNumber | JsonSchemaNode::kInteger
                                              : 0;
  }
}

absl::StatusOr<std::shared_ptr<const JsonSchema>> JsonSchema::compile(const Json &schema) {
  return JsonSchemaCompiler(schema).run();
}

std::shared_ptr<const JsonSchema> JsonSchema::anyObject() {
  static const std::shared_ptr<const JsonSchema> object = [] {
    absl::StatusOr<std::shared_ptr<const JsonSchema>> compiled =
        compile(Json{{"type", "object"}});
    return *compiled;
  }();
  return object;
}

} // namespace mvc
