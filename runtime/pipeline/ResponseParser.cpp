//===- ResponseParser.cpp - reasoning, content and tool calls, streamed ---===//
#include "runtime/pipeline/ResponseParser.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "runtime/text/JsonString.h"

namespace mvc {

ResponseFormat ResponseFormat::gemma4() {
  ResponseFormat f;
  f.reasoningOpen = "<|channel>thought\n";
  f.reasoningClose = "<channel|>";
  f.toolCallOpen = "<|tool_call>call:";
  f.toolCallClose = "<tool_call|>";
  f.stringDelimiter = "<|\"|>";
  f.unquotedKeys = true;
  f.ends = {"<turn|>", "<|tool_response>", "<eos>"};
  return f;
}

namespace {

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Python's \w on text: letters, digits, underscore; any non-ASCII byte counts (a UTF-8
// letter of another script), as the regex module's Unicode \w mostly would.
bool isWord(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return u >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         c == '_';
}

/// The length of the longest proper suffix of `text` that begins one of `markers`.
size_t heldSuffix(absl::string_view text, const std::vector<const std::string *> &markers) {
  size_t best = 0;
  for (const std::string *m : markers)
    for (size_t n = std::min(text.size(), m->size() - 1); n > best; --n)
      if (text.substr(text.size() - n) == absl::string_view(*m).substr(0, n)) {
        best = n;
        break;
      }
  return best;
}

/// Python's json.dumps (", " and ": " separators, ensure_ascii).
void appendPython(const nlohmann::ordered_json &v, std::string &out) {
  switch (v.type()) {
  case nlohmann::ordered_json::value_t::object: {
    out += '{';
    bool first = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (!first) out += ", ";
      first = false;
      text::appendJsonString(out, it.key(), /*ensureAscii=*/true);
      out += ": ";
      appendPython(it.value(), out);
    }
    out += '}';
    return;
  }
  case nlohmann::ordered_json::value_t::array: {
    out += '[';
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) out += ", ";
      appendPython(v[i], out);
    }
    out += ']';
    return;
  }
  case nlohmann::ordered_json::value_t::string:
    text::appendJsonString(out, v.get<std::string>(), /*ensureAscii=*/true);
    return;
  default:
    out += v.dump();  // numbers (shortest round trip, as repr), true, false, null
  }
}

} // namespace

absl::StatusOr<std::string> toolArgumentsJson(absl::string_view body, const ResponseFormat &format) {
  // transformers' json content parser with its dialect knobs, step by step: strings
  // between the delimiters set aside, bare keys after { or , quoted, the strings put back
  // as JSON strings, then strict JSON.
  if (body.find('\x01') != absl::string_view::npos || body.find('\x02') != absl::string_view::npos)
    return absl::InvalidArgumentError("arguments hold reserved control characters");
  std::string working;
  std::vector<std::string> strings;
  const std::string &d = format.stringDelimiter;
  for (size_t at = 0;;) {
    size_t open = d.empty() ? absl::string_view::npos : body.find(d, at);
    size_t close = open == absl::string_view::npos ? open : body.find(d, open + d.size());
    if (close == absl::string_view::npos) {
      absl::StrAppend(&working, body.substr(at));
      break;
    }
    absl::StrAppend(&working, body.substr(at, open - at));
    strings.emplace_back(body.substr(open + d.size(), close - open - d.size()));
    absl::StrAppend(&working, "\x01", strings.size() - 1, "\x02");
    at = close + d.size();
  }
  if (format.unquotedKeys) {
    std::string quoted;
    for (size_t i = 0; i < working.size();) {
      if (i > 0 && (working[i - 1] == '{' || working[i - 1] == ',') && isWord(working[i])) {
        size_t j = i;
        while (j < working.size() && isWord(working[j])) ++j;
        if (j < working.size() && working[j] == ':') {
          absl::StrAppend(&quoted, "\"", working.substr(i, j - i), "\":");
          i = j + 1;
          continue;
        }
      }
      quoted += working[i++];
    }
    working = std::move(quoted);
  }
  std::string restored;
  for (size_t i = 0; i < working.size();) {
    if (working[i] == '\x01') {
      size_t end = working.find('\x02', i);
      size_t index = std::stoul(working.substr(i + 1, end - i - 1));
      restored += nlohmann::json(strings[index]).dump(-1, ' ', false,
                                                      nlohmann::json::error_handler_t::replace);
      i = end + 1;
      continue;
    }
    restored += working[i++];
  }
  nlohmann::ordered_json parsed = nlohmann::ordered_json::parse(restored, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object())
    return absl::InvalidArgumentError(absl::StrCat("arguments are not a JSON object: ", restored));
  std::string out;
  appendPython(parsed, out);
  return out;
}

