//===- Expr.h - size expressions of the manifest --------------------------===//
//
// An expression is an integer, a symbol name, or an RPN array over integers, symbols and
// the operators + - * floordiv ceildiv min max (FORMAT.md "Expressions"). Arithmetic is
// int64 and checked: overflow and division by zero are errors, and so is a negative result
// where a size is expected (evaluateSize).
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_ARTIFACT_EXPR_H
#define MVC_RUNTIME_ARTIFACT_EXPR_H

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace mvc {

class Expr {
public:
  enum class Op { Add, Sub, Mul, FloorDiv, CeilDiv, Min, Max };
  struct Token {
    enum Kind { Constant, Symbol, Operator } kind;
    int64_t value = 0; // Constant
    std::string name;  // Symbol
    Op op = Op::Add;   // Operator
  };
  /// Resolves a symbol to its value, or nullopt if it is unbound.
  using Lookup = std::function<std::optional<int64_t>(const std::string &)>;

  /// The constant 0.
  Expr() : Expr(constant(0)) {}
  static Expr constant(int64_t value);
  static Expr symbol(std::string name);
  /// `lhs op rhs`, e.g. binary(Op::CeilDiv, T, 4) for ceildiv(T, 4).
  static Expr binary(Op op, const Expr &lhs, const Expr &rhs);
  /// Parses the JSON form; errors say what is wrong, the caller adds where.
  static absl::StatusOr<Expr> fromJson(const nlohmann::ordered_json &json);
  /// The JSON form fromJson reads: an integer, a symbol name, or an RPN array.
  nlohmann::ordered_json toJson() const;

  /// Evaluates with checked int64 arithmetic.
  absl::StatusOr<int64_t> evaluate(const Lookup &lookup) const;
  /// evaluate(), and an error if the result is negative.
  absl::StatusOr<int64_t> evaluateSize(const Lookup &lookup) const;

  /// Infix form, e.g. "ceildiv(T, 4) * 8".
  std::string toString() const;
  /// Every distinct symbol, in order of first appearance.
  std::vector<std::string> symbols() const;
  bool isConstant() const { return tokens.size() == 1 && tokens[0].kind == Token::Constant; }
  bool isSymbol() const { return tokens.size() == 1 && tokens[0].kind == Token::Symbol; }
  /// The single token of a constant or symbol expression.
  const Token &leaf() const { return tokens.front(); }

  /// The same tokens (structural equality, not equality of values).
  bool operator==(const Expr &other) const;
  bool operator!=(const Expr &other) const { return !(*this == other); }

private:
  explicit Expr(std::vector<Token> tokens);
  std::vector<Token> tokens; // reverse Polish, validated to reduce to one value
};

} // namespace mvc

#endif // MVC_RUNTIME_ARTIFACT_EXPR_H
