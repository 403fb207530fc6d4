#include "runtime/text/JinjaParser.h"

#include <algorithm>
#include <cerrno>
#include <set>

#include "runtime/text/Strings.h"

namespace mvc::text::jinja {
namespace {

using Kind = Token::Kind;

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, int max_depth) : t_(tokens), max_depth_(max_depth) {}

  StmtList parseTemplate() {
    StmtList body = parseBody({});
    if (peek().kind != Kind::kEnd) fail(peek(), "unexpected tag");
    return body;
  }

 private:
  // Guards recursion depth.
  struct Nest {
    explicit Nest(Parser& p) : p(p) {
      if (++p.depth_ > p.max_depth_) p.fail(p.peek(), "template nesting is too deep");
    }
    ~Nest() { --p.depth_; }
    Parser& p;
  };

  // Records a composite node's height and refuses trees taller than the nesting limit:
  // left-associative chains (`a + b + c ...`, `x[0][0]...`, `x | f | f ...`) nest without
  // recursing in the parser, but evaluating or freeing them recurses once per level.
  ExprPtr seal(ExprPtr expr) const {
    int height = 0;
    for (const auto& operand : expr->operands) {
      if (operand) height = std::max(height, operand->height);
    }
    for (const auto& keyword : expr->keywords) {
      if (keyword.second) height = std::max(height, keyword.second->height);
    }
    expr->height = height + 1;
    if (expr->height > max_depth_) {
      throw JinjaError{cat("line ", expr->line, ", column ", expr->column,
                           ": expression is nested too deeply"), true};
    }
    return expr;
  }

  [[noreturn]] void fail(const Token& at, const std::string& message) const {
    throw JinjaError{cat("line ", at.line, ", column ", at.column, ": ", message), true};
  }
  const Token& peek(size_t ahead = 0) const {
    return t_[std::min(pos_ + ahead, t_.size() - 1)];
  }
  const Token& next() {
    const Token& token = peek();
    if (pos_ < t_.size() - 1) ++pos_;
    return token;
  }
  bool isOp(const char* op, size_t ahead = 0) const {
    return peek(ahead).kind == Kind::kOperator && peek(ahead).text == op;
  }
  bool isName(const char* name, size_t ahead = 0) const {
    return peek(ahead).kind == Kind::kName && peek(ahead).text == name;
  }
  void expectOp(const char* op) {
    if (!isOp(op)) fail(peek(), cat("expected '", op, "'"));
    next();
  }
  std::string expectName() {
    if (peek().kind != Kind::kName) fail(peek(), "expected a name");
    return next().text;
  }
  void expectBlockEnd() {
    if (peek().kind != Kind::kBlockEnd) fail(peek(), "expected end of statement block ('%}')");
    next();
  }

  // --- statements ---

  // Parses until a `{% name %}` tag with name in `ends` (not consumed) or the end.
  StmtList parseBody(const std::set<std::string>& ends) {
    Nest nest(*this);
    StmtList body;
    while (true) {
      const Token& token = peek();
      if (token.kind == Kind::kEnd) {
        if (!ends.empty()) {
          fail(token, cat("unexpected end of template, expected '", *ends.begin(), "'"));
        }
        return body;
      }
      if (token.kind == Kind::kText) {
        auto stmt = makeStmt(Stmt::Kind::kText, token);
        stmt->text = token.text;
        body.push_back(std::move(stmt));
        next();
      } else if (token.kind == Kind::kVariableBegin) {
        next();
        auto stmt = makeStmt(Stmt::Kind::kOutput, token);
        stmt->expr = parseExpression();
        if (peek().kind != Kind::kVariableEnd) fail(peek(), "expected end of print statement ('}}')");
        next();
        body.push_back(std::move(stmt));
      } else if (token.kind == Kind::kBlockBegin) {
        if (peek(1).kind == Kind::kName && ends.count(peek(1).text)) return body;
        next();
        body.push_back(parseStatement());
      } else {
        fail(token, "unexpected token");
      }
    }
  }

