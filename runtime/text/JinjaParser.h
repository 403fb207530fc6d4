// Jinja2's grammar (statements, expressions with its precedence) over the lexer's tokens.
#ifndef MVC_RUNTIME_TEXT_JINJA_PARSER_H_
#define MVC_RUNTIME_TEXT_JINJA_PARSER_H_

#include <vector>

#include "runtime/text/JinjaAst.h"
#include "runtime/text/JinjaLexer.h"

namespace mvc::text::jinja {

// Throws JinjaError "line L, column C: ..." on a syntax error or nesting deeper than
// `max_depth` (so hostile templates cannot exhaust the stack).
StmtList parse(const std::vector<Token>& tokens, int max_depth);

}  // namespace mvc::text::jinja

#endif  // MVC_RUNTIME_TEXT_JINJA_PARSER_H_
