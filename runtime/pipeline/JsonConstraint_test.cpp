// JSON constrained decoding: the byte automaton against valid and invalid texts (any
// object, and schemas), the schema compiler's refusals, the trie/fast-path mask against
// trying every token, and the constraint over a real (tiny byte-level) vocabulary driven
// by random logits: every text it lets through is accepted, and every ended one parses
// and validates (by a validator written here, independent of the automaton).
#include "runtime/pipeline/JsonConstraint.h"

#include <chrono>
#include <cmath>
#include <iostream>
#include <random>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "runtime/text/TestFixtures.h"
#include "runtime/text/Tokenizer.h"

namespace mvc {
namespace {

bool accepts(const std::string &text, bool *complete = nullptr) {
  JsonState state;
  bool ok = state.feed(text);
  if (complete)
    *complete = ok && state.complete();
  return ok;
}

TEST(JsonState, CompleteObjects) {
  for (const char *text : {
           "{}", " {\n}", R"({"a":1})", R"({"a": [1, -2.5e+3, 0, 0.5, 1E9, true, false, null]})",
           R"({"s": "x\u00e9\n\"\\\/ caf\u00E9 é \ud83d\ude00", "o": {"p": {}}, "l": [[], [{}]]})",
           R"({"k":-0.0e-0})"}) {
    SCOPED_TRACE(text);
    bool complete = false;
    EXPECT_TRUE(accepts(text, &complete));
    EXPECT_TRUE(complete);
    EXPECT_TRUE(nlohmann::json::accept(text));
  }
}

TEST(JsonState, PrefixesAndRefusals) {
  bool complete = true;
  EXPECT_TRUE(accepts(R"({"a": [1, {"b": "x)", &complete));
  EXPECT_FALSE(complete);
  EXPECT_TRUE(accepts(R"({"a": tr)", &complete));
  EXPECT_TRUE(accepts(R"({"a": -)"));
  EXPECT_TRUE(accepts(R"({"a": 1.)"));
  for (const char *text : {
           "[1]", "\"x\"", "1", "{1: 2}", R"({"a" 1})", R"({"a": 01})", R"({"a": 1.})",
           R"({"a": 1.e5})", R"({"a": +1})", R"({"a": tru })", R"({"a": nul1})", R"({"a": 1,})",
           R"({"a": [1,]})", R"({"a": 1}})", R"({"a": 1} x)", "{\"a\": \"\x01\"}",
           R"({"a": "\x"})", R"({"a": "\u12G4"})", R"({,})", R"({"a": 1 "b": 2})", "{} ",
           R"({"a": [1 2]})", "{\"a\": \"\xA4\"}", "{\"a\": \"\xC0\x80\"}",
           "{\"a\": \"\xED\xA0\x80\"}", "{\"\xF5\": 1}", "{\"a\": \"\xE2\x82\"",
           R"({"a": "\ud800"})", R"({"a": "\udc00"})", R"({"a": "\ud800\u0041"})",
           R"({"a": "\ud83d x"})"}) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(accepts(text));
  }
  // Whitespace runs: at most 2 line breaks and 20 spaces or tabs.
  EXPECT_TRUE(accepts("{\r\n" + std::string(20, ' ') + "}"));
  EXPECT_TRUE(accepts("{\n\t\n" + std::string(19, ' ') + "\"a\"" + std::string(20, ' ') + ":1}"));
  EXPECT_FALSE(accepts("{" + std::string(21, ' ') + "}"));
  EXPECT_FALSE(accepts("{\n\n\n}"));
}