  std::unique_ptr<Stmt> makeStmt(Stmt::Kind kind, const Token& at) {
    auto stmt = std::make_unique<Stmt>();
    stmt->kind = kind;
    stmt->line = at.line;
    stmt->column = at.column;
    return stmt;
  }

  // Consumes `{% name` ... `%}` for an end tag.
  void expectEndTag(const char* name) {
    if (peek().kind != Kind::kBlockBegin || !isName(name, 1)) fail(peek(), cat("expected '", name, "'"));
    next();
    next();
    expectBlockEnd();
  }

  std::unique_ptr<Stmt> parseStatement() {
    const Token& keyword = peek();
    std::string name = expectName();
    if (name == "if") return parseIf(keyword);
    if (name == "for") return parseFor(keyword);
    if (name == "set") return parseSet(keyword);
    if (name == "macro") return parseMacro(keyword);
    if (name == "call") return parseCallBlock(keyword);
    if (name == "filter") {
      auto stmt = makeStmt(Stmt::Kind::kFilterBlock, keyword);
      stmt->filter = parseFilterChain(nullptr);
      expectBlockEnd();
      stmt->body = parseBody({"endfilter"});
      expectEndTag("endfilter");
      return stmt;
    }
    if (name == "break" || name == "continue") {
      if (loop_depth_ == 0) fail(keyword, cat("'", name, "' outside of a loop"));
      expectBlockEnd();
      return makeStmt(name == "break" ? Stmt::Kind::kBreak : Stmt::Kind::kContinue, keyword);
    }
    if (name == "generation") {
      auto stmt = makeStmt(Stmt::Kind::kScope, keyword);
      expectBlockEnd();
      stmt->body = parseBody({"endgeneration"});
      expectEndTag("endgeneration");
      return stmt;
    }
    fail(keyword, cat("unknown or unsupported tag '", name, "'"));
  }

  std::unique_ptr<Stmt> parseIf(const Token& keyword) {
    auto stmt = makeStmt(Stmt::Kind::kIf, keyword);
    stmt->conditions.push_back(parseExpression());
    expectBlockEnd();
    while (true) {
      stmt->bodies.push_back(parseBody({"elif", "else", "endif"}));
      next();  // {%
      std::string tag = next().text;
      if (tag == "elif") {
        stmt->conditions.push_back(parseExpression());
        expectBlockEnd();
        continue;
      }
      expectBlockEnd();
      if (tag == "else") {
        stmt->else_body = parseBody({"endif"});
        expectEndTag("endif");
      }
      return stmt;
    }
  }

  std::vector<std::string> parseTargets() {
    std::vector<std::string> targets;
    bool parenthesized = isOp("(");
    if (parenthesized) next();
    do {
      targets.push_back(expectName());
    } while (isOp(",") && (next(), true));
    if (parenthesized) expectOp(")");
    return targets;
  }

  std::unique_ptr<Stmt> parseFor(const Token& keyword) {
    auto stmt = makeStmt(Stmt::Kind::kFor, keyword);
    stmt->targets = parseTargets();
    if (!isName("in")) fail(peek(), "expected 'in'");
    next();
    // Like Jinja2, the iterable stops before `if`: that `if` filters the loop.
    stmt->expr = parseOr();
    if (isName("if")) {
      next();
      stmt->condition = parseOr();
    }
    if (isName("recursive")) fail(peek(), "recursive loops are not supported");
    expectBlockEnd();
    ++loop_depth_;
    stmt->body = parseBody({"else", "endfor"});
    --loop_depth_;
    next();
    if (next().text == "else") {
      expectBlockEnd();
      stmt->else_body = parseBody({"endfor"});
      expectEndTag("endfor");
    } else {
      expectBlockEnd();
    }
    return stmt;
  }

