// Evaluates a parsed template: Jinja2 scoping (loops and macros get their own frames), loop
// variables, macros and call blocks, with hard limits so hostile templates fail cleanly.
#ifndef MVC_RUNTIME_TEXT_JINJA_INTERPRETER_H_
#define MVC_RUNTIME_TEXT_JINJA_INTERPRETER_H_

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

#include "runtime/text/JinjaAst.h"
#include "runtime/text/StringMap.h"

namespace mvc::text::jinja {

struct Limits {
  size_t max_output_bytes = size_t{8} << 20;  // also caps any single string or list built
  uint64_t max_steps = 20'000'000;            // evaluated nodes, loop iterations, builtin work
  int max_call_depth = 64;                    // nested macro calls
  int max_parse_depth = 200;                  // nested blocks and expressions
};

class Interpreter {
 public:
  Interpreter(const Limits& limits, std::tm now);
  // Renders `body` with `variables` as the template context; throws JinjaError.
  std::string render(const StmtList& body, const ValueDict& variables);

  // Used by the builtins.
  Value applyFilter(std::string_view name, const Value& input, CallArgs& args);
  bool applyTest(std::string_view name, const Value& input, CallArgs& args);
  void charge(uint64_t steps);
  void checkSize(size_t bytes) const;

 private:
  struct Frame {
    StringMap<Value> vars;
    Frame* parent;
  };
  enum class Flow { kNormal, kBreak, kContinue };

  Flow exec(const StmtList& body, Frame& frame, std::string& out);
  Flow execStmt(const Stmt& stmt, Frame& frame, std::string& out);
  void execFor(const Stmt& stmt, Frame& frame, std::string& out);
  Value eval(const Expr& expr, Frame& frame);
  Value evalUnlocated(const Expr& expr, Frame& frame);
  Value evalBinary(const Expr& expr, Frame& frame);
  Value evalCompare(const Expr& expr, Frame& frame);
  Value evalCall(const Expr& expr, Frame& frame, CallArgs* extra = nullptr);
  CallArgs evalArgs(const Expr& expr, Frame& frame, size_t first);
  Value lookup(const std::string& name, Frame& frame) const;
  // A tag's filter chain (`{% filter a|b %}`, `{% set x | a %}`) applied to `input`.
  Value applyFilterChain(const Expr& filter, Value input, Frame& frame);
  Value makeMacro(const Stmt& macro);
  Value callMacro(const Stmt& macro, CallArgs& args, Value caller);
  void append(std::string& out, std::string_view text) const;
  void installGlobals();

  Limits limits_;
  std::tm now_;
  std::vector<Value> namespaces_;  // made by namespace() during the current render
  StringMap<Value> globals_;
  Frame* root_ = nullptr;
  uint64_t steps_ = 0;
  int call_depth_ = 0;
};

// Operators and builtins shared by the interpreter (JinjaBuiltins.cpp).
Value getAttribute(const Value& object, const std::string& name);
Value getItem(const Value& object, const Value& key);
Value binaryOp(std::string_view op, const Value& a, const Value& b, const Interpreter& interp);
bool contains(const Value& container, const Value& item);
std::string formatPercent(const std::string& format, const ValueList& args);
Value sliceOf(const Value& object, const Value& start, const Value& stop, const Value& step);

}  // namespace mvc::text::jinja

#endif  // MVC_RUNTIME_TEXT_JINJA_INTERPRETER_H_
