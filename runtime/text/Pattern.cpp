// Pattern and the JSON accessors shared by the pipeline stages.
#include "runtime/text/Strings.h"
#include "runtime/text/Pipeline.h"

namespace mvc::text {

absl::StatusOr<std::string> jsonString(const nlohmann::json& json, std::string_view key,
                                       std::string_view field) {
  auto it = json.find(key);
  if (it == json.end() || !it->is_string()) {
    return absl::InvalidArgumentError(
        cat("tokenizer.json: ", field, ".", key, " must be a string"));
  }
  return it->get<std::string>();
}

bool jsonBool(const nlohmann::json& json, std::string_view key, bool fallback) {
  auto it = json.find(key);
  return it != json.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

absl::Status unsupported(std::string_view field, const nlohmann::json& json) {
  std::string type = "(missing)";
  if (json.is_object() && json.contains("type")) type = json["type"].dump();
  return absl::UnimplementedError(cat("unsupported: ", field, " type ", type));
}

absl::StatusOr<Pattern> Pattern::fromJson(const nlohmann::json& json, std::string_view field) {
  Pattern pattern;
  if (json.is_object() && json.contains("String") && json["String"].is_string()) {
    pattern.literal_ = json["String"].get<std::string>();
    if (pattern.literal_.empty()) {
      return absl::InvalidArgumentError(cat("tokenizer.json: ", field, " is empty"));
    }
    return pattern;
  }
  if (json.is_object() && json.contains("Regex") && json["Regex"].is_string()) {
    auto regex = Regex::compile(json["Regex"].get<std::string>());
    if (!regex.ok()) {
      return absl::InvalidArgumentError(
          cat("tokenizer.json: ", field, ": ", regex.status().message()));
    }
    pattern.regex_ = std::move(*regex);
    return pattern;
  }
  return absl::InvalidArgumentError(
      cat("tokenizer.json: ", field, " must be {\"String\": ..} or {\"Regex\": ..}"));
}

std::vector<std::pair<size_t, size_t>> Pattern::findAll(std::string_view text) const {
  if (regex_) return regex_->findAll(text);
  std::vector<std::pair<size_t, size_t>> matches;
  for (size_t pos = text.find(literal_); pos != std::string_view::npos;
       pos = text.find(literal_, pos + literal_.size())) {
    matches.emplace_back(pos, pos + literal_.size());
  }
  return matches;
}

std::string Pattern::replaceAll(std::string_view text, std::string_view content) const {
  std::string out;
  size_t last = 0;
  for (auto [begin, end] : findAll(text)) {
    out.append(text.substr(last, begin - last));
    out.append(content);
    last = end;
  }
  out.append(text.substr(last));
  return out;
}

}  // namespace mvc::text