  std::unique_ptr<Stmt> parseSet(const Token& keyword) {
    if (peek().kind == Kind::kName && isOp(".", 1)) {
      auto stmt = makeStmt(Stmt::Kind::kSet, keyword);
      stmt->targets.push_back(next().text);
      next();
      stmt->attribute = expectName();
      expectOp("=");
      stmt->expr = parseTuple();
      expectBlockEnd();
      return stmt;
    }
    auto targets = parseTargets();
    if (isOp("=")) {
      next();
      auto stmt = makeStmt(Stmt::Kind::kSet, keyword);
      stmt->targets = std::move(targets);
      stmt->expr = parseTuple();
      expectBlockEnd();
      return stmt;
    }
    auto stmt = makeStmt(Stmt::Kind::kSetBlock, keyword);
    if (targets.size() != 1) fail(keyword, "a block set assigns one name");
    stmt->targets = std::move(targets);
    if (isOp("|")) stmt->filter = parseFilterChain(nullptr);
    expectBlockEnd();
    stmt->body = parseBody({"endset"});
    expectEndTag("endset");
    return stmt;
  }

  std::vector<MacroParam> parseParams() {
    std::vector<MacroParam> params;
    expectOp("(");
    while (!isOp(")")) {
      if (!params.empty()) expectOp(",");
      if (isOp(")")) break;
      MacroParam param;
      param.name = expectName();
      if (isOp("=")) {
        next();
        param.default_value = parseExpression();
      }
      params.push_back(std::move(param));
    }
    next();
    return params;
  }

  std::unique_ptr<Stmt> parseMacro(const Token& keyword) {
    auto stmt = makeStmt(Stmt::Kind::kMacro, keyword);
    stmt->targets.push_back(expectName());
    stmt->params = parseParams();
    expectBlockEnd();
    int saved_loops = loop_depth_;
    loop_depth_ = 0;
    stmt->body = parseBody({"endmacro"});
    loop_depth_ = saved_loops;
    expectEndTag("endmacro");
    return stmt;
  }

  std::unique_ptr<Stmt> parseCallBlock(const Token& keyword) {
    auto stmt = makeStmt(Stmt::Kind::kCallBlock, keyword);
    if (isOp("(")) stmt->params = parseParams();
    stmt->expr = parseExpression();
    if (stmt->expr->kind != Expr::Kind::kCall) fail(keyword, "expected a call after 'call'");
    expectBlockEnd();
    stmt->body = parseBody({"endcall"});
    expectEndTag("endcall");
    return stmt;
  }

  // --- expressions (Jinja2's precedence, loosest first) ---

  ExprPtr makeExpr(Expr::Kind kind, const Token& at) {
    auto expr = std::make_unique<Expr>();
    expr->kind = kind;
    expr->line = at.line;
    expr->column = at.column;
    return expr;
  }

  // An expression, or an unparenthesized tuple (`set a = 1, 2`).
  ExprPtr parseTuple() {
    const Token& start = peek();
    ExprPtr first = parseExpression();
    if (!isOp(",")) return first;
    auto tuple = makeExpr(Expr::Kind::kTuple, start);
    tuple->operands.push_back(std::move(first));
    while (isOp(",")) {
      next();
      if (peek().kind == Kind::kBlockEnd || peek().kind == Kind::kVariableEnd) break;
      tuple->operands.push_back(parseExpression());
    }
    return seal(std::move(tuple));
  }

  ExprPtr parseExpression() {
    Nest nest(*this);
    const Token& start = peek();
    ExprPtr expr = parseOr();
    while (isName("if")) {
      next();
      auto cond = makeExpr(Expr::Kind::kCondition, start);
      cond->operands.push_back(parseOr());
      cond->operands.push_back(std::move(expr));
      if (isName("else")) {
        next();
        cond->operands.push_back(parseExpression());
      } else {
        cond->operands.push_back(nullptr);
      }
      expr = seal(std::move(cond));
    }
    return expr;
  }

  ExprPtr binary(const char* op, ExprPtr left, ExprPtr right, const Token& at) {
    auto expr = makeExpr(Expr::Kind::kBinary, at);
    expr->name = op;
    expr->operands.push_back(std::move(left));
    expr->operands.push_back(std::move(right));
    return seal(std::move(expr));
  }

