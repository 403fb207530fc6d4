//===- OpenAiRequest.cpp - OpenAI-compatible request bodies as data -------===//
#include "runtime/serving/OpenAiRequest.h"

#include <cmath>
#include <limits>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "runtime/util/Json.h"

namespace mvc::serving {
namespace {

using Json = nlohmann::ordered_json;

ApiError badField(absl::string_view param, absl::string_view message) {
  ApiError error;
  error.param = std::string(param);
  error.message = param.empty() ? std::string(message) : absl::StrCat(param, ": ", message);
  return error;
}

/// Reads the sampling and length fields shared by both endpoints into `out`; an error
/// names the first bad field.
std::optional<ApiError> readParams(const Json &body, GenerationParams &out) {
  auto field = [&](const char *key) -> const Json * {
    auto it = body.find(key);
    return it == body.end() || it->is_null() ? nullptr : &*it;
  };
  auto number = [&](const char *key, double low, double high,
                    double &into) -> std::optional<ApiError> {
    const Json *value = field(key);
    if (!value)
      return std::nullopt;
    if (!value->is_number() || !(value->get<double>() >= low && value->get<double>() <= high))
      return badField(key, absl::StrCat("expected a number in [", low, ", ", high, "], got ",
                                        value->dump()));
    into = value->get<double>();
    return std::nullopt;
  };
  auto integer = [&](const char *key, int64_t low, int64_t high,
                     int64_t &into) -> std::optional<ApiError> {
    const Json *value = field(key);
    if (!value)
      return std::nullopt;
    if (!value->is_number_integer() || value->get<int64_t>() < low ||
        value->get<int64_t>() > high)
      return badField(key, absl::StrCat("expected an integer in [", low, ", ", high, "], got ",
                                        value->dump()));
    into = value->get<int64_t>();
    return std::nullopt;
  };
  constexpr int64_t kMaxInt = std::numeric_limits<int32_t>::max();
  for (const char *key : {"max_completion_tokens", "max_tokens"}) {
    int64_t tokens = 0;
    if (auto error = integer(key, 1, kMaxInt, tokens))
      return error;
    if (field(key) && !out.maxTokens)
      out.maxTokens = tokens;
  }
  double temperature = 1.0, topP = 1.0, minP = 0.0;
  int64_t topK = 0;
  if (auto error = number("temperature", 0.0, 2.0, temperature))
    return error;
  if (auto error = number("top_p", 0.0, 1.0, topP))
    return error;
  if (field("top_p") && topP == 0.0)
    return badField("top_p", "must be greater than 0");
  if (auto error = number("min_p", 0.0, 1.0, minP))
    return error;
  if (auto error = integer("top_k", -1, kMaxInt, topK))
    return error;
  out.sampling.temperature = temperature;
  if (temperature > 0) {
    // 0 and -1 both mean off (OpenAI-compatible servers use -1).
    out.sampling.topK = static_cast<int32_t>(std::max<int64_t>(topK, 0));
    out.sampling.topP = topP;
    out.sampling.minP = minP;
  }
  if (const Json *seed = field("seed")) {
    if (!seed->is_number_integer())
      return badField("seed", absl::StrCat("expected an integer, got ", seed->dump()));
    out.sampling.seed = seed->is_number_unsigned() ? seed->get<uint64_t>()
                                                   : static_cast<uint64_t>(seed->get<int64_t>());
    out.seeded = true;
  }
  if (auto error = integer("n", 1, 16, out.n))
    return error;
  if (const Json *stop = field("stop")) {
    std::vector<Json> items;
    if (stop->is_string())
      items.push_back(*stop);
    else if (stop->is_array())
      items.assign(stop->begin(), stop->end());
    else
      return badField("stop", "expected a string or an array of strings");
    if (items.size() > 4)
      return badField("stop", absl::StrCat("at most 4 stop strings, got ", items.size()));
    for (const Json &item : items) {
      if (!item.is_string() || item.get<std::string>().empty())
        return badField("stop", absl::StrCat("expected non-empty strings, got ", item.dump()));
      out.stop.push_back(item.get<std::string>());
    }
  }
  if (const Json *stream = field("stream")) {
    if (!stream->is_boolean())
      return badField("stream", "expected true or false");
    out.stream = stream->get<bool>();
  }
  if (const Json *options = field("stream_options")) {
    if (!options->is_object())
      return badField("stream_options", "expected an object");
    auto usage = options->find("include_usage");
    if (usage != options->end() && !usage->is_null()) {
      if (!usage->is_boolean())
        return badField("stream_options.include_usage", "expected true or false");
      out.includeUsage = usage->get<bool>();
    }
  }
  // Not implemented yet: refused by name, never ignored.
  for (const char *key : {"presence_penalty", "frequency_penalty"})
    if (const Json *penalty = field(key); penalty && !(penalty->is_number() && *penalty == 0))
      return badField(key, "penalties are not supported yet (only 0)");
  if (const Json *format = field("response_format")) {
    auto type = format->is_object() ? format->find("type") : format->end();
    if (!format->is_object() || type == format->end() || !type->is_string())
      return badField("response_format", "expected an object with a \"type\"");
    if (*type == "json_object") {
      out.jsonSchema = JsonSchema::anyObject();
    } else if (*type == "json_schema") {
      // {"type": "json_schema", "json_schema": {"name": ..., "schema": {...}, "strict": ...}}
      auto spec = format->find("json_schema");
      if (spec == format->end() || !spec->is_object())
        return badField("response_format.json_schema", "expected an object");
      auto name = spec->find("name");
      if (name == spec->end() || !name->is_string() || name->get<std::string>().empty())
        return badField("response_format.json_schema.name", "expected a non-empty string");
      auto schema = spec->find("schema");
      if (schema == spec->end())
        return badField("response_format.json_schema.schema", "a schema is required");
      absl::StatusOr<std::shared_ptr<const JsonSchema>> compiled = JsonSchema::compile(*schema);
      if (!compiled.ok())
        return badField("response_format.json_schema.schema",
                        std::string(compiled.status().message()));
      out.jsonSchema = *std::move(compiled);
    } else if (*type != "text") {
      return badField("response_format",
                      absl::StrCat("type ", type->dump(),
                                   " is not supported (\"text\", \"json_object\" and "
                                   "\"json_schema\" are)"));
    }
  }
  if (const Json *bias = field("logit_bias"); bias && !(bias->is_object() && bias->empty()))
    return badField("logit_bias", "logit bias is not supported yet");
  return std::nullopt;
}

/// An integer field in [0, kMaxLogprobs], or the error; null and absent leave `out`.
template <typename Out>
std::optional<ApiError> readLogprobCount(const Json &body, const char *key, Out &out) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null())
    return std::nullopt;
  if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > kMaxLogprobs)
    return badField(key, absl::StrCat("expected an integer in [0, ", kMaxLogprobs, "], got ",
                                      it->dump().substr(0, 64)));
  out = it->get<int64_t>();
  return std::nullopt;
}