TEST(JsonConstraint, RandomLogitsOverARealVocabularyStayValid) {
  absl::StatusOr<std::unique_ptr<text::Tokenizer>> tokenizer =
      text::Tokenizer::fromFile(MVC_TINY_TOKENIZER_DIR "/tokenizer.json");
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  const int64_t vocab = static_cast<int64_t>((*tokenizer)->vocabSize());
  const int32_t eos = *(*tokenizer)->tokenToId("<eos>");
  std::shared_ptr<const JsonVocabulary> words =
      JsonVocabulary::build(**tokenizer, vocab, std::vector<int32_t>{eos});
  std::mt19937 random(7);
  int ended = 0;
  for (int run = 0; run < 200; ++run) {
    JsonConstraint constraint(words);
    std::vector<int32_t> ids;
    // Logits favouring the structural bytes now and then, so objects close.
    std::normal_distribution<float> noise(0.0f, 2.0f);
    bool finished = false;
    for (int step = 0; step < 120 && !finished; ++step) {
      std::vector<float> logits(static_cast<size_t>(vocab));
      for (float &x : logits)
        x = noise(random);
      for (const char *favoured : {"}", "]", "\"", ":", ",", "1", "{"})
        if (std::optional<int32_t> id = (*tokenizer)->tokenToId(favoured))
          logits[*id] += step > 40 ? 6.0f : 2.0f;
      logits[eos] += 10.0f;
      constraint.mask(absl::MakeSpan(logits));
      int32_t best = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
      ASSERT_TRUE(std::isfinite(logits[best])) << "nothing allowed after " << ids.size() << " tokens";
      ASSERT_TRUE(constraint.accept(best).ok());
      if (best == eos) {
        finished = true;
        break;
      }
      ids.push_back(best);
    }
    const std::string text = (*tokenizer)->decode(ids, true);
    SCOPED_TRACE(text);
    EXPECT_TRUE(accepts(text)); // the decoded text is what the automaton read
    if (finished) {
      ++ended;
      EXPECT_TRUE(constraint.state().complete());
      nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
      EXPECT_TRUE(parsed.is_object());
    }
  }
  EXPECT_GT(ended, 20); // many runs close their object and end
}


std::shared_ptr<const JsonSchema> compiled(const char *schema) {
  absl::StatusOr<std::shared_ptr<const JsonSchema>> out =
      JsonSchema::compile(nlohmann::json::parse(schema));
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *out : JsonSchema::anyObject();
}

bool schemaAccepts(const JsonSchema &schema, const std::string &text, bool *complete = nullptr) {
  JsonState state(schema);
  bool ok = state.feed(text);
  if (complete)
    *complete = ok && state.complete();
  return ok;
}

constexpr const char *kPerson = R"({
  "type": "object",
  "properties": {
    "name": {"type": "string", "minLength": 1, "maxLength": 5},
    "age": {"type": "integer"},
    "tags": {"type": "array", "items": {"enum": ["a", "bc"]}, "minItems": 1, "maxItems": 2},
    "ok": {"type": "boolean"},
    "n": {"type": ["number", "null"]},
    "nam": {"const": 7}
  },
  "required": ["name", "age"],
  "additionalProperties": false})";