  ExprPtr parseOr() {
    ExprPtr left = parseAnd();
    while (isName("or")) {
      const Token& at = next();
      left = binary("or", std::move(left), parseAnd(), at);
    }
    return left;
  }

  ExprPtr parseAnd() {
    ExprPtr left = parseNot();
    while (isName("and")) {
      const Token& at = next();
      left = binary("and", std::move(left), parseNot(), at);
    }
    return left;
  }

  ExprPtr parseNot() {
    if (isName("not")) {
      Nest nest(*this);
      const Token& at = next();
      auto expr = makeExpr(Expr::Kind::kUnary, at);
      expr->name = "not";
      expr->operands.push_back(parseNot());
      return seal(std::move(expr));
    }
    return parseCompare();
  }

  ExprPtr parseCompare() {
    const Token& start = peek();
    ExprPtr first = parseMath1();
    ExprPtr compare;
    while (true) {
      std::string op;
      if (peek().kind == Kind::kOperator &&
          (peek().text == "==" || peek().text == "!=" || peek().text == "<" ||
           peek().text == ">" || peek().text == "<=" || peek().text == ">=")) {
        op = next().text;
      } else if (isName("in")) {
        next();
        op = "in";
      } else if (isName("not") && isName("in", 1)) {
        next();
        next();
        op = "not in";
      } else {
        break;
      }
      if (!compare) {
        compare = makeExpr(Expr::Kind::kCompare, start);
        compare->operands.push_back(std::move(first));
      }
      compare->ops.push_back(op);
      compare->operands.push_back(parseMath1());
    }
    return compare ? seal(std::move(compare)) : std::move(first);
  }

  ExprPtr parseMath1() {
    ExprPtr left = parseConcat();
    while (isOp("+") || isOp("-")) {
      const Token& at = next();
      left = binary(at.text == "+" ? "+" : "-", std::move(left), parseConcat(), at);
    }
    return left;
  }

  ExprPtr parseConcat() {
    ExprPtr left = parseMath2();
    while (isOp("~")) {
      const Token& at = next();
      left = binary("~", std::move(left), parseMath2(), at);
    }
    return left;
  }

  ExprPtr parseMath2() {
    ExprPtr left = parsePow();
    while (isOp("*") || isOp("/") || isOp("//") || isOp("%")) {
      const Token& at = next();
      static const std::set<std::string> kOps = {"*", "/", "//", "%"};
      const char* op = kOps.find(at.text)->c_str();
      left = binary(op, std::move(left), parsePow(), at);
    }
    return left;
  }

  ExprPtr parsePow() {
    ExprPtr left = parseUnary(true);
    while (isOp("**")) {
      const Token& at = next();
      left = binary("**", std::move(left), parseUnary(true), at);
    }
    return left;
  }

  ExprPtr parseUnary(bool with_filter) {
    Nest nest(*this);
    ExprPtr expr;
    if (isOp("-") || isOp("+")) {
      const Token& at = next();
      expr = makeExpr(Expr::Kind::kUnary, at);
      expr->name = at.text;
      expr->operands.push_back(parseUnary(false));
      expr = seal(std::move(expr));
    } else {
      expr = parsePrimary();
    }
    expr = parsePostfix(std::move(expr));
    if (with_filter) expr = parseFilterExpr(std::move(expr));
    return expr;
  }