/// Chat's logprobs (true/false) and top_logprobs (alternatives per token; needs logprobs).
std::optional<ApiError> readChatLogprobs(const Json &body, GenerationParams &params) {
  bool logprobs = false;
  if (auto it = body.find("logprobs"); it != body.end() && !it->is_null()) {
    if (!it->is_boolean())
      return badField("logprobs", "expected true or false");
    logprobs = it->get<bool>();
  }
  std::optional<int64_t> top;
  if (auto error = readLogprobCount(body, "top_logprobs", top))
    return error;
  if (top && !logprobs)
    return badField("top_logprobs", "needs \"logprobs\": true");
  params.logprobs = logprobs ? top.value_or(0) : -1;
  return std::nullopt;
}

/// The body as a JSON object, or the error.
std::optional<ApiError> readBody(absl::string_view text, Json &body) {
  absl::StatusOr<Json> parsed = parseJson<Json>(std::string_view(text.data(), text.size()),
                                                "request body");
  if (!parsed.ok())
    return badField("", parsed.status().message());
  if (!parsed->is_object())
    return badField("", "request body: expected a JSON object");
  body = std::move(*parsed);
  auto model = body.find("model");
  if (model != body.end() && !model->is_string())
    return badField("model", "expected a string");
  return std::nullopt;
}

