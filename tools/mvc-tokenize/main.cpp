// mvc-tokenize: JSONL in, JSONL out. Encodes {"text"} to {"ids"}, decodes {"ids"} to {"text"},
// or renders chat templates ({"messages", ...} to {"rendered"} or {"error"}). Exactly one
// output line per input line; a bad line yields {"error": ...} and the tool still exits 0.
#include <cstdio>
#include "runtime/util/ToolMain.h"
#include "runtime/util/Files.h"
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/text/ChatTemplate.h"
#include "runtime/text/Tokenizer.h"

namespace {

using nlohmann::ordered_json;

constexpr const char* kUsage = R"(usage: mvc-tokenize --tokenizer DIR [options] < in.jsonl > out.jsonl
       mvc-tokenize --chat --chat-template FILE [--special NAME=VALUE]... < in.jsonl

Reads one JSON object per line on stdin and writes one per line on stdout.

  --tokenizer DIR       directory with tokenizer.json (and tokenizer_config.json for --chat)
  (default mode)        {"text": "..."} -> {"ids": [...]}, special tokens added
  --no-special          encode without the post-processor's special tokens (default: added)
  --decode              {"ids": [...]} -> {"text": "..."}
  --skip-special        with --decode: drop special tokens (default: kept)
  --chat                {"messages": [...], "tools": ..., "add_generation_prompt": ..., extra
                        template arguments} -> {"rendered": "..."} or {"error": "..."}, using
                        the chat template and special tokens of DIR/tokenizer_config.json
  --chat-template FILE  with --chat: render this template file instead (no --tokenizer needed)
  --special NAME=VALUE  with --chat-template: a special-token string (e.g. bos_token=<s>);
                        repeatable; specials not given are undefined in the template
  --now "YYYY-MM-DD HH:MM:SS"  the time strftime_now() sees (default: the current local time)
  --help                this text
)";

struct Options {
  std::string tokenizer_dir;
  std::string chat_template_file;
  bool add_special = true;
  bool decode = false;
  bool skip_special = false;
  bool chat = false;
  ordered_json specials = ordered_json::object();
  std::tm now = mvc::text::localNow();
};

bool readFile(const std::string& path, std::string* out) {
  absl::StatusOr<std::string> text = mvc::readInputFile(path, "file");
  if (!text.ok()) {
    std::fprintf(stderr, "mvc-tokenize: %s\n", std::string(text.status().message()).c_str());
    return false;
  }
  *out = std::move(*text);
  return true;
}

[[noreturn]] void usageError(const std::string& message) {
  std::fprintf(stderr, "mvc-tokenize: %s\n\n%s", message.c_str(), kUsage);
  std::exit(2);
}

Options parseOptions(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usageError(flag + " needs a value");
      return argv[++i];
    };
    if (flag == "--help" || flag == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (flag == "--tokenizer") {
      options.tokenizer_dir = value();
    } else if (flag == "--no-special") {
      options.add_special = false;
    } else if (flag == "--decode") {
      options.decode = true;
    } else if (flag == "--skip-special") {
      options.skip_special = true;
    } else if (flag == "--chat") {
      options.chat = true;
    } else if (flag == "--chat-template") {
      options.chat_template_file = value();
    } else if (flag == "--special") {
      std::string pair = value();
      size_t eq = pair.find('=');
      if (eq == std::string::npos || eq == 0) usageError("--special expects NAME=VALUE");
      options.specials[pair.substr(0, eq)] = pair.substr(eq + 1);
    } else if (flag == "--now") {
      std::string text = value();
      std::tm now{};
      if (std::sscanf(text.c_str(), "%d-%d-%d %d:%d:%d", &now.tm_year, &now.tm_mon, &now.tm_mday,
                      &now.tm_hour, &now.tm_min, &now.tm_sec) != 6) {
        usageError("--now expects \"YYYY-MM-DD HH:MM:SS\"");
      }
      now.tm_year -= 1900;
      now.tm_mon -= 1;
      now.tm_isdst = -1;
      std::mktime(&now);  // Fills in the weekday and day of the year for %a / %j.
      options.now = now;
    } else {
      usageError("unknown flag " + flag);
    }
  }
  if (options.chat && options.chat_template_file.empty() && options.tokenizer_dir.empty()) {
    usageError("--chat needs --tokenizer DIR or --chat-template FILE");
  }
  if (!options.chat && options.tokenizer_dir.empty()) usageError("--tokenizer DIR is required");
  if (options.chat && options.decode) usageError("--chat and --decode are exclusive");
  return options;
}