TEST(JsonSchema, ObjectsFollowTheSchema) {
  auto schema = compiled(kPerson);
  for (const char *text :
       {R"({"name":"abc","age":3})", R"({ "age" : -1, "name": "x", "tags": ["a", "bc"], "ok": true, "n": null})",
        R"({"name":"é\n\u","age":0,"n":1.5e3,"nam":7})", R"({"name":"\"\\","age":10})"}) {
    SCOPED_TRACE(text);
    bool complete = false;
    // "\u" in a length-counted string is refused: that text is checked as a prefix only.
    if (std::string(text).find("\\u") != std::string::npos) {
      EXPECT_FALSE(schemaAccepts(*schema, text));
      continue;
    }
    EXPECT_TRUE(schemaAccepts(*schema, text, &complete));
    EXPECT_TRUE(complete);
  }
  for (const char *text :
       {R"({"name":"","age":1})", R"({"name":"abcdef")", R"({"name":"a","age":1.5)",
        R"({"name":"a"})", R"({"x":1)", R"({"name":"a","name")", R"({"name":"a","age":1,"tags":[])",
        R"({"name":"a","age":1,"tags":["a","a",)", R"({"name":"a","age":1,"tags":["c")",
        R"({"ok":1)", R"({"nam":8)", R"({"nam":7,"nam")", R"({"n":"1")", R"([)", R"({"age":1e3)",
        R"({"name":"a","age":1,"ok":true,"n":null,"tags":["a"],"nam":7,)"}) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(schemaAccepts(*schema, text));
  }
  // A proper prefix of one declared name may be followed by more of another.
  EXPECT_TRUE(schemaAccepts(*schema, R"({"nam)"));
  EXPECT_TRUE(schemaAccepts(*schema, R"({"name)"));
  EXPECT_TRUE(schemaAccepts(*schema, R"({"nam":7,"name)"));
}

TEST(JsonSchema, RootsRefsAndAlternatives) {
  auto list = compiled(R"({
    "$defs": {"node": {"type": "object", "additionalProperties": false, "required": ["v", "next"],
      "properties": {"v": {"type": "integer"}, "next": {"anyOf": [{"$ref": "#/$defs/node"}, {"type": "null"}]}}}},
    "$ref": "#/$defs/node"})");
  bool complete = false;
  EXPECT_TRUE(schemaAccepts(*list, R"({"v":1,"next":{"v":2,"next":null}})", &complete));
  EXPECT_TRUE(complete);
  EXPECT_FALSE(schemaAccepts(*list, R"({"v":1,"next":{"v":2,"next":3)"));
  // A number at the root is complete while it may still grow; an enum value likewise.
  auto number = compiled(R"({"type": "number"})");
  EXPECT_TRUE(schemaAccepts(*number, "12", &complete));
  EXPECT_TRUE(complete);
  EXPECT_TRUE(schemaAccepts(*number, "12.", &complete));
  EXPECT_FALSE(complete);
  auto choice = compiled(R"({"enum": [1, 10, "x"]})");
  EXPECT_TRUE(schemaAccepts(*choice, "1", &complete));
  EXPECT_TRUE(complete);
  EXPECT_TRUE(schemaAccepts(*choice, "10", &complete));
  EXPECT_TRUE(complete);
  EXPECT_FALSE(schemaAccepts(*choice, "100"));
  EXPECT_FALSE(schemaAccepts(*choice, "\"y"));
}

TEST(JsonSchema, RefusesWhatItCannotFollow) {
  for (auto [schema, message] : std::vector<std::pair<const char *, const char *>>{
           {R"({"type": "string", "pattern": "a"})", "schema.pattern: this keyword is not supported"},
           {R"({"properties": {"a": {"minimum": 1}}})", "schema.properties.a.minimum: this keyword"},
           {R"({"anyOf": [{"type": "object"}, {"type": "object"}]})", "same JSON type"},
           {R"({"properties": {}, "required": ["a"]})", "required property \"a\" is not in properties"},
           {R"({"$ref": "#/$defs/missing"})", "names no definition"},
           {R"({"$ref": "http://x/y"})", "is not supported"},
           {R"({"properties": {"a": false}})", "schema.properties.a: the schema false matches nothing"},
           {R"({"type": "string", "minLength": 3, "maxLength": 2})", "minLength is above maxLength"},
           {R"({"type": "thing"})", "unknown type"},
           {R"({"enum": [1], "type": "string"})", "no enum/const value has an allowed type"},
           {R"({"properties": {"a\"b": {}}})", "needs escaping"},
           {R"({"items": [{}]})", "tuple items"},
           {R"({"maxItems": -1})", "schema.maxItems: expected a non-negative integer"},
           {R"(3)", "expected a schema object"},
           {R"({"type": "string", "enum": ["abcd"], "maxLength": 2})", "schema.maxLength: this keyword beside enum"},
           {R"({"anyOf": [{"type": "array"}], "minItems": 1})", "schema.minItems: keywords beside anyOf"},
           {R"({"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"})",
            "refers only to itself"},
           // Required members that recur without end: no finite value.
           {R"({"$defs": {"n": {"type": "object", "required": ["a"], "properties": {"a": {"$ref": "#/$defs/n"}}}},
               "$ref": "#/$defs/n"})", "no finite JSON value"}}) {
    SCOPED_TRACE(schema);
    absl::StatusOr<std::shared_ptr<const JsonSchema>> out =
        JsonSchema::compile(nlohmann::json::parse(schema));
    ASSERT_FALSE(out.ok());
    EXPECT_NE(out.status().message().find(message), std::string::npos) << out.status();
  }
}

TEST(JsonSchema, DeepSchemasNeverDeadEnd) {
  // 33 nested required objects cannot fit 32 frames: refused when compiled.
  std::string deep = R"({"type": "integer"})";
  for (int i = 0; i < 33; ++i)
    deep = R"({"type": "object", "required": ["a"], "properties": {"a": )" + deep + "}}";
  absl::StatusOr<std::shared_ptr<const JsonSchema>> refused =
      JsonSchema::compile(nlohmann::json::parse(deep));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("nest at least 34 levels"), std::string::npos)
      << refused.status();
  // A recursive list: the automaton stops opening nodes where one could no longer close,
  // and every text it lets through can still be completed.
  auto list = compiled(R"({
    "$defs": {"node": {"type": "object", "additionalProperties": false, "required": ["v", "next"],
      "properties": {"v": {"type": "integer"}, "next": {"anyOf": [{"$ref": "#/$defs/node"}, {"type": "null"}]}}}},
    "$ref": "#/$defs/node"})");
  JsonState state(*list);
  int opened = 0;
  for (JsonState next = state; next.feed(std::string(R"({"v":1,"next":)")); next = state) {
    state = next;
    ++opened;
  }
  // Each node needs its own frame and one for its members: 31 objects, then null.
  EXPECT_EQ(opened, JsonSchema::kMaxDepth - 1);
  EXPECT_TRUE(state.feed("null" + std::string(static_cast<size_t>(opened), '}')));
  EXPECT_TRUE(state.complete());
  // A $ref whose definition is a $ref still being compiled keeps the definition's rules.
  auto alias = compiled(R"({"$defs": {"a": {"$ref": "#/$defs/b"},
    "b": {"type": "object", "additionalProperties": false, "properties": {"x": {"$ref": "#/$defs/a"}}}},
    "$ref": "#/$defs/b"})");
  EXPECT_FALSE(schemaAccepts(*alias, R"({"x": 5)"));
  bool complete = false;
  EXPECT_TRUE(schemaAccepts(*alias, R"({"x": {"x": {}}})", &complete));
  EXPECT_TRUE(complete);
}

