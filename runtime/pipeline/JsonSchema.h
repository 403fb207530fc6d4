//===- JsonSchema.h - a JSON schema compiled for constrained decoding -----===//
//
// OpenAI's `response_format: {"type": "json_schema", ...}` (and `json_object`, the schema
// "any object"): the schema becomes a graph of nodes that JsonState walks byte by byte
// (runtime/pipeline/JsonConstraint.h). What compiles:
//   type (one or a list of object, array, string, number, integer, boolean, null),
//   enum, const, properties, required, additionalProperties (false, true or a schema),
//   items, minItems, maxItems, minLength, maxLength, anyOf whose alternatives have
//   different JSON types (integer and number count as one), local $ref into $defs / definitions (recursion included), and the
//   annotations (title, description, default, examples, $schema, $id, $comment).
// Keywords that constrain values in ways the automaton does not follow (pattern, format,
// minimum, uniqueItems, oneOf, allOf, ...) are refused by name, never ignored: output
// that the constraint lets through always validates against the schema.
//
// Generated text is compact where the schema leaves no choice: enum and const values are
// written as nlohmann::json dumps them (no inner whitespace), property names exactly as
// declared (so names with quotes, backslashes or control characters are refused).
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_PIPELINE_JSONSCHEMA_H
#define MVC_RUNTIME_PIPELINE_JSONSCHEMA_H

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json_fwd.hpp"

namespace mvc {

/// One schema: the JSON types it accepts and what it asks of each.
struct JsonSchemaNode {
  enum Type : uint8_t {
    kObject = 1,
    kArray = 2,
    kString = 4,
    kNumber = 8, // any number
    kInteger = 16,
    kBoolean = 32,
    kNull = 64,
    kAnyType = 127,
  };
  static constexpr int64_t kUnbounded = std::numeric_limits<int32_t>::max();
  static constexpr int32_t kNone = -1;

  uint8_t types = kAnyType;
  // Objects: declared properties sorted by name (bytes), their schemas, the required ones
  // (bit i: propertyNames[i]) and the schema of any other key (kNone: no other key).
  std::vector<std::string> propertyNames;
  std::vector<int32_t> propertyNodes;
  uint64_t required = 0;
  int32_t additional = 0;
  // Arrays.
  int32_t items = 0;
  int64_t minItems = 0, maxItems = kUnbounded;
  // Strings, in characters (code points).
  int64_t minLength = 0, maxLength = kUnbounded;
  // enum / const: the value is one of these texts (sorted, compact); empty: no such rule.
  std::vector<std::string> values;
  // anyOf: the alternatives, of different JSON types; the value follows the one its first
  // byte selects. Empty: no anyOf (the fields above apply).
  std::vector<int32_t> alternatives;
  // The JSON types a value may start as (integers as numbers), for anyOf's choice.
  uint8_t firstTypes = kAnyType;
  // The fewest automaton frames open at once that a value needs (an object or array
  // counts 1 plus what its required members or minimum items need; kNever: none can
  // finish), for values starting as an object, as an array, and any: the automaton opens
  // a value only where it can finish within JsonSchema::kMaxDepth frames.
  static constexpr int32_t kNever = 1 << 20;
  int32_t minObjectFrames = 1, minArrayFrames = 1, minFrames = 1;
};

class JsonSchema {
public:
  /// Node 0 of every schema: any JSON value.
  static constexpr int32_t kAny = 0;
  /// Most declared properties per object (a 64-bit seen/required mask) and most nesting.
  static constexpr size_t kMaxProperties = 64;
  static constexpr int kMaxDepth = 32;

  /// Compiles `schema`; errors name the keyword and where it is ("schema.properties.a").
  static absl::StatusOr<std::shared_ptr<const JsonSchema>> compile(const nlohmann::json &schema);
  /// json_object: an object with any members.
  static std::shared_ptr<const JsonSchema> anyObject();

  /// The JSON type a value starting with `c` has (kNumber | kInteger for numbers; 0 if
  /// no value starts so).
  static uint8_t typeOfFirstByte(unsigned char c);

  const JsonSchemaNode &node(int32_t index) const { return nodes[static_cast<size_t>(index)]; }
  int32_t root() const { return rootNode; }

private:
  friend class JsonSchemaCompiler;
  std::vector<JsonSchemaNode> nodes;
  int32_t rootNode = kAny;
};

} // namespace mvc

#endif // MVC_RUNTIME_PIPELINE_JSONSCHEMA_H
