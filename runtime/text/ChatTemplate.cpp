#include "runtime/text/ChatTemplate.h"
#include "runtime/util/Json.h"

#include "runtime/text/JinjaLexer.h"
#include "runtime/text/JinjaParser.h"
#include "runtime/text/Strings.h"

namespace mvc::text {

absl::StatusOr<ChatTemplate> ChatTemplate::parse(std::string_view source,
                                                 const jinja::Limits& limits) {
  ChatTemplate result;
  result.limits_ = limits;
  try {
    auto tokens = jinja::tokenize(source);
    result.body_ = std::make_shared<const jinja::StmtList>(jinja::parse(tokens, limits.max_parse_depth));
  } catch (const jinja::JinjaError& e) {
    return absl::InvalidArgumentError(cat("chat template syntax error: ", e.message));
  }
  return result;
}

absl::StatusOr<std::string> ChatTemplate::render(const nlohmann::ordered_json& variables,
                                                 const std::tm& now) const {
  if (!variables.is_object()) return absl::InvalidArgumentError("template variables must be a JSON object");
  jinja::Value context = jinja::Value::fromJson(variables);
  try {
    jinja::Interpreter interpreter(limits_, now);
    return interpreter.render(*body_, context.asDict());
  } catch (const jinja::JinjaError& e) {
    return absl::InvalidArgumentError(cat("chat template error: ", e.message));
  }
}

absl::StatusOr<std::string> ChatTemplate::apply(const nlohmann::ordered_json& input,
                                                const nlohmann::ordered_json& specials,
                                                const std::tm& now) const {
  if (!input.is_object()) return absl::InvalidArgumentError("chat input must be a JSON object");
  nlohmann::ordered_json variables = nlohmann::ordered_json::object();
  variables["messages"] = input.value("messages", nlohmann::ordered_json::array());
  variables["tools"] = input.value("tools", nlohmann::ordered_json());
  variables["documents"] = input.value("documents", nlohmann::ordered_json());
  variables["add_generation_prompt"] = input.value("add_generation_prompt", false);
  if (specials.is_object()) {
    for (auto it = specials.begin(); it != specials.end(); ++it) {
      if (!it.value().is_null()) variables[it.key()] = it.value();
    }
  }
  for (auto it = input.begin(); it != input.end(); ++it) variables[it.key()] = it.value();
  return render(variables, now);
}

absl::StatusOr<TokenizerConfig> parseTokenizerConfig(std::string_view text) {
  absl::StatusOr<nlohmann::ordered_json> parsed =
      parseJson<nlohmann::ordered_json>(text, "tokenizer_config.json");
  if (!parsed.ok()) return parsed.status();
  nlohmann::ordered_json json = std::move(*parsed);
  if (!json.is_object()) {
    return absl::InvalidArgumentError("tokenizer_config.json: not a JSON object");
  }
  TokenizerConfig config;
  if (auto it = json.find("chat_template"); it != json.end()) {
    if (it->is_string()) {
      config.chat_template = it->get<std::string>();
    } else if (it->is_array()) {  // [{"name": "default", "template": ...}, ...]
      for (const auto& named : *it) {
        if (named.is_object() && named.value("name", "") == "default" &&
            named.contains("template") && named["template"].is_string()) {
          config.chat_template = named["template"].get<std::string>();
        }
      }
    } else if (!it->is_null()) {
      // A number or an object would compile into an artifact that later "has no chat
      // template": say so where the mistake is.
      return absl::InvalidArgumentError(
          "tokenizer_config.json: chat_template must be a string or a list of named "
          "templates, got " + it->dump().substr(0, 80));
    }
  }
  for (const char* name : {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token",
                           "cls_token", "mask_token"}) {
    auto it = json.find(name);
    if (it == json.end()) continue;
    if (it->is_string()) {
      config.specials[name] = *it;
    } else if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) {
      config.specials[name] = (*it)["content"];
    }
  }
  if (auto it = json.find("additional_special_tokens"); it != json.end() && it->is_array()) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& token : *it) {
      if (token.is_string()) list.push_back(token);
      else if (token.is_object() && token.contains("content")) list.push_back(token["content"]);
    }
    config.specials["additional_special_tokens"] = list;
  }
  return config;
}

std::tm localNow() {
  std::time_t t = std::time(nullptr);
  std::tm now{};
  localtime_r(&t, &now);
  return now;
}

}  // namespace mvc::text