/// An independent validator for the keywords JsonSchema compiles (no $ref here).
bool validates(const nlohmann::json &value, const nlohmann::json &schema) {
  if (schema.contains("anyOf")) {
    for (const auto &alternative : schema["anyOf"])
      if (validates(value, alternative))
        return true;
    return false;
  }
  if (schema.contains("enum") &&
      std::find(schema["enum"].begin(), schema["enum"].end(), value) == schema["enum"].end())
    return false;
  if (schema.contains("const") && value != schema["const"])
    return false;
  if (schema.contains("type")) {
    std::vector<std::string> types;
    if (schema["type"].is_array())
      types = schema["type"].get<std::vector<std::string>>();
    else
      types.push_back(schema["type"].get<std::string>());
    bool any = false;
    for (const std::string &t : types)
      any = any || (t == "object" && value.is_object()) || (t == "array" && value.is_array()) ||
            (t == "string" && value.is_string()) || (t == "number" && value.is_number()) ||
            (t == "integer" && value.is_number_integer()) ||
            (t == "boolean" && value.is_boolean()) || (t == "null" && value.is_null());
    if (!any)
      return false;
  }
  if (value.is_string()) {
    // Length in code points.
    int64_t chars = 0;
    for (unsigned char c : value.get<std::string>())
      chars += (c & 0xC0) != 0x80;
    if (chars < schema.value("minLength", int64_t{0}) ||
        chars > schema.value("maxLength", int64_t{1} << 40))
      return false;
  }
  if (value.is_array()) {
    const int64_t size = static_cast<int64_t>(value.size());
    if (size < schema.value("minItems", int64_t{0}) || size > schema.value("maxItems", int64_t{1} << 40))
      return false;
    if (schema.contains("items"))
      for (const auto &item : value)
        if (!validates(item, schema["items"]))
          return false;
  }
  if (value.is_object()) {
    const nlohmann::json properties = schema.value("properties", nlohmann::json::object());
    for (const auto &name : schema.value("required", nlohmann::json::array()))
      if (!value.contains(name.get<std::string>()))
        return false;
    for (auto it = value.begin(); it != value.end(); ++it) {
      if (properties.contains(it.key())) {
        if (!validates(it.value(), properties[it.key()]))
          return false;
      } else if (schema.contains("additionalProperties")) {
        const nlohmann::json &extra = schema["additionalProperties"];
        if (extra.is_boolean() ? !extra.get<bool>() : !validates(it.value(), extra))
          return false;
      }
    }
  }
  return true;
}

struct TinyVocabulary {
  std::unique_ptr<text::Tokenizer> tokenizer;
  std::shared_ptr<const JsonVocabulary> words;
  int32_t eos = 0;
};

TinyVocabulary vocabularyOf(absl::StatusOr<std::unique_ptr<text::Tokenizer>> tokenizer) {
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status();
  TinyVocabulary out;
  if (!tokenizer.ok())
    return out;
  out.tokenizer = *std::move(tokenizer);
  out.eos = *out.tokenizer->tokenToId("<eos>");
  out.words = JsonVocabulary::build(*out.tokenizer,
                                    static_cast<int64_t>(out.tokenizer->vocabSize()),
                                    std::vector<int32_t>{out.eos});
  return out;
}

TinyVocabulary tinyVocabulary() {
  return vocabularyOf(text::Tokenizer::fromFile(MVC_TINY_TOKENIZER_DIR "/tokenizer.json"));
}

