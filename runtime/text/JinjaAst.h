// The syntax tree of a parsed template.
#ifndef MVC_RUNTIME_TEXT_JINJA_AST_H_
#define MVC_RUNTIME_TEXT_JINJA_AST_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/text/JinjaValue.h"

namespace mvc::text::jinja {

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using StmtList = std::vector<std::unique_ptr<Stmt>>;

struct Expr {
  enum class Kind {
    kConstant,   // value
    kName,       // name
    kList,       // operands
    kTuple,      // operands
    kDict,       // operands: key, value, key, value, ...
    kAttribute,  // operands[0].name
    kItem,       // operands[0][operands[1]]
    kSlice,      // operands[0][operands[1]:operands[2]:operands[3]] (null = omitted)
    kCall,       // operands[0](operands[1..], keywords)
    kFilter,     // name: operands[0] | name(operands[1..], keywords)
    kTest,       // name: operands[0] is name(operands[1..], keywords)
    kUnary,      // op: "not", "-", "+"
    kBinary,     // op: + - * / // % ** ~ and or in "not in"
    kCompare,    // operands[0] ops[0] operands[1] ops[1] ... (chained)
    kCondition,  // operands[1] if operands[0] else operands[2] (null = Undefined)
  };
  Kind kind;
  int line = 0, column = 0;
  Value value;
  std::string name;  // also the operator of kUnary / kBinary
  std::vector<ExprPtr> operands;
  std::vector<std::pair<std::string, ExprPtr>> keywords;
  std::vector<std::string> ops;  // kCompare
  int height = 1;                // longest path to a leaf (the parser bounds it)
};

struct MacroParam {
  std::string name;
  ExprPtr default_value;  // null: required
};

struct Stmt {
  enum class Kind {
    kText,        // text
    kOutput,      // expr
    kIf,          // conditions[i] -> bodies[i]; else_body
    kFor,         // targets in expr (if condition) body; else_body
    kSet,         // targets (or attribute target) = expr
    kSetBlock,    // targets[0] = rendered body, optionally through filter
    kMacro,       // name(params) body
    kCallBlock,   // expr = call, body = caller(), params = caller's parameters
    kFilterBlock, // body rendered then passed through filter
    kBreak,
    kContinue,
    kScope,       // a block rendered in place (e.g. transformers' {% generation %})
  };
  Kind kind;
  int line = 0, column = 0;
  std::string text;
  ExprPtr expr;
  ExprPtr condition;
  std::vector<std::string> targets;
  std::string attribute;  // kSet on `ns.attr`: targets[0] is ns
  std::vector<ExprPtr> conditions;
  std::vector<StmtList> bodies;
  StmtList body, else_body;
  std::vector<MacroParam> params;
  ExprPtr filter;  // kSetBlock / kFilterBlock: a kFilter whose operands[0] is null
};

}  // namespace mvc::text::jinja

#endif  // MVC_RUNTIME_TEXT_JINJA_AST_H_
