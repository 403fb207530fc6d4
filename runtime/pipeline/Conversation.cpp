//===- Conversation.cpp ---------------------------------------------------===//
#include "runtime/pipeline/Conversation.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "runtime/util/StatusMacros.h"

namespace mvc {

namespace {

using Json = nlohmann::ordered_json;

constexpr const char *kRoles[] = {"system", "developer", "user", "assistant", "tool"};

/// The deepest nesting of objects and arrays in `text`, outside strings; stops counting
/// past `limit` (the parser recurses, so depth is checked before parsing).
int nestingDepth(absl::string_view text, int limit) {
  int depth = 0, deepest = 0;
  bool inString = false;
  for (size_t i = 0; i < text.size() && deepest <= limit; ++i) {
    char c = text[i];
    if (inString) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        inString = false;
    } else if (c == '"') {
      inString = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

class Parser {
public:
  explicit Parser(absl::string_view name) : name(name) {}

  absl::Status error(absl::string_view where, absl::string_view message) const {
    return absl::InvalidArgumentError(absl::StrCat(name, ": ", where, ": ", message));
  }

  /// A media reference: a path, a file:// URL or a base64 data: URL.
  absl::Status addMedia(ConversationMedia::Kind kind, const Json &value, const std::string &where,
                        Conversation &out) const {
    if (!value.is_string() || value.get<std::string>().empty())
      return error(where, "expected a file path or a data: URL");
    std::string url = value.get<std::string>();
    ConversationMedia media;
    media.kind = kind;
    media.where = where;
    if (absl::StartsWith(url, "data:")) {
      size_t comma = url.find(',');
      if (comma == std::string::npos || !absl::EndsWith(url.substr(0, comma), ";base64"))
        return error(where, "a data: URL must be base64 (data:<type>;base64,<data>)");
      if (!absl::Base64Unescape(absl::string_view(url).substr(comma + 1), &media.bytes) ||
          media.bytes.empty())
        return error(where, "the data: URL is not valid base64");
    } else if (absl::StartsWith(url, "file://")) {
      media.path = url.substr(7);
    } else if (absl::StartsWith(url, "http://") || absl::StartsWith(url, "https://")) {
      return error(where, "remote URLs are not fetched; give a file path or a data: URL");
    } else {
      media.path = url;
    }
    out.media.push_back(std::move(media));
    return absl::OkStatus();
  }

  absl::StatusOr<Json> part(const Json &item, const std::string &where, Conversation &out) const {
    if (!item.is_object())
      return error(where, "expected an object with a \"type\"");
    auto type = item.find("type");
    if (type == item.end() || !type->is_string())
      return error(where, "expected a \"type\" string");
    std::string kind = type->get<std::string>();
    if (kind == "text") {
      auto text = item.find("text");
      if (text == item.end() || !text->is_string())
        return error(where, "a text part needs a \"text\" string");
      return Json{{"type", "text"}, {"text", *text}};
    }
    if (kind == "image" || kind == "video") {
      auto mediaKind =
          kind == "image" ? ConversationMedia::Kind::Image : ConversationMedia::Kind::Video;
      const Json *source = nullptr;
      for (const char *key : {kind.c_str(), "url", "path"})
        if (auto it = item.find(key); it != item.end() && !source)
          source = &*it;
      if (!source)
        return error(where, absl::StrCat("an ", kind, " part needs \"", kind,
                                         "\" (a file path or a data: URL)"));
      MVC_RETURN_IF_ERROR(addMedia(mediaKind, *source, where, out));
      return Json{{"type", kind}};
    }
    if (kind == "image_url") {
      auto url = item.find("image_url");
      if (url == item.end())
        return error(where, "an image_url part needs \"image_url\": {\"url\": ...}");
      const Json &value = url->is_object() && url->contains("url") ? (*url)["url"] : *url;
      MVC_RETURN_IF_ERROR(
          addMedia(ConversationMedia::Kind::Image, value, where + ".image_url.url", out));
      return Json{{"type", "image"}};
    }
    return error(where, absl::StrCat("unknown part type '", kind,
                                     "' (expected text, image, image_url or video)"));
  }

  absl::StatusOr<Json> message(const Json &item, const std::string &where,
                               Conversation &out) const {
    if (!item.is_object())
      return error(where, "expected an object with \"role\" and \"content\"");
    auto role = item.find("role");
    if (role == item.end() || !role->is_string())
      return error(where, "expected a \"role\" string");
    if (std::find(std::begin(kRoles), std::end(kRoles), role->get<std::string>()) ==
        std::end(kRoles))
      return error(where + ".role",
                   absl::StrCat("unknown role '", role->get<std::string>(),
                                "' (expected system, developer, user, assistant or tool)"));
    Json result = item;
    auto content = item.find("content");
    if (content == item.end()) {
      if (!item.contains("tool_calls"))
        return error(where, "expected \"content\"");
    } else if (content->is_array()) {
      Json parts = Json::array();
      for (size_t j = 0; j < content->size(); ++j) {
        MVC_ASSIGN_OR_RETURN(Json p,
                             part((*content)[j], absl::StrCat(where, ".content[", j, "]"), out));
        parts.push_back(std::move(p));
      }
      result["content"] = std::move(parts);
    } else if (!content->is_string() && !content->is_null()) {
      return error(where + ".content", "expected a string, null or a list of parts");
    }
    return result;
  }

private:
  std::string name;
};

} // namespace

absl::Status validateTools(const Json &tools, absl::string_view where) {
  auto fail = [&](const std::string &at, absl::string_view message) {
    return absl::InvalidArgumentError(absl::StrCat(where, at, ": ", message));
  };
  if (!tools.is_array()) return fail("", "expected an array of tool definitions");
  for (size_t i = 0; i < tools.size(); ++i) {
    const Json &tool = tools[i];
    const std::string at = absl::StrCat("[", i, "]");
    if (!tool.is_object()) return fail(at, "expected {\"type\": \"function\", \"function\": {...}}");
    auto type = tool.find("type");
    if (type == tool.end() || *type != "function")
      return fail(at + ".type", "expected \"function\" (the only tool type)");
    auto function = tool.find("function");
    if (function == tool.end() || !function->is_object())
      return fail(at + ".function", "expected an object with name, description, parameters");
    auto fname = function->find("name");
    if (fname == function->end() || !fname->is_string())
      return fail(at + ".function.name", "expected a string");
    const std::string &n = fname->get_ref<const std::string &>();
    if (n.empty() || n.size() > 64 ||
        !std::all_of(n.begin(), n.end(), [](char c) {
          return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
        }))
      return fail(at + ".function.name", "expected 1 to 64 letters, digits, '_' or '-'");
    if (auto d = function->find("description"); d != function->end() && !d->is_string() && !d->is_null())
      return fail(at + ".function.description", "expected a string");
    if (auto p = function->find("parameters"); p != function->end() && !p->is_null()) {
      if (!p->is_object()) return fail(at + ".function.parameters", "expected a JSON schema object");
      auto ptype = p->find("type");
      if (ptype == p->end() || *ptype != "object")
        return fail(at + ".function.parameters.type", "expected \"object\" (arguments are an object)");
      if (auto props = p->find("properties"); props != p->end()) {
        if (!props->is_object())
          return fail(at + ".function.parameters.properties", "expected an object of schemas");
        for (const auto &[key, schema] : props->items())
          if (!schema.is_object())
            return fail(at + ".function.parameters.properties." + key, "expected a schema object");
      }
      if (auto required = p->find("required"); required != p->end()) {
        if (!required->is_array() ||
            !std::all_of(required->begin(), required->end(), [](const Json &r) { return r.is_string(); }))
          return fail(at + ".function.parameters.required", "expected an array of property names");
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Conversation> parseConversation(absl::string_view json, absl::string_view name) {
  Parser parser(name);
  if (nestingDepth(json, kMaxConversationDepth) > kMaxConversationDepth)
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": nested deeper than ", kMaxConversationDepth, " levels"));
  Json root = Json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded())
    return absl::InvalidArgumentError(absl::StrCat(name, ": not valid JSON"));
  Conversation out;
  const Json *messages = &root;
  if (root.is_object()) {
    auto it = root.find("messages");
    if (it == root.end())
      return parser.error("messages", "missing (expected an array of messages)");
    messages = &*it;
    if (auto tools = root.find("tools"); tools != root.end() && !tools->is_null()) {
      MVC_RETURN_IF_ERROR(validateTools(*tools, absl::StrCat(name, ": tools")));
      out.tools = *tools;
    }
    if (auto kwargs = root.find("chat_template_kwargs"); kwargs != root.end() && !kwargs->is_null()) {
      if (!kwargs->is_object())
        return parser.error("chat_template_kwargs", "expected an object of template variables");
      for (const auto &[key, value] : kwargs->items())
        if (key == "messages" || key == "tools" || key == "add_generation_prompt")
          return parser.error("chat_template_kwargs." + key, "is set by the conversation itself");
      out.templateKwargs = *kwargs;
    }
  }
  if (!messages->is_array() || messages->empty())
    return parser.error("messages", "expected a non-empty array of messages");
  for (size_t i = 0; i < messages->size(); ++i) {
    MVC_ASSIGN_OR_RETURN(Json message,
                         parser.message((*messages)[i], absl::StrCat("messages[", i, "]"), out));
    out.messages.push_back(std::move(message));
  }
  return out;
}

Conversation oneTurnConversation(absl::string_view user, absl::string_view system,
                                 int64_t numImages, bool contentParts, int64_t numVideos) {
  auto textContent = [&](absl::string_view text) -> Json {
    if (!contentParts && numImages == 0 && numVideos == 0)
      return std::string(text);
    return Json::array({{{"type", "text"}, {"text", std::string(text)}}});
  };
  Conversation out;
  if (!system.empty())
    out.messages.push_back(
        {{"role", "system"},
         {"content", contentParts ? textContent(system) : Json(std::string(system))}});
  Json content = textContent(user);
  if (numImages > 0 || numVideos > 0) {
    Json parts = Json::array();
    for (int64_t i = 0; i < numImages; ++i)
      parts.push_back({{"type", "image"}});
    for (int64_t i = 0; i < numVideos; ++i)
      parts.push_back({{"type", "video"}});
    parts.push_back(content[0]);
    content = std::move(parts);
  }
  out.messages.push_back({{"role", "user"}, {"content", std::move(content)}});
  return out;
}

} // namespace mvc