/// Generates under `schema` from random logits (structural bytes favoured); checks the
/// mask at every step against trying every token alone; returns the texts and whether
/// each ended.
std::vector<std::pair<std::string, bool>> generate(const TinyVocabulary &v,
                                                   const std::shared_ptr<const JsonSchema> &schema,
                                                   int runs, int steps, uint32_t seed,
                                                   int checkedSteps = 1 << 30,
                                                   double *maskSeconds = nullptr,
                                                   int *masks = nullptr) {
  std::mt19937 random(seed);
  std::normal_distribution<float> noise(0.0f, 2.0f);
  std::vector<std::pair<std::string, bool>> out;
  const size_t vocab = v.words->tokens.size();
  for (int run = 0; run < runs; ++run) {
    JsonConstraint constraint(v.words, schema);
    std::vector<int32_t> ids;
    bool finished = false;
    for (int step = 0; step < steps && !finished; ++step) {
      // The trie walk and the free-text fast path against every token tried alone.
      const std::vector<uint8_t> allowed = constraint.allowedTokens();
      for (size_t id = 0; id < vocab && step < checkedSteps; ++id) {
        JsonConstraint alone = constraint;
        const bool followed = alone.accept(static_cast<int32_t>(id)).ok();
        EXPECT_EQ(static_cast<bool>(allowed[id]), followed)
            << "token " << id << " after " << v.tokenizer->decode(ids, true);
      }
      std::vector<float> logits(vocab);
      for (float &x : logits)
        x = noise(random);
      for (const char *favoured : {"}", "]", "\"", ":", ",", "1", "{", "t", "a"})
        if (std::optional<int32_t> id = v.tokenizer->tokenToId(favoured))
          logits[static_cast<size_t>(*id)] += step > 40 ? 6.0f : step > 10 ? 2.0f : 0.0f;
      logits[static_cast<size_t>(v.eos)] += 10.0f;
      const auto start = std::chrono::steady_clock::now();
      constraint.mask(absl::MakeSpan(logits));
      if (masks)
        ++*masks;
      if (maskSeconds)
        *maskSeconds +=
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const int32_t best =
          static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
      EXPECT_TRUE(std::isfinite(logits[static_cast<size_t>(best)]))
          << "nothing allowed after " << v.tokenizer->decode(ids, true);
      EXPECT_TRUE(constraint.accept(best).ok());
      if (best == v.eos)
        finished = true;
      else
        ids.push_back(best);
    }
    out.emplace_back(v.tokenizer->decode(ids, true), finished);
  }
  return out;
}

TEST(JsonConstraint, SchemaOutputsValidate) {
  const TinyVocabulary v = tinyVocabulary();
  const nlohmann::json person = nlohmann::json::parse(kPerson);
  int ended = 0;
  for (const auto &[text, finished] : generate(v, compiled(kPerson), 60, 120, 11)) {
    SCOPED_TRACE(text);
    EXPECT_TRUE(schemaAccepts(*compiled(kPerson), text));
    if (finished) {
      ++ended;
      nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
      ASSERT_FALSE(parsed.is_discarded());
      EXPECT_TRUE(validates(parsed, person));
    }
  }
  EXPECT_GT(ended, 10);
  // Free text everywhere (json_object): keys and strings take the fast path.
  for (const auto &[text, finished] : generate(v, JsonSchema::anyObject(), 20, 80, 5))
    if (finished)
      EXPECT_TRUE(nlohmann::json::parse(text, nullptr, false).is_object()) << text;
}

// Gemma 3's real 262k SentencePiece vocabulary (word pieces keep their space): outputs
// validate, and the masks of the first steps equal trying every token alone. Prints the
// mean time per mask (not asserted: speed lives in benchmarks).
TEST(JsonConstraint, SchemaOverTheRealGemmaVocabulary) {
  // The project's copy (tests/fixtures/tokenizers, gzip), else ../shared/fixtures.
  std::optional<std::string> json = text::testing::readFixture("gemma3/tokenizer.json");
  ASSERT_TRUE(json) << "no gemma3/tokenizer.json in " << text::testing::fixtureSearchPath();
  const TinyVocabulary v = vocabularyOf(text::Tokenizer::fromJson(*json));
  const nlohmann::json person = nlohmann::json::parse(kPerson);
  double seconds = 0;
  int steps = 0, ended = 0;
  for (const auto &[text, finished] :
       generate(v, compiled(kPerson), 4, 150, 3, 4, &seconds, &steps)) {
    SCOPED_TRACE(text);
    EXPECT_TRUE(schemaAccepts(*compiled(kPerson), text));
    if (finished) {
      ++ended;
      nlohmann::json parsed = nlohmann::json::parse(text, nullptr, false);
      ASSERT_FALSE(parsed.is_discarded());
      EXPECT_TRUE(validates(parsed, person));
    }
  }
  EXPECT_GT(ended, 0);
  std::cout << "gemma3 vocabulary: " << seconds << " s of masking over 4 runs (" << steps << " steps)\n";
}

} // namespace
} // namespace mvc