void writeLine(const ordered_json& json) {
  std::string line = json.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stdout);
}

ordered_json errorLine(const std::string& message) { return {{"error", message}}; }

int runChat(const Options& options) {
  std::string source;
  ordered_json specials = options.specials;
  if (!options.chat_template_file.empty()) {
    if (!readFile(options.chat_template_file, &source)) {
      std::fprintf(stderr, "mvc-tokenize: cannot read %s\n", options.chat_template_file.c_str());
      return 1;
    }
  } else {
    std::string config_text;
    std::string path = options.tokenizer_dir + "/tokenizer_config.json";
    if (!readFile(path, &config_text)) {
      std::fprintf(stderr, "mvc-tokenize: cannot read %s\n", path.c_str());
      return 1;
    }
    auto config = mvc::text::parseTokenizerConfig(config_text);
    if (!config.ok()) {
      std::fprintf(stderr, "mvc-tokenize: %s\n", std::string(config.status().message()).c_str());
      return 1;
    }
    if (config->chat_template.empty()) {
      std::fprintf(stderr, "mvc-tokenize: %s has no chat_template\n", path.c_str());
      return 1;
    }
    source = config->chat_template;
    specials = config->specials;
  }
  auto chat = mvc::text::ChatTemplate::parse(source);
  if (!chat.ok()) {
    std::fprintf(stderr, "mvc-tokenize: %s\n", std::string(chat.status().message()).c_str());
    return 1;
  }
  for (std::string line; std::getline(std::cin, line);) {
    auto input = ordered_json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (input.is_discarded() || !input.is_object()) {
      writeLine(errorLine("input line is not a JSON object"));
      continue;
    }
    auto rendered = chat->apply(input, specials, options.now);
    writeLine(rendered.ok() ? ordered_json{{"rendered", *rendered}}
                            : errorLine(std::string(rendered.status().message())));
  }
  return 0;
}

int runTokenizer(const Options& options) {
  auto tokenizer = mvc::text::Tokenizer::fromFile(options.tokenizer_dir + "/tokenizer.json");
  if (!tokenizer.ok()) {
    std::fprintf(stderr, "mvc-tokenize: %s\n", std::string(tokenizer.status().message()).c_str());
    return 1;
  }
  for (std::string line; std::getline(std::cin, line);) {
    auto input = ordered_json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (options.decode) {
      if (input.is_discarded() || !input.is_object() || !input.contains("ids") ||
          !input["ids"].is_array()) {
        writeLine(errorLine("expected {\"ids\": [...]}"));
        continue;
      }
      std::vector<mvc::text::TokenId> ids;
      bool valid = true;
      for (const auto& id : input["ids"]) {
        valid = valid && id.is_number_integer() && id.get<int64_t>() >= 0 &&
                id.get<int64_t>() <= INT32_MAX;
        if (valid) ids.push_back(id.get<mvc::text::TokenId>());
      }
      if (!valid) {
        writeLine(errorLine("ids must be non-negative integers"));
        continue;
      }
      writeLine({{"text", (*tokenizer)->decode(ids, options.skip_special)}});
      continue;
    }
    if (input.is_discarded() || !input.is_object() || !input.contains("text") ||
        !input["text"].is_string()) {
      writeLine(errorLine("expected {\"text\": \"...\"}"));
      continue;
    }
    writeLine({{"ids", (*tokenizer)->encode(input["text"].get<std::string>(), options.add_special)}});
  }
  return 0;
}

}  // namespace

static int toolMain(int argc, char **argv) {
  std::ios::sync_with_stdio(false);
  Options options = parseOptions(argc, argv);
  return options.chat ? runChat(options) : runTokenizer(options);
}

int main(int argc, char **argv) {
  return mvc::guardedMain("mvc-tokenize", [&] { return toolMain(argc, argv); });
}
