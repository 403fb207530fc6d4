// Jinja2's lexer with transformers' settings (trim_blocks, lstrip_blocks, no trailing newline):
// template source -> text and tag tokens, whitespace control already applied.
#ifndef MVC_RUNTIME_TEXT_JINJA_LEXER_H_
#define MVC_RUNTIME_TEXT_JINJA_LEXER_H_

#include <string>
#include <string_view>
#include <vector>

namespace mvc::text::jinja {

struct Token {
  enum class Kind {
    kText,
    kVariableBegin,  // {{
    kVariableEnd,    // }}
    kBlockBegin,     // {%
    kBlockEnd,       // %}
    kName,
    kString,   // `text` holds the unescaped value
    kInteger,
    kFloat,
    kOperator,  // `text` holds the operator: + - * / // % ** ~ == != < > <= >= = ( ) [ ] { } , . : |
    kEnd,
  };
  Kind kind;
  std::string text;
  int line;
  int column;
};

// Throws JinjaError ("line L, column C: ...") on unterminated tags, strings or comments.
std::vector<Token> tokenize(std::string_view source);

}  // namespace mvc::text::jinja

#endif  // MVC_RUNTIME_TEXT_JINJA_LEXER_H_
