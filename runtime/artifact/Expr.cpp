//===- Expr.cpp -----------------------------------------------------------===//
#include "runtime/artifact/Expr.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"

namespace mvc {

namespace {

struct OpInfo {
  Expr::Op op;
  const char *name;
  int precedence; // for infix printing; function-call forms bind tightest
};
constexpr OpInfo kOps[] = {
    {Expr::Op::Add, "+", 1},         {Expr::Op::Sub, "-", 1},
    {Expr::Op::Mul, "*", 2},         {Expr::Op::FloorDiv, "floordiv", 3},
    {Expr::Op::CeilDiv, "ceildiv", 3}, {Expr::Op::Min, "min", 3},
    {Expr::Op::Max, "max", 3},
};
constexpr int kAtomPrecedence = 3;

const OpInfo &info(Expr::Op op) { return kOps[static_cast<int>(op)]; }

const OpInfo *findOp(const std::string &name) {
  for (const OpInfo &entry : kOps)
    if (name == entry.name)
      return &entry;
  return nullptr;
}

/// Floor division for any signs; the caller has excluded b == 0 and INT64_MIN / -1.
int64_t floorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0)))
    --q;
  return q;
}

absl::StatusOr<int64_t> apply(Expr::Op op, int64_t a, int64_t b) {
  int64_t result;
  switch (op) {
  case Expr::Op::Add:
    if (__builtin_add_overflow(a, b, &result))
      break;
    return result;
  case Expr::Op::Sub:
    if (__builtin_sub_overflow(a, b, &result))
      break;
    return result;
  case Expr::Op::Mul:
    if (__builtin_mul_overflow(a, b, &result))
      break;
    return result;
  case Expr::Op::FloorDiv:
  case Expr::Op::CeilDiv: {
    if (b == 0)
      return absl::InvalidArgumentError(
          absl::StrCat("division by zero in ", info(op).name, "(", a, ", ", b, ")"));
    if (a == std::numeric_limits<int64_t>::min() && b == -1)
      break;
    // ceil(a / b) is floor(a / b) + 1 when b does not divide a, for any signs; the + 1
    // cannot overflow because floor(a / b) < a / b there.
    return floorDiv(a, b) + (op == Expr::Op::CeilDiv && a % b != 0 ? 1 : 0);
  }
  case Expr::Op::Min:
    return std::min(a, b);
  case Expr::Op::Max:
    return std::max(a, b);
  }
  return absl::OutOfRangeError(
      absl::StrCat("int64 overflow in ", a, " ", info(op).name, " ", b));
}

} // namespace

Expr::Expr(std::vector<Token> tokens) : tokens(std::move(tokens)) {}

Expr Expr::constant(int64_t value) {
  return Expr(std::vector<Token>{{Token::Constant, value, {}, Op::Add}});
}

Expr Expr::symbol(std::string name) {
  return Expr(std::vector<Token>{{Token::Symbol, 0, std::move(name), Op::Add}});
}

Expr Expr::binary(Op op, const Expr &lhs, const Expr &rhs) {
  std::vector<Token> tokens = lhs.tokens;
  tokens.insert(tokens.end(), rhs.tokens.begin(), rhs.tokens.end());
  tokens.push_back({Token::Operator, 0, {}, op});
  return Expr(std::move(tokens));
}

absl::StatusOr<Expr> Expr::fromJson(const nlohmann::ordered_json &json) {
  auto parseToken = [](const nlohmann::ordered_json &item, bool inArray) -> absl::StatusOr<Token> {
    if (item.is_number_unsigned() && item.get<uint64_t>() > INT64_MAX)
      return absl::InvalidArgumentError(absl::StrCat("integer ", item.dump(), " exceeds int64"));
    if (item.is_number_integer())
      return Token{Token::Constant, item.get<int64_t>(), {}, Op::Add};
    if (item.is_string()) {
      std::string text = item.get<std::string>();
      if (const OpInfo *op = findOp(text)) {
        if (!inArray)
          return absl::InvalidArgumentError("operator '" + text + "' outside an RPN array");
        return Token{Token::Operator, 0, {}, op->op};
      }
      if (text.empty())
        return absl::InvalidArgumentError("empty symbol name");
      return Token{Token::Symbol, 0, std::move(text), Op::Add};
    }
    return absl::InvalidArgumentError("expected an integer or a string, got " +
                                      std::string(item.type_name()));
  };

  if (!json.is_array()) {
    absl::StatusOr<Token> token = parseToken(json, /*inArray=*/false);
    if (!token.ok())
      return token.status();
    return Expr(std::vector<Token>{std::move(*token)});
  }
  if (json.empty())
    return absl::InvalidArgumentError("empty expression");
  std::vector<Token> tokens;
  int64_t depth = 0;
  for (size_t i = 0; i < json.size(); ++i) {
    absl::StatusOr<Token> token = parseToken(json[i], /*inArray=*/true);
    if (!token.ok())
      return absl::InvalidArgumentError(absl::StrCat("[", i, "]: ", token.status().message()));
    if (token->kind == Token::Operator) {
      if (depth < 2)
        return absl::InvalidArgumentError(absl::StrCat(
            "[", i, "]: operator '", info(token->op).name, "' needs two operands"));
      --depth;
    } else {
      ++depth;
    }
    tokens.push_back(std::move(*token));
  }
  if (depth != 1)
    return absl::InvalidArgumentError(
        absl::StrCat("RPN expression leaves ", depth, " values (expected 1)"));
  return Expr(std::move(tokens));
}

