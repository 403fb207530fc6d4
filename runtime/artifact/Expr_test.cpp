#include "runtime/artifact/Expr.h"

#include <limits>
#include <map>

#include "gtest/gtest.h"

namespace mvc {
namespace {

using Json = nlohmann::ordered_json;

Expr parse(const char *text) {
  absl::StatusOr<Expr> expr = Expr::fromJson(Json::parse(text));
  EXPECT_TRUE(expr.ok()) << text << ": " << expr.status();
  return expr.ok() ? *expr : Expr::constant(-999);
}

absl::StatusOr<int64_t> eval(const char *text, std::map<std::string, int64_t> symbols = {}) {
  return parse(text).evaluate([&](const std::string &name) -> std::optional<int64_t> {
    auto it = symbols.find(name);
    if (it == symbols.end())
      return std::nullopt;
    return it->second;
  });
}

std::string errorOf(const char *text) {
  absl::StatusOr<Expr> expr = Expr::fromJson(Json::parse(text));
  return expr.ok() ? "parsed" : std::string(expr.status().message());
}

TEST(Expr, EvaluatesEveryOperator) {
  std::map<std::string, int64_t> t = {{"T", 10}};
  EXPECT_EQ(*eval("7"), 7);
  EXPECT_EQ(*eval("\"T\"", t), 10);
  EXPECT_EQ(*eval("[\"T\", 4, \"ceildiv\", 8, \"*\"]", t), 24);
  EXPECT_EQ(*eval("[\"T\", 4, \"floordiv\"]", t), 2);
  EXPECT_EQ(*eval("[\"T\", 3, \"-\", 5, \"+\"]", t), 12);
  EXPECT_EQ(*eval("[\"T\", 3, \"min\", 20, \"max\"]", t), 20);
}

TEST(Expr, DivisionRoundsTowardTheRightInfinityForAnySign) {
  EXPECT_EQ(*eval("[-7, 2, \"floordiv\"]"), -4);
  EXPECT_EQ(*eval("[-7, 2, \"ceildiv\"]"), -3);
  EXPECT_EQ(*eval("[7, -2, \"floordiv\"]"), -4);
  EXPECT_EQ(*eval("[7, -2, \"ceildiv\"]"), -3);
  EXPECT_EQ(*eval("[-8, 2, \"ceildiv\"]"), -4);
  EXPECT_EQ(*eval("[-9223372036854775808, 2, \"ceildiv\"]"), std::numeric_limits<int64_t>::min() / 2);
}

TEST(Expr, ArithmeticErrorsAreReported) {
  EXPECT_NE(eval("[1, 0, \"floordiv\"]").status().message().find("division by zero"),
            std::string::npos);
  EXPECT_NE(eval("[\"T\", 0, \"ceildiv\"]", {{"T", 1}}).status().message().find("division by zero"),
            std::string::npos);
  EXPECT_NE(eval("[9223372036854775807, 1, \"+\"]").status().message().find("overflow"),
            std::string::npos);
  EXPECT_NE(eval("[4294967296, 4294967296, \"*\"]").status().message().find("overflow"),
            std::string::npos);
  EXPECT_NE(eval("[-9223372036854775808, 1, \"-\"]").status().message().find("overflow"),
            std::string::npos);
  EXPECT_NE(eval("[-9223372036854775808, -1, \"floordiv\"]").status().message().find("overflow"),
            std::string::npos);
  EXPECT_NE(eval("\"N\"").status().message().find("unbound symbol 'N'"), std::string::npos);
  absl::StatusOr<int64_t> negative = parse("[\"T\", 5, \"-\"]").evaluateSize(
      [](const std::string &) { return std::optional<int64_t>(3); });
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.status().message().find("negative size -2 from T - 5"), std::string::npos);
}

TEST(Expr, MalformedRpnIsRefused) {
  EXPECT_NE(errorOf("[]").find("empty"), std::string::npos);
  EXPECT_NE(errorOf("[\"+\"]").find("needs two operands"), std::string::npos);
  EXPECT_NE(errorOf("[1, \"+\"]").find("[1]: operator '+' needs two operands"), std::string::npos);
  EXPECT_NE(errorOf("[1, 2]").find("leaves 2 values"), std::string::npos);
  EXPECT_NE(errorOf("[1, 2.5, \"+\"]").find("[1]: expected an integer or a string"),
            std::string::npos);
  EXPECT_NE(errorOf("\"*\"").find("outside an RPN array"), std::string::npos);
  EXPECT_NE(errorOf("{}").find("got object"), std::string::npos);
  EXPECT_NE(errorOf("18446744073709551615").find("exceeds int64"), std::string::npos);
}

TEST(Expr, PrintsInfixWithMinimalParentheses) {
  EXPECT_EQ(parse("[\"T\", 4, \"ceildiv\", 8, \"*\"]").toString(), "ceildiv(T, 4) * 8");
  EXPECT_EQ(parse("[\"a\", \"b\", \"c\", \"+\", \"-\"]").toString(), "a - (b + c)");
  EXPECT_EQ(parse("[\"a\", \"b\", \"-\", \"c\", \"-\"]").toString(), "a - b - c");
  EXPECT_EQ(parse("[\"a\", \"b\", \"+\", \"c\", \"*\"]").toString(), "(a + b) * c");
  EXPECT_EQ(parse("[\"a\", \"b\", \"c\", \"*\", \"+\"]").toString(), "a + b * c");
  EXPECT_EQ(parse("[\"a\", \"b\", \"+\", 2, \"max\"]").toString(), "max(a + b, 2)");
  EXPECT_EQ(parse("[\"T\", \"B\", \"T\", \"*\", \"+\"]").symbols(),
            (std::vector<std::string>{"T", "B"}));
}

TEST(Expr, WritesTheJsonItReads) {
  for (const char *text : {"7", "-3", "\"T\"", "[\"T\", 4, \"ceildiv\", 8, \"*\"]",
                           "[\"a\", \"b\", \"c\", \"+\", \"-\", 2, \"floordiv\", 1, \"min\"]"})
    EXPECT_EQ(parse(text).toJson().dump(), Json::parse(text).dump()) << text;
}

TEST(Expr, BinaryAppendsTheOperatorToBothOperands) {
  Expr tiles = Expr::binary(Expr::Op::CeilDiv, Expr::symbol("T"), Expr::constant(4));
  Expr size = Expr::binary(Expr::Op::Mul, tiles, Expr::constant(8));
  EXPECT_EQ(size, parse("[\"T\", 4, \"ceildiv\", 8, \"*\"]"));
  EXPECT_NE(size, parse("[\"T\", 4, \"floordiv\", 8, \"*\"]"));
  EXPECT_NE(Expr::constant(1), Expr::symbol("T"));
}

} // namespace
} // namespace mvc
