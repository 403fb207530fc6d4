#include "runtime/text/JinjaInterpreter.h"

#include "runtime/text/Strings.h"

namespace mvc::text::jinja {

Interpreter::Interpreter(const Limits& limits, std::tm now) : limits_(limits), now_(now) {
  installGlobals();
}

void Interpreter::charge(uint64_t steps) {
  steps_ += steps;
  if (steps_ > limits_.max_steps) {
    throw JinjaError{cat("template exceeded its step budget (", limits_.max_steps,
                         " steps): it loops too long")};
  }
}

void Interpreter::checkSize(size_t bytes) const {
  if (bytes > limits_.max_output_bytes) {
    throw JinjaError{cat("template output or a value in it exceeds ", limits_.max_output_bytes,
                         " bytes")};
  }
}

void Interpreter::append(std::string& out, std::string_view text) const {
  checkSize(out.size() + text.size());
  out.append(text);
}

std::string Interpreter::render(const StmtList& body, const ValueDict& variables) {
  Frame root{{}, nullptr};
  for (const auto& [key, value] : variables.items) {
    if (key.isString()) root.vars[key.asString()] = value;
  }
  root_ = &root;
  // Namespaces are the only mutable values, so the only ones that can hold themselves
  // (`{% set ns.me = ns %}`, or two holding each other): reference counting alone would
  // never free them. Nothing a render makes outlives it, so each is emptied at the end,
  // error or not.
  struct EmptyNamespaces {
    std::vector<Value>& namespaces;
    ~EmptyNamespaces() {
      for (Value& ns : namespaces) ns.mutableNamespace() = ValueDict{};
      namespaces.clear();
    }
  } emptyNamespaces{namespaces_};
  std::string out;
  exec(body, root, out);
  root_ = nullptr;
  return out;
}

Value Interpreter::lookup(const std::string& name, Frame& frame) const {
  for (Frame* f = &frame; f != nullptr; f = f->parent) {
    auto it = f->vars.find(name);
    if (it != f->vars.end()) return it->second;
  }
  auto it = globals_.find(name);
  if (it != globals_.end()) return it->second;
  return Value::undefined(cat("'", name, "' is undefined"));
}

Interpreter::Flow Interpreter::exec(const StmtList& body, Frame& frame, std::string& out) {
  for (const auto& stmt : body) {
    Flow flow;
    try {
      flow = execStmt(*stmt, frame, out);
    } catch (JinjaError& e) {
      if (!e.located) {
        e.message = cat("line ", stmt->line, ", column ", stmt->column, ": ", e.message);
        e.located = true;
      }
      throw;
    }
    if (flow != Flow::kNormal) return flow;
  }
  return Flow::kNormal;
}

namespace {

// Binds `value` to one or several names (tuple unpacking).
void assign(StringMap<Value>& vars, const std::vector<std::string>& targets, const Value& value) {
  if (targets.size() == 1) {
    vars[targets[0]] = value;
    return;
  }
  ValueList items = value.iterate();
  if (items.size() != targets.size()) {
    throw JinjaError{cat(items.size() < targets.size() ? "not enough" : "too many",
                         " values to unpack (expected ", targets.size(), ", got ", items.size(),
                         ")")};
  }
  for (size_t i = 0; i < targets.size(); ++i) vars[targets[i]] = items[i];
}

}  // namespace

Interpreter::Flow Interpreter::execStmt(const Stmt& stmt, Frame& frame, std::string& out) {
  charge(1);
  switch (stmt.kind) {
    case Stmt::Kind::kText:
      append(out, stmt.text);
      return Flow::kNormal;
    case Stmt::Kind::kOutput:
      append(out, eval(*stmt.expr, frame).str());
      return Flow::kNormal;
    case Stmt::Kind::kIf:
      for (size_t i = 0; i < stmt.conditions.size(); ++i) {
        if (eval(*stmt.conditions[i], frame).truthy()) return exec(stmt.bodies[i], frame, out);
      }
      return exec(stmt.else_body, frame, out);
    case Stmt::Kind::kFor:
      execFor(stmt, frame, out);
      return Flow::kNormal;
    case Stmt::Kind::kSet: {
      Value value = eval(*stmt.expr, frame);
      if (stmt.attribute.empty()) {
        assign(frame.vars, stmt.targets, value);
        return Flow::kNormal;
      }
      Value target = lookup(stmt.targets[0], frame);
      if (target.kind() != Value::Kind::kNamespace) {
        throw JinjaError{"cannot assign attribute on non-namespace object"};
      }
      target.mutableNamespace().set(Value(stmt.attribute), value);
      return Flow::kNormal;
    }
    case Stmt::Kind::kSetBlock: {
      std::string body;
      exec(stmt.body, frame, body);
      Value value(std::move(body));
      if (stmt.filter) value = applyFilterChain(*stmt.filter, value, frame);
      frame.vars[stmt.targets[0]] = value;
      return Flow::kNormal;
    }
    case Stmt::Kind::kFilterBlock: {
      std::string body;
      exec(stmt.body, frame, body);
      append(out, applyFilterChain(*stmt.filter, Value(std::move(body)), frame).str());
      return Flow::kNormal;
    }
    case Stmt::Kind::kMacro:
      frame.vars[stmt.targets[0]] = makeMacro(stmt);
      return Flow::kNormal;
    case Stmt::Kind::kCallBlock: {
      const Stmt* block = &stmt;
      Frame* caller_frame = &frame;
      Value caller = Value::callable("caller", [this, block, caller_frame](CallArgs& args) {
        Frame local{{}, caller_frame};
        for (size_t i = 0; i < block->params.size(); ++i) {
          const MacroParam& param = block->params[i];
          if (i < args.positional.size()) {
            local.vars[param.name] = args.positional[i];
          } else if (param.default_value) {
            local.vars[param.name] = eval(*param.default_value, local);
          }
        }
        std::string body;
        exec(block->body, local, body);
        return Value(std::move(body));
      });
      CallArgs extra;
      extra.keyword.emplace_back("caller", caller);
      append(out, evalCall(*stmt.expr, frame, &extra).str());
      return Flow::kNormal;
    }
    case Stmt::Kind::kBreak:
      return Flow::kBreak;
    case Stmt::Kind::kContinue:
      return Flow::kContinue;
    case Stmt::Kind::kScope:
      return exec(stmt.body, frame, out);
  }
  return Flow::kNormal;
}

void Interpreter::execFor(const Stmt& stmt, Frame& frame, std::string& out) {
  Value iterable = eval(*stmt.expr, frame);
  if (iterable.isNone() || iterable.isNumber() || iterable.kind() == Value::Kind::kCallable) {
    throw JinjaError{cat("'", iterable.typeName(), "' object is not iterable")};
  }
  ValueList items = iterable.iterate();
  charge(items.size());
  if (stmt.condition) {
    ValueList kept;
    for (const Value& item : items) {
      Frame scope{{}, &frame};
      assign(scope.vars, stmt.targets, item);
      if (eval(*stmt.condition, scope).truthy()) kept.push_back(item);
    }
    items = std::move(kept);
  }
  if (items.empty()) {
    exec(stmt.else_body, frame, out);
    return;
  }
  const int64_t length = static_cast<int64_t>(items.size());
  Value cycle_items;  // loop.cycle(*args) picks args[index0 % len(args)]
  for (int64_t i = 0; i < length; ++i) {
    Frame scope{{}, &frame};
    assign(scope.vars, stmt.targets, items[i]);
    ValueDict loop;
    loop.items.reserve(12);
    loop.items.emplace_back(Value("index"), Value(i + 1));
    loop.items.emplace_back(Value("index0"), Value(i));
    loop.items.emplace_back(Value("revindex"), Value(length - i));
    loop.items.emplace_back(Value("revindex0"), Value(length - i - 1));
    loop.items.emplace_back(Value("first"), Value(i == 0));
    loop.items.emplace_back(Value("last"), Value(i == length - 1));
    loop.items.emplace_back(Value("length"), Value(length));
    loop.items.emplace_back(Value("depth"), Value(1));
    loop.items.emplace_back(Value("depth0"), Value(0));
    loop.items.emplace_back(Value("previtem"), i > 0 ? items[i - 1] : Value::undefined("there is no previous item"));
    loop.items.emplace_back(Value("nextitem"), i + 1 < length ? items[i + 1] : Value::undefined("there is no next item"));
    loop.items.emplace_back(Value("cycle"), Value::callable("cycle", [i](CallArgs& args) {
      if (args.positional.empty()) throw JinjaError{"no items for cycling given"};
      return args.positional[static_cast<size_t>(i) % args.positional.size()];
    }));
    scope.vars["loop"] = Value::dict(std::move(loop));
    charge(1);
    if (exec(stmt.body, scope, out) == Flow::kBreak) break;
  }
}

Value Interpreter::applyFilterChain(const Expr& filter, Value input, Frame& frame) {
  if (filter.operands[0]) input = applyFilterChain(*filter.operands[0], std::move(input), frame);
  CallArgs args = evalArgs(filter, frame, 1);
  return applyFilter(filter.name, input, args);
}

Value Interpreter::makeMacro(const Stmt& macro) {
  const Stmt* node = &macro;
  return Value::callable(macro.targets[0], [this, node](CallArgs& args) {
    Value caller;
    for (auto it = args.keyword.begin(); it != args.keyword.end(); ++it) {
      if (it->first == "caller") {
        caller = it->second;
        args.keyword.erase(it);
        break;
      }
    }
    return callMacro(*node, args, caller);
  });
}

Value Interpreter::callMacro(const Stmt& macro, CallArgs& args, Value caller) {
  if (++call_depth_ > limits_.max_call_depth) {
    --call_depth_;
    throw JinjaError{cat("macro calls nested deeper than ", limits_.max_call_depth,
                         " (runaway recursion?)")};
  }
  struct DepthGuard {
    int& depth;
    ~DepthGuard() { --depth; }
  } guard{call_depth_};
  Frame local{{}, root_};
  const auto& params = macro.params;
  ValueList varargs;
  for (size_t i = 0; i < args.positional.size(); ++i) {
    if (i < params.size()) {
      local.vars[params[i].name] = args.positional[i];
    } else {
      varargs.push_back(args.positional[i]);
    }
  }
  ValueDict kwargs;
  for (auto& [key, value] : args.keyword) {
    bool is_param = false;
    for (const auto& param : params) is_param = is_param || param.name == key;
    if (is_param) {
      local.vars[key] = value;
    } else {
      kwargs.set(Value(key), value);
    }
  }
  for (const auto& param : params) {
    if (local.vars.contains(param.name)) continue;
    local.vars[param.name] = param.default_value
                                 ? eval(*param.default_value, local)
                                 : Value::undefined(cat("parameter '", param.name,
                                                        "' was not provided"));
  }
  local.vars["varargs"] = Value::tuple(std::move(varargs));
  local.vars["kwargs"] = Value::dict(std::move(kwargs));
  if (!caller.isUndefined()) local.vars["caller"] = caller;
  std::string out;
  exec(macro.body, local, out);
  return Value(std::move(out));
}

Value Interpreter::eval(const Expr& expr, Frame& frame) {
  try {
    return evalUnlocated(expr, frame);
  } catch (JinjaError& e) {
    if (!e.located) {
      e.message = cat("line ", expr.line, ", column ", expr.column, ": ", e.message);
      e.located = true;
    }
    throw;
  }
}

CallArgs Interpreter::evalArgs(const Expr& expr, Frame& frame, size_t first) {
  CallArgs args;
  for (size_t i = first; i < expr.operands.size(); ++i) {
    args.positional.push_back(eval(*expr.operands[i], frame));
  }
  for (const auto& [key, value] : expr.keywords) args.keyword.emplace_back(key, eval(*value, frame));
  return args;
}

Value Interpreter::evalCall(const Expr& expr, Frame& frame, CallArgs* extra) {
  Value callee = eval(*expr.operands[0], frame);
  CallArgs args = evalArgs(expr, frame, 1);
  if (extra) args.keyword.insert(args.keyword.end(), extra->keyword.begin(), extra->keyword.end());
  if (callee.isUndefined()) throw JinjaError{callee.undefinedHint()};
  if (callee.kind() != Value::Kind::kCallable) {
    throw JinjaError{cat("'", callee.typeName(), "' object is not callable")};
  }
  return callee.asCallable().call(args);
}

Value Interpreter::evalUnlocated(const Expr& expr, Frame& frame) {
  charge(1);
  switch (expr.kind) {
    case Expr::Kind::kConstant:
      return expr.value;
    case Expr::Kind::kName:
      return lookup(expr.name, frame);
    case Expr::Kind::kList:
    case Expr::Kind::kTuple: {
      ValueList items;
      for (const auto& operand : expr.operands) items.push_back(eval(*operand, frame));
      return expr.kind == Expr::Kind::kList ? Value::list(std::move(items))
                                            : Value::tuple(std::move(items));
    }
    case Expr::Kind::kDict: {
      ValueDict dict;
      for (size_t i = 0; i + 1 < expr.operands.size(); i += 2) {
        dict.set(eval(*expr.operands[i], frame), eval(*expr.operands[i + 1], frame));
      }
      return Value::dict(std::move(dict));
    }
    case Expr::Kind::kAttribute:
      return getAttribute(eval(*expr.operands[0], frame), expr.name);
    case Expr::Kind::kItem:
      return getItem(eval(*expr.operands[0], frame), eval(*expr.operands[1], frame));
    case Expr::Kind::kSlice: {
      Value target = eval(*expr.operands[0], frame);
      Value parts[3];
      for (int i = 0; i < 3; ++i) {
        parts[i] = expr.operands[i + 1] ? eval(*expr.operands[i + 1], frame) : Value::none();
      }
      return sliceOf(target, parts[0], parts[1], parts[2]);
    }
    case Expr::Kind::kCall:
      return evalCall(expr, frame);
    case Expr::Kind::kFilter: {
      Value input = eval(*expr.operands[0], frame);
      CallArgs args = evalArgs(expr, frame, 1);
      return applyFilter(expr.name, input, args);
    }
    case Expr::Kind::kTest: {
      Value input = eval(*expr.operands[0], frame);
      CallArgs args = evalArgs(expr, frame, 1);
      return Value(applyTest(expr.name, input, args));
    }
    case Expr::Kind::kUnary: {
      Value operand = eval(*expr.operands[0], frame);
      if (expr.name == "not") return Value(!operand.truthy());
      if (operand.isUndefined()) throw JinjaError{operand.undefinedHint()};
      if (!operand.isNumber()) {
        throw JinjaError{cat("bad operand type for unary ", expr.name, ": '", operand.typeName(), "'")};
      }
      if (expr.name == "+") return operand.kind() == Value::Kind::kFloat ? operand : Value(operand.asInt());
      return operand.kind() == Value::Kind::kFloat ? Value(-operand.asFloat()) : Value(-operand.asInt());
    }
    case Expr::Kind::kBinary:
      return evalBinary(expr, frame);
    case Expr::Kind::kCompare:
      return evalCompare(expr, frame);
    case Expr::Kind::kCondition:
      if (eval(*expr.operands[0], frame).truthy()) return eval(*expr.operands[1], frame);
      return expr.operands[2] ? eval(*expr.operands[2], frame)
                              : Value::undefined("the inline if-expression evaluated to false "
                                                 "and no else section was defined");
  }
  return Value();
}

Value Interpreter::evalBinary(const Expr& expr, Frame& frame) {
  Value left = eval(*expr.operands[0], frame);
  if (expr.name == "and") return left.truthy() ? eval(*expr.operands[1], frame) : left;
  if (expr.name == "or") return left.truthy() ? left : eval(*expr.operands[1], frame);
  Value right = eval(*expr.operands[1], frame);
  return binaryOp(expr.name, left, right, *this);
}

Value Interpreter::evalCompare(const Expr& expr, Frame& frame) {
  Value left = eval(*expr.operands[0], frame);
  for (size_t i = 0; i < expr.ops.size(); ++i) {
    Value right = eval(*expr.operands[i + 1], frame);
    const std::string& op = expr.ops[i];
    bool result;
    if (op == "==") result = left == right;
    else if (op == "!=") result = left != right;
    else if (op == "<") result = lessThan(left, right);
    else if (op == ">") result = lessThan(right, left);
    else if (op == "<=") result = !lessThan(right, left);
    else if (op == ">=") result = !lessThan(left, right);
    else if (op == "in") result = contains(right, left);
    else result = !contains(right, left);
    if (!result) return Value(false);
    left = std::move(right);
  }
  return Value(true);
}

}  // namespace mvc::text::jinja
