// Chat templates: a sandboxed Jinja2 engine rendering HF chat templates exactly as
// transformers' apply_chat_template does (trim_blocks, lstrip_blocks, loop controls, tojson
// without ASCII escaping and in key order, raise_exception, strftime_now).
//
// The sandbox: templates see only the variables given, cannot mutate lists or dicts, and are
// bounded in steps, output size and macro recursion (jinja::Limits); breaking a limit is an
// error, never a hang or a crash. Errors carry the template line and column.
#ifndef MVC_RUNTIME_TEXT_CHAT_TEMPLATE_H_
#define MVC_RUNTIME_TEXT_CHAT_TEMPLATE_H_

#include <ctime>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "runtime/text/JinjaInterpreter.h"

namespace mvc::text {

class ChatTemplate {
 public:
  // Parses a template; syntax errors are InvalidArgument "line L, column C: ...".
  static absl::StatusOr<ChatTemplate> parse(std::string_view source,
                                            const jinja::Limits& limits = {});

  // Renders with the members of `variables` (a JSON object) as the template's context.
  // `now` is what strftime_now() formats.
  absl::StatusOr<std::string> render(const nlohmann::ordered_json& variables,
                                     const std::tm& now) const;

  // transformers' apply_chat_template(): `input` holds messages, tools, documents,
  // add_generation_prompt and any extra template arguments (tools/documents default to None,
  // add_generation_prompt to false); `specials` maps names such as bos_token to strings (a null
  // is not passed, so the template sees it undefined).
  absl::StatusOr<std::string> apply(const nlohmann::ordered_json& input,
                                    const nlohmann::ordered_json& specials,
                                    const std::tm& now) const;

 private:
  ChatTemplate() = default;
  std::shared_ptr<const jinja::StmtList> body_;
  jinja::Limits limits_;
};

// The parts of a tokenizer_config.json a chat needs.
struct TokenizerConfig {
  std::string chat_template;  // empty when the config has none
  // bos_token, eos_token, unk_token, pad_token, ... as strings (AddedToken objects are
  // reduced to their content; absent or null ones are left out), and
  // additional_special_tokens as a list when present.
  nlohmann::ordered_json specials = nlohmann::ordered_json::object();
};
absl::StatusOr<TokenizerConfig> parseTokenizerConfig(std::string_view json);

// The current local time, for strftime_now when no fixed time is given.
std::tm localNow();

}  // namespace mvc::text

#endif  // MVC_RUNTIME_TEXT_CHAT_TEMPLATE_H_