ResponseParser::ResponseParser(ResponseFormat f) : format(std::move(f)) {
  contentMarkers = {&format.reasoningOpen, &format.toolCallOpen};
  for (const std::string &e : format.ends) contentMarkers.push_back(&e);
  reasoningMarkers = {&format.reasoningClose};
  toolCallMarkers = {&format.toolCallClose};
}

void ResponseParser::emitText(absl::string_view text, bool regionEnds,
                              std::vector<ResponseEvent> &events) {
  // Stripped as transformers strips a region: nothing before its first non-space byte,
  // trailing whitespace only once more text follows it.
  if (!regionStarted) {
    size_t first = 0;
    while (first < text.size() && isSpace(text[first])) ++first;
    text.remove_prefix(first);
  }
  size_t end = text.size();
  while (end > 0 && isSpace(text[end - 1])) --end;
  if (end > 0) {
    std::string out = std::move(pendingWs);
    pendingWs.clear();
    out.append(text.data(), end);
    regionStarted = true;
    const bool reasoning = mode == Mode::kReasoning;
    (reasoning ? reasoningText : contentText) += out;
    events.push_back({reasoning ? ResponseEvent::Kind::kReasoning : ResponseEvent::Kind::kContent,
                      std::move(out), {}});
  }
  if (regionStarted) pendingWs.append(text.data() + end, text.size() - end);
  if (regionEnds) {
    pendingWs.clear();
    regionStarted = false;
  }
}

void ResponseParser::closeToolCall(bool complete, std::vector<ResponseEvent> &events) {
  size_t nameEnd = 0;
  while (nameEnd < region.size() && isWord(region[nameEnd])) ++nameEnd;
  absl::StatusOr<std::string> arguments =
      nameEnd == 0 || !complete
          ? absl::StatusOr<std::string>(absl::InvalidArgumentError("not a call"))
          : toolArgumentsJson(absl::string_view(region).substr(nameEnd), format);
  mode = Mode::kContent;
  if (arguments.ok()) {
    ToolCall call{region.substr(0, nameEnd), *std::move(arguments)};
    calls.push_back(call);
    events.push_back({ResponseEvent::Kind::kToolCall, "", std::move(call)});
  } else {
    // Not a call after all: the model's text, as content.
    std::string literal = absl::StrCat(format.toolCallOpen, region, complete ? format.toolCallClose : "");
    emitText(literal, /*regionEnds=*/false, events);
  }
  region.clear();
}

void ResponseParser::process(bool atEnd, std::vector<ResponseEvent> &events) {
  while (mode != Mode::kEnded) {
    const std::vector<const std::string *> &markers = mode == Mode::kContent     ? contentMarkers
                                                     : mode == Mode::kReasoning ? reasoningMarkers
                                                                                : toolCallMarkers;
    // The earliest marker, the longest of those starting there.
    size_t at = std::string::npos;
    const std::string *found = nullptr;
    for (const std::string *m : markers) {
      if (m->empty()) continue;
      size_t p = buffer.find(*m);
      if (p != std::string::npos && (p < at || (p == at && m->size() > found->size())))
        at = p, found = m;
    }
    if (found) {
      absl::string_view before(buffer.data(), at);
      if (mode == Mode::kToolCall) {
        region.append(before.data(), before.size());
        buffer.erase(0, at + found->size());
        closeToolCall(/*complete=*/true, events);
        continue;
      }
      emitText(before, /*regionEnds=*/true, events);
      buffer.erase(0, at + found->size());
      if (mode == Mode::kReasoning) {
        mode = Mode::kContent;
      } else if (found == &format.reasoningOpen) {
        mode = Mode::kReasoning;
      } else if (found == &format.toolCallOpen) {
        mode = Mode::kToolCall;
      } else {
        mode = Mode::kEnded;
      }
      continue;
    }
    // No whole marker: everything but a suffix that may begin one goes out.
    size_t hold = atEnd ? 0 : heldSuffix(buffer, markers);
    absl::string_view ready(buffer.data(), buffer.size() - hold);
    if (mode == Mode::kToolCall) {
      region.append(ready.data(), ready.size());
    } else {
      emitText(ready, /*regionEnds=*/atEnd, events);
    }
    buffer.erase(0, ready.size());
    if (atEnd && mode == Mode::kToolCall) closeToolCall(/*complete=*/false, events);
    break;
  }
  if (mode == Mode::kEnded) buffer.clear();
}

std::vector<ResponseEvent> ResponseParser::feed(absl::string_view text) {
  std::vector<ResponseEvent> events;
  if (mode == Mode::kEnded) return events;
  buffer.append(text.data(), text.size());
  process(/*atEnd=*/false, events);
  return events;
}

std::vector<ResponseEvent> ResponseParser::finish() {
  std::vector<ResponseEvent> events;
  process(/*atEnd=*/true, events);
  if (mode == Mode::kContent || mode == Mode::kReasoning) emitText("", /*regionEnds=*/true, events);
  return events;
}

} // namespace mvc
