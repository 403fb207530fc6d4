// The engine's Jinja2 semantics and its sandbox limits, through the ChatTemplate API.
#include <gtest/gtest.h>

#include "runtime/text/ChatTemplate.h"

namespace mvc::text {
namespace {

using nlohmann::ordered_json;

absl::StatusOr<std::string> render(std::string_view source, const ordered_json& variables = ordered_json::object(),
                                   const jinja::Limits& limits = {}) {
  auto chat = ChatTemplate::parse(source, limits);
  if (!chat.ok()) return chat.status();
  return chat->render(variables, std::tm{});
}

std::string renderOk(std::string_view source, const ordered_json& variables = ordered_json::object()) {
  auto out = render(source, variables);
  EXPECT_TRUE(out.ok()) << source << ": " << out.status();
  return out.ok() ? *out : "";
}

TEST(Jinja, TrimBlocksAndLstripBlocksLikeTransformers) {
  EXPECT_EQ(renderOk("  {% if true %}\n    x\n  {% endif %}\n  y  \n{# c #}\nz"), "    x\n  y  \nz");
  EXPECT_EQ(renderOk("a {{- ' b ' -}} c\n{%- if true -%}\n  d  \n{%- endif -%}\n e"), "a b cde");
  EXPECT_EQ(renderOk("x\n"), "x");  // One trailing newline is dropped.
  EXPECT_EQ(renderOk("{% raw %}{{ kept }}{% endraw %}"), "{{ kept }}");
}

TEST(Jinja, LoopScopesDoNotLeakButNamespacesDo) {
  EXPECT_EQ(renderOk("{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{% endfor %}{{ x }}"), "1");
  EXPECT_EQ(renderOk("{% set ns = namespace(n=0) %}{% for i in [1, 2] %}{% set ns.n = ns.n + i %}"
                     "{% endfor %}{{ ns.n }}"),
            "3");
  EXPECT_EQ(renderOk("{% for a in [1,2,3] %}{{ loop.index }}{{ loop.revindex0 }}{{ loop.last }}|"
                     "{% endfor %}"),
            "12False|21False|30True|");
}

// A namespace may hold itself (the fuzzer's jinja-namespace-leak input does): it renders,
// and the render frees it (the fuzz target checks with LeakSanitizer).
TEST(Jinja, ANamespaceHoldingItselfRendersAndIsFreed) {
  EXPECT_EQ(renderOk("{% set ns = namespace(n=1) %}{% set ns.me = ns %}{{ ns.me.me.n }}"), "1");
  EXPECT_EQ(renderOk("{% set a = namespace() %}{% set b = namespace(a=a) %}{% set a.b = b %}"
                     "{{ a.b.a.b is defined }}"),
            "True");
  std::string printed = renderOk("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns }}|{{ ns | string | length > 0 }}");
  EXPECT_NE(printed.find("|True"), std::string::npos) << printed;
}

TEST(Jinja, MacrosTakeDefaultsKeywordsAndCallers) {
  EXPECT_EQ(renderOk("{% macro m(a, b=2) %}{{ a }}-{{ b }}{% endmacro %}{{ m(1) }} {{ m(b=5, a=4) }}"),
            "1-2 4-5");
  EXPECT_EQ(renderOk("{% macro box() %}[{{ caller() }}]{% endmacro %}{% call box() %}in{% endcall %}"),
            "[in]");
}

TEST(Jinja, TojsonKeepsKeyOrderAndNonAscii) {
  ordered_json vars = ordered_json::parse(R"({"tool": {"z": 1, "a": "Zürich", "m": [1.5, null, true]}})");
  EXPECT_EQ(renderOk("{{ tool | tojson }}", vars), R"({"z": 1, "a": "Zürich", "m": [1.5, null, true]})");
  EXPECT_EQ(renderOk("{{ tool | tojson(indent=2) }}", vars),
            "{\n  \"z\": 1,\n  \"a\": \"Zürich\",\n  \"m\": [\n    1.5,\n    null,\n    true\n  ]\n}");
  EXPECT_EQ(renderOk("{% for k, v in tool.items() %}{{ k }}{% endfor %}", vars), "zam");
}

TEST(Jinja, UndefinedIsLenientUntilUsed) {
  EXPECT_EQ(renderOk("[{{ missing }}]{{ missing is defined }}{{ missing|default('d') }}"), "[]Falsed");
  EXPECT_EQ(renderOk("{% for x in missing %}x{% endfor %}{{ {'a': 1}.b is defined }}"), "False");
  EXPECT_FALSE(render("{{ missing.attr }}").ok());
  EXPECT_FALSE(render("{{ missing() }}").ok());
  EXPECT_FALSE(render("{{ missing + 1 }}").ok());
}

TEST(Jinja, PythonOperatorSemantics) {
  EXPECT_EQ(renderOk("{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 1 / 2 }} {{ 2 ** 10 }} {{ 1e20 }}"),
            "3 -4 2 0.5 1024 1e+20");
  EXPECT_EQ(renderOk("{{ 'abc'[::-1] }} {{ [1, 2, 3][1:] }} {{ 'héllo'[1:3] }}"), "cba [2, 3] él");
  EXPECT_EQ(renderOk("{{ {'a': [1, (2, 3)], 'b': none} }}"), "{'a': [1, (2, 3)], 'b': None}");
  auto error = render("{{ 'a' + [1] }}");
  ASSERT_FALSE(error.ok());
  EXPECT_NE(error.status().message().find("can only concatenate str (not \"list\") to str"),
            absl::string_view::npos);
}

TEST(Jinja, ErrorsCarryLineAndColumn) {
  auto runtime = render("line one\n{{ raise_exception('bad input') }}");
  ASSERT_FALSE(runtime.ok());
  EXPECT_EQ(std::string(runtime.status().message()), "chat template error: line 2, column 4: bad input");
  auto syntax = render("{% if x %}\n  {% for %}");
  ASSERT_FALSE(syntax.ok());
  EXPECT_EQ(std::string(syntax.status().message()), "chat template syntax error: line 2, column 10: expected a name");
  EXPECT_FALSE(render("{% if true %}never closed").ok());
  EXPECT_FALSE(render("{{ 'unterminated }}").ok());
  EXPECT_FALSE(render("{% include 'other.jinja' %}").ok());
}

TEST(Jinja, SandboxForbidsMutatingData) {
  EXPECT_FALSE(render("{% set l = [1] %}{{ l.append(2) }}").ok());
  EXPECT_FALSE(render("{% set d = {} %}{{ d.update({'a': 1}) }}").ok());
}

TEST(JinjaLimits, EndlessLoopsRunOutOfSteps) {
  jinja::Limits limits;
  limits.max_steps = 100000;
  auto out = render("{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}",
                    ordered_json::object(), limits);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("step budget"), absl::string_view::npos);
}

TEST(JinjaLimits, ExplodingOutputIsStopped) {
  jinja::Limits limits;
  limits.max_output_bytes = 1 << 16;
  auto doubling = render("{% set ns = namespace(s='x') %}{% for i in range(40) %}"
                         "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
                         ordered_json::object(), limits);
  ASSERT_FALSE(doubling.ok());
  EXPECT_NE(doubling.status().message().find("exceeds"), absl::string_view::npos);
  EXPECT_FALSE(render("{{ 'x' * 1000000000000 }}", ordered_json::object(), limits).ok());
  EXPECT_FALSE(render("{% for i in range(100000) %}0123456789{% endfor %}", ordered_json::object(),
                      limits).ok());
}

TEST(JinjaLimits, RunawayRecursionAndDeepNestingFail) {
  auto recursion = render("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
  ASSERT_FALSE(recursion.ok());
  EXPECT_NE(recursion.status().message().find("nested deeper"), absl::string_view::npos);
  EXPECT_FALSE(render("{{ " + std::string(100000, '(') + "1" + std::string(100000, ')') + " }}").ok());
  std::string nested;
  for (int i = 0; i < 10000; ++i) nested += "{% if true %}";
  EXPECT_FALSE(render(nested).ok());
  // Left-associative chains nest without recursing in the parser; their height is bounded
  // too (the fuzzer found `1+1+1...` overflowing the evaluator's stack).
  auto repeat = [](std::string_view piece, int times) {
    std::string text;
    for (int i = 0; i < times; ++i) text += piece;
    return text;
  };
  for (const std::string& chain :
       {"{{ 1" + repeat("+1", 100000) + " }}", "{{ x" + repeat("[0]", 100000) + " }}",
        "{{ x" + repeat(".a", 100000) + " }}", "{{ x" + repeat("|e", 100000) + " }}",
        "{{ 1" + repeat(" and 1", 100000) + " }}", "{{ 1" + repeat(" if 1 else 1", 100000) + " }}",
        "{{ f" + repeat("()", 100000) + " }}", "{{ 1" + repeat(" ~ 1 is number", 100000) + " }}",
        // Containers do not reset the height: 60 levels of 150-long chains.
        "{{ " + repeat("[1" + repeat("+1", 150) + ", ", 60) + "0" + repeat("]", 60) + " }}"}) {
    auto out = render(chain);
    ASSERT_FALSE(out.ok()) << chain.substr(0, 40);
    EXPECT_NE(out.status().message().find("nest"), absl::string_view::npos)
        << out.status().message();
  }
  EXPECT_EQ(*render("{{ 1" + repeat("+1", 150) + " }}"), "151");
}

TEST(JinjaLimits, HugeIndicesAreErrorsNotCrashes) {
  // The fuzzer found std::stoll throwing out of the parser and the attribute paths.
  auto dotted = render("{{ x.99999999999999999999 }}");
  ASSERT_FALSE(dotted.ok());
  EXPECT_NE(dotted.status().message().find("out of range"), absl::string_view::npos);
  EXPECT_EQ(*render("{{ [[1, 2]] | map(attribute='99999999999999999999') | list | length }}"), "1");
  EXPECT_EQ(*render("{{ [[1, 2]] | map(attribute='1') | list }}"), "[2]");
}

}  // namespace
}  // namespace mvc::text