nlohmann::ordered_json Expr::toJson() const {
  auto tokenJson = [](const Token &token) -> nlohmann::ordered_json {
    switch (token.kind) {
    case Token::Constant:
      return token.value;
    case Token::Symbol:
      return token.name;
    case Token::Operator:
      return info(token.op).name;
    }
    return nullptr;
  };
  if (tokens.size() == 1)
    return tokenJson(tokens[0]);
  nlohmann::ordered_json rpn = nlohmann::ordered_json::array();
  for (const Token &token : tokens)
    rpn.push_back(tokenJson(token));
  return rpn;
}

absl::StatusOr<int64_t> Expr::evaluate(const Lookup &lookup) const {
  std::vector<int64_t> stack;
  stack.reserve(tokens.size());
  for (const Token &token : tokens) {
    switch (token.kind) {
    case Token::Constant:
      stack.push_back(token.value);
      break;
    case Token::Symbol: {
      std::optional<int64_t> value = lookup(token.name);
      if (!value)
        return absl::InvalidArgumentError("unbound symbol '" + token.name + "'");
      stack.push_back(*value);
      break;
    }
    case Token::Operator: {
      int64_t b = stack.back();
      stack.pop_back();
      absl::StatusOr<int64_t> result = apply(token.op, stack.back(), b);
      if (!result.ok())
        return absl::Status(result.status().code(),
                            absl::StrCat(result.status().message(), " evaluating ", toString()));
      stack.back() = *result;
      break;
    }
    }
  }
  return stack.back();
}

absl::StatusOr<int64_t> Expr::evaluateSize(const Lookup &lookup) const {
  absl::StatusOr<int64_t> value = evaluate(lookup);
  if (value.ok() && *value < 0)
    return absl::OutOfRangeError(
        absl::StrCat("negative size ", *value, " from ", toString()));
  return value;
}

std::string Expr::toString() const {
  struct Printed {
    std::string text;
    int precedence;
  };
  std::vector<Printed> stack;
  for (const Token &token : tokens) {
    if (token.kind == Token::Constant) {
      stack.push_back({std::to_string(token.value), kAtomPrecedence});
      continue;
    }
    if (token.kind == Token::Symbol) {
      stack.push_back({token.name, kAtomPrecedence});
      continue;
    }
    Printed rhs = std::move(stack.back());
    stack.pop_back();
    Printed lhs = std::move(stack.back());
    stack.pop_back();
    const OpInfo &op = info(token.op);
    if (op.precedence == kAtomPrecedence) {
      stack.push_back({absl::StrCat(op.name, "(", lhs.text, ", ", rhs.text, ")"), kAtomPrecedence});
      continue;
    }
    // Left operands need parentheses only if they bind looser; right operands also when
    // they bind equally and the operator is not associative ("a - (b + c)").
    if (lhs.precedence < op.precedence)
      lhs.text = "(" + lhs.text + ")";
    if (rhs.precedence < op.precedence ||
        (rhs.precedence == op.precedence && token.op == Op::Sub))
      rhs.text = "(" + rhs.text + ")";
    stack.push_back({absl::StrCat(lhs.text, " ", op.name, " ", rhs.text), op.precedence});
  }
  return stack.back().text;
}

bool Expr::operator==(const Expr &other) const {
  auto same = [](const Token &a, const Token &b) {
    return a.kind == b.kind && a.value == b.value && a.name == b.name && a.op == b.op;
  };
  return std::equal(tokens.begin(), tokens.end(), other.tokens.begin(), other.tokens.end(), same);
}

std::vector<std::string> Expr::symbols() const {
  std::vector<std::string> names;
  for (const Token &token : tokens)
    if (token.kind == Token::Symbol &&
        std::find(names.begin(), names.end(), token.name) == names.end())
      names.push_back(token.name);
  return names;
}

} // namespace mvc