  ExprPtr parsePrimary() {
    const Token& token = peek();
    switch (token.kind) {
      case Kind::kName: {
        next();
        if (token.text == "true" || token.text == "True") return constant(Value(true), token);
        if (token.text == "false" || token.text == "False") return constant(Value(false), token);
        if (token.text == "none" || token.text == "None") return constant(Value::none(), token);
        auto expr = makeExpr(Expr::Kind::kName, token);
        expr->name = token.text;
        return expr;
      }
      case Kind::kString: {
        std::string value;
        while (peek().kind == Kind::kString) value += next().text;  // Adjacent literals join.
        return constant(Value(std::move(value)), token);
      }
      case Kind::kInteger: {
        next();
        errno = 0;
        long long v = std::strtoll(token.text.c_str(), nullptr, 10);
        if (errno == ERANGE) fail(token, "integer literal out of range");
        return constant(Value(static_cast<int64_t>(v)), token);
      }
      case Kind::kFloat:
        next();
        return constant(Value(std::strtod(token.text.c_str(), nullptr)), token);
      case Kind::kOperator:
        if (token.text == "(") return parseParenthesized();
        if (token.text == "[") return parseList();
        if (token.text == "{") return parseDict();
        break;
      default:
        break;
    }
    fail(token, token.kind == Kind::kEnd ? "unexpected end of template"
                                         : cat("unexpected '", describe(token), "'"));
  }

  static std::string describe(const Token& token) {
    switch (token.kind) {
      case Kind::kBlockEnd: return "%}";
      case Kind::kVariableEnd: return "}}";
      default: return token.text;
    }
  }

  ExprPtr constant(Value value, const Token& at) {
    auto expr = makeExpr(Expr::Kind::kConstant, at);
    expr->value = std::move(value);
    return expr;
  }

  ExprPtr parseParenthesized() {
    const Token& open = next();
    if (isOp(")")) {
      next();
      return makeExpr(Expr::Kind::kTuple, open);
    }
    ExprPtr first = parseExpression();
    if (isOp(")")) {
      next();
      return first;
    }
    auto tuple = makeExpr(Expr::Kind::kTuple, open);
    tuple->operands.push_back(std::move(first));
    while (isOp(",")) {
      next();
      if (isOp(")")) break;
      tuple->operands.push_back(parseExpression());
    }
    expectOp(")");
    return seal(std::move(tuple));
  }

  ExprPtr parseList() {
    auto list = makeExpr(Expr::Kind::kList, next());
    while (!isOp("]")) {
      if (!list->operands.empty()) expectOp(",");
      if (isOp("]")) break;
      list->operands.push_back(parseExpression());
    }
    next();
    return seal(std::move(list));
  }

  ExprPtr parseDict() {
    auto dict = makeExpr(Expr::Kind::kDict, next());
    while (!isOp("}")) {
      if (!dict->operands.empty()) expectOp(",");
      if (isOp("}")) break;
      dict->operands.push_back(parseExpression());
      expectOp(":");
      dict->operands.push_back(parseExpression());
    }
    next();
    return seal(std::move(dict));
  }

  ExprPtr parsePostfix(ExprPtr expr) {
    while (true) {
      if (isOp(".")) {
        const Token& at = next();
        const Token& attr = next();
        if (attr.kind == Kind::kName) {
          auto node = makeExpr(Expr::Kind::kAttribute, at);
          node->name = attr.text;
          node->operands.push_back(std::move(expr));
          expr = seal(std::move(node));
        } else if (attr.kind == Kind::kInteger) {
          auto node = makeExpr(Expr::Kind::kItem, at);
          node->operands.push_back(std::move(expr));
          errno = 0;
          long long index = std::strtoll(attr.text.c_str(), nullptr, 10);
          if (errno == ERANGE) fail(attr, "integer literal out of range");
          node->operands.push_back(constant(Value(static_cast<int64_t>(index)), attr));
          expr = seal(std::move(node));
        } else {
          fail(attr, "expected an attribute name after '.'");
        }
      } else if (isOp("[")) {
        expr = parseSubscript(std::move(expr));
      } else if (isOp("(")) {
        expr = parseCall(std::move(expr));
      } else {
        return expr;
      }
    }
  }

