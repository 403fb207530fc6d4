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

} // namespace mvc
