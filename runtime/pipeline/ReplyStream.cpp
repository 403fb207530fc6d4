//===- ReplyStream.cpp ----------------------------------------------------===//
#include "runtime/pipeline/ReplyStream.h"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace mvc {

absl::StatusOr<ResponseFormat> responseFormatByName(absl::string_view name) {
  if (name == "gemma4") return ResponseFormat::gemma4();
  return absl::NotFoundError(absl::StrCat("unknown response format '", name, "' (known: gemma4)"));
}

std::string toolCallJson(const ToolCall &call, absl::string_view id) {
  nlohmann::ordered_json out;
  if (!id.empty()) out["id"] = std::string(id);
  out["type"] = "function";
  out["function"] = {{"name", call.name}, {"arguments", call.arguments}};
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::ordered_json assistantMessage(const ResponseParser &reply, absl::string_view idPrefix) {
  nlohmann::ordered_json message = {{"role", "assistant"}, {"content", reply.content()}};
  if (!reply.reasoning().empty()) message["reasoning_content"] = reply.reasoning();
  if (!reply.toolCalls().empty()) {
    nlohmann::ordered_json calls = nlohmann::ordered_json::array();
    for (size_t k = 0; k < reply.toolCalls().size(); ++k)
      calls.push_back(nlohmann::ordered_json::parse(toolCallJson(reply.toolCalls()[k], absl::StrCat(idPrefix, k))));
    message["tool_calls"] = std::move(calls);
  }
  return message;
}

void addToDelta(const std::vector<ResponseEvent> &events, absl::string_view idPrefix, bool first,
                int64_t &calls, nlohmann::ordered_json &delta) {
  std::string text, reasoning;
  nlohmann::ordered_json toolCalls = nlohmann::ordered_json::array();
  for (const ResponseEvent &e : events) {
    if (e.kind == ResponseEvent::Kind::kContent) text += e.text;
    if (e.kind == ResponseEvent::Kind::kReasoning) reasoning += e.text;
    if (e.kind == ResponseEvent::Kind::kToolCall) {
      nlohmann::ordered_json call = nlohmann::ordered_json::parse(toolCallJson(e.call, absl::StrCat(idPrefix, calls)));
      call["index"] = calls++;
      toolCalls.push_back(std::move(call));
    }
  }
  if (!text.empty() || first) delta["content"] = text;
  if (!reasoning.empty()) delta["reasoning_content"] = reasoning;
  if (!toolCalls.empty()) delta["tool_calls"] = std::move(toolCalls);
}

} // namespace mvc