/// The body, its "model" and the generation fields both endpoints share, then the
/// endpoint's own fields by `readRest(body, request)`.
template <typename Request, typename ReadRest>
Parsed<Request> parseRequest(absl::string_view text, ReadRest readRest) {
  Parsed<Request> out;
  Json body;
  Request request;
  std::optional<ApiError> error = readBody(text, body);
  if (!error) {
    if (auto model = body.find("model"); model != body.end())
      request.model = model->get<std::string>();
    error = readParams(body, request.params);
  }
  if (!error)
    error = readRest(body, request);
  if (error)
    out.error = std::move(*error);
  else
    out.request = std::move(request);
  return out;
}

/// Chat's messages (and tools), as mvc-run --messages reads them, and its logprobs.
std::optional<ApiError> readChatFields(const Json &body, ChatRequest &request) {
  Json conversation = {{"messages", body.contains("messages") ? body["messages"] : Json()}};
  if (auto tools = body.find("tools"); tools != body.end())
    conversation["tools"] = *tools;
  if (auto kwargs = body.find("chat_template_kwargs"); kwargs != body.end())
    conversation["chat_template_kwargs"] = *kwargs;
  absl::StatusOr<Conversation> parsed = parseConversation(conversation.dump(), "request");
  if (!parsed.ok()) {
    // "request: messages[1]...: ..." -> "messages[1]...: ..."
    absl::string_view message = parsed.status().message();
    absl::ConsumePrefix(&message, "request: ");
    ApiError error = badField("", message);
    error.param = absl::StartsWith(message, "tools")                  ? "tools"
                  : absl::StartsWith(message, "chat_template_kwargs") ? "chat_template_kwargs"
                                                                      : "messages";
    return error;
  }
  request.conversation = std::move(*parsed);
  return readChatLogprobs(body, request.params);
}

/// Completions' prompt (a string, or token ids), echo and logprobs.
std::optional<ApiError> readCompletionFields(const Json &body, CompletionRequest &request) {
  auto prompt = body.find("prompt");
  if (prompt == body.end() || prompt->is_null())
    return badField("prompt", "missing (expected a string or an array of token ids)");
  if (prompt->is_string()) {
    request.text = prompt->get<std::string>();
  } else if (prompt->is_array() && prompt->size() == 1 && (*prompt)[0].is_string()) {
    request.text = (*prompt)[0].get<std::string>(); // a batch of one prompt
  } else if (prompt->is_array() && !prompt->empty()) {
    for (const Json &id : *prompt) {
      if (!id.is_number_integer() || id.get<int64_t>() < 0 ||
          id.get<int64_t>() > std::numeric_limits<int32_t>::max())
        return badField("prompt", absl::StrCat("expected a string or an array of token ids "
                                               "(non-negative integers), got ",
                                               id.dump().substr(0, 64)));
      request.ids.push_back(static_cast<int32_t>(id.get<int64_t>()));
    }
  } else {
    return badField("prompt", "expected a string, or a non-empty array of token ids "
                              "(one prompt per request)");
  }
  if (request.text && request.text->empty())
    return badField("prompt", "is empty");
  if (auto echo = body.find("echo"); echo != body.end() && !echo->is_null()) {
    if (!echo->is_boolean())
      return badField("echo", "expected true or false");
    request.echo = echo->get<bool>();
  }
  // logprobs: alternatives per token (0: the chosen token's only).
  if (auto error = readLogprobCount(body, "logprobs", request.params.logprobs))
    return error;
  request.params.promptLogprobs = request.echo && request.params.logprobs >= 0;
  return std::nullopt;
}

} // namespace

Parsed<ChatRequest> parseChatRequest(absl::string_view text) {
  return parseRequest<ChatRequest>(text, readChatFields);
}

Parsed<CompletionRequest> parseCompletionRequest(absl::string_view text) {
  return parseRequest<CompletionRequest>(text, readCompletionFields);
}

} // namespace mvc::serving