  ExprPtr parseSubscript(ExprPtr target) {
    const Token& open = next();
    ExprPtr parts[3];
    int colons = 0;
    while (!isOp("]")) {
      if (isOp(":")) {
        if (++colons > 2) fail(peek(), "too many ':' in a slice");
        next();
        continue;
      }
      if (parts[colons]) fail(peek(), "expected ']'");
      parts[colons] = parseExpression();
    }
    next();
    if (colons == 0) {
      if (!parts[0]) fail(open, "empty subscript");
      auto node = makeExpr(Expr::Kind::kItem, open);
      node->operands.push_back(std::move(target));
      node->operands.push_back(std::move(parts[0]));
      return seal(std::move(node));
    }
    auto node = makeExpr(Expr::Kind::kSlice, open);
    node->operands.push_back(std::move(target));
    for (auto& part : parts) node->operands.push_back(std::move(part));
    return seal(std::move(node));
  }

  // Arguments of a call, filter or test: positional then keyword (name=value).
  void parseArguments(Expr& node) {
    expectOp("(");
    bool first = true;
    while (!isOp(")")) {
      if (!first) expectOp(",");
      first = false;
      if (isOp(")")) break;
      if (peek().kind == Kind::kName && isOp("=", 1)) {
        std::string key = next().text;
        next();
        node.keywords.emplace_back(key, parseExpression());
      } else {
        if (!node.keywords.empty()) fail(peek(), "positional argument follows keyword argument");
        node.operands.push_back(parseExpression());
      }
    }
    next();
  }

  ExprPtr parseCall(ExprPtr callee) {
    auto node = makeExpr(Expr::Kind::kCall, peek());
    node->line = callee->line;  // Errors point at what is called, not at '('.
    node->column = callee->column;
    node->operands.push_back(std::move(callee));
    parseArguments(*node);
    return seal(std::move(node));
  }

  ExprPtr parseFilterExpr(ExprPtr expr) {
    while (true) {
      if (isOp("|")) {
        expr = parseFilterChain(std::move(expr), /*single=*/true);
      } else if (isName("is")) {
        expr = parseTest(std::move(expr));
      } else if (isOp("(")) {
        expr = parseCall(std::move(expr));
      } else {
        return expr;
      }
    }
  }

  // `| name(args)`, repeated unless `single`; `value` may be null for filter blocks.
  ExprPtr parseFilterChain(ExprPtr value, bool single = false) {
    do {
      if (isOp("|")) next();
      const Token& at = peek();
      auto node = makeExpr(Expr::Kind::kFilter, at);
      node->name = expectName();
      while (isOp(".")) {
        next();
        node->name += "." + expectName();
      }
      node->operands.push_back(std::move(value));
      if (isOp("(")) parseArguments(*node);
      value = seal(std::move(node));
    } while (!single && isOp("|"));
    return value;
  }

  ExprPtr parseTest(ExprPtr value) {
    const Token& at = next();  // is
    bool negated = false;
    if (isName("not")) {
      next();
      negated = true;
    }
    auto node = makeExpr(Expr::Kind::kTest, at);
    node->name = expectName();
    node->operands.push_back(std::move(value));
    if (isOp("(")) {
      parseArguments(*node);
    } else if ((peek().kind == Kind::kName || peek().kind == Kind::kString ||
                peek().kind == Kind::kInteger || peek().kind == Kind::kFloat || isOp("[") ||
                isOp("{")) &&
               !isName("else") && !isName("or") && !isName("and")) {
      if (isName("is")) fail(peek(), "You cannot chain multiple tests with is");
      node->operands.push_back(parsePostfix(parsePrimary()));
    }
    node = seal(std::move(node));
    if (!negated) return node;
    auto inverted = makeExpr(Expr::Kind::kUnary, at);
    inverted->name = "not";
    inverted->operands.push_back(std::move(node));
    return seal(std::move(inverted));
  }

  const std::vector<Token>& t_;
  size_t pos_ = 0;
  int depth_ = 0;
  int max_depth_;
  int loop_depth_ = 0;
};

}  // namespace

StmtList parse(const std::vector<Token>& tokens, int max_depth) {
  return Parser(tokens, max_depth).parseTemplate();
}

}  // namespace mvc::text::jinja
