//===- mvc-serve.cpp - an OpenAI-compatible server over an mvc artifact --===//
//
//   mvc-serve MODEL.mvc [--host 127.0.0.1] [--port 8080] [--device cpu|cuda-emu]
//             [--threads N] [--kv-pages N | --kv-memory SIZE] [--max-batch-tokens N] [--max-seqs N]
//             [--max-requests N] [--api-key KEY] [--served-model-name NAME]
//             [--allowed-local-media DIR] [--max-body-size SIZE] [--no-prefix-cache]
//             [--vision-cache SIZE]
//
// Endpoints: POST /v1/chat/completions, POST /v1/completions, GET /v1/models, GET /health
// (503 while the model loads), GET /metrics (Prometheus). HTTP is cpp-httplib's (Debian's
// libcpp-httplib-dev); the model, the step engine and the request loop are
// runtime/serving's Scheduler. `--port 0` picks a free port; the "listening on" line on
// stderr says which. One line per request on stderr: id, status, prompt and completion
// tokens, time to first token.
//
//===----------------------------------------------------------------------===//
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "mvc/Runtime.h"
#include "runtime/artifact/ArtifactReader.h"
#include "runtime/pipeline/ConversationImages.h"
#include "runtime/pipeline/ReplyStream.h"
#include "runtime/pipeline/TextSession.h"
#include "runtime/serving/OpenAiRequest.h"
#include "runtime/serving/Scheduler.h"
#include "runtime/util/ByteSize.h"
#include "runtime/util/ToolMain.h"
#include "tools/mvc-serve/HttpServer.h"

namespace mvc::serving {
namespace {

using Json = nlohmann::ordered_json;

struct Options {
  std::string artifact;
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string device = "cpu";
  int threads = 0;
  int64_t kvPages = 0;
  int64_t kvMemory = 0; // --kv-memory: bytes of KV pages (0: by --kv-pages or the artifact)
  int64_t maxBatchTokens = 512;
  int64_t maxSeqs = 0;
  int64_t maxRequests = 256;
  std::string apiKey;
  std::string servedModelName;
  std::string allowedLocalMedia;
  int64_t maxBodyBytes = int64_t{32} << 20;
  bool prefixCache = true;
  int64_t visionCache = int64_t{256} << 20; // --vision-cache: bytes of image features kept
  int64_t maxConnections = 16384;
};

void printHelp() {
  std::cout
      << "usage: mvc-serve MODEL.mvc [options]\n"
         "An OpenAI-compatible HTTP server over a language-model artifact.\n"
         "  --host ADDR            address to bind (default 127.0.0.1: loopback only)\n"
         "  --port N               port (default 8080; 0 picks a free one, printed on stderr)\n"
         "  --device D             cpu (default) or cuda-emu\n"
         "  --threads N            threads of execution (default: one per hardware thread)\n"
         "  --kv-pages N           KV cache pages (default: the artifact's num_pages)\n"
         "  --kv-memory SIZE       as many KV cache pages as fit SIZE bytes (suffix K, M, G;\n"
         "                         instead of --kv-pages)\n"
         "  --max-batch-tokens N   most tokens one step takes, decodes first (default 512)\n"
         "  --max-seqs N           most sequences holding KV pages at once (default: no limit)\n"
         "  --max-requests N       requests queued or running before 503 (default 256)\n"
         "  --api-key KEY          require 'Authorization: Bearer KEY'\n"
         "  --served-model-name S  the model id of /v1/models and requests (default: the\n"
         "                         artifact's file name without .mvc)\n"
         "  --allowed-local-media DIR  image parts may name files (file:// or paths) under DIR\n"
         "  --max-body-size SIZE   largest request body (suffix K, M; default 32M): larger is 413\n"
         "  --no-prefix-cache      do not keep finished requests' KV pages for later prompts\n"
         "                         that start alike (kept pages are evicted when needed)\n"
         "  --vision-cache SIZE    keep up to SIZE bytes of vision-encoder outputs by image\n"
         "                         content, so a repeated image is encoded once (0: off;\n"
         "                         default 256M)\n"
         "  --max-connections N    open connections at once; more are closed when accepted\n"
         "                         (default 16384; idle ones wait without a thread and close\n"
         "                         after 30 s)\n";
}

absl::StatusOr<int64_t> parseSize(const std::string &flag, const std::string &text) {
  std::optional<uint64_t> bytes = parseByteSize(text);
  if (!bytes || *bytes > (uint64_t{1} << 40))
    return absl::InvalidArgumentError(absl::StrCat(
        flag, ": expected a positive size in bytes (suffix K, M or G), got '", text, "'"));
  return static_cast<int64_t>(*bytes);
}

absl::StatusOr<Options> parseArgs(int argc, char **argv, bool &help) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> absl::StatusOr<std::string> {
      if (i + 1 >= argc)
        return absl::InvalidArgumentError(absl::StrCat(arg, " needs a value"));
      return std::string(argv[++i]);
    };
    auto integer = [&](int64_t low, int64_t high) -> absl::StatusOr<int64_t> {
      absl::StatusOr<std::string> text = value();
      if (!text.ok())
        return text.status();
      int64_t v = 0;
      if (!absl::SimpleAtoi(*text, &v) || v < low || v > high)
        return absl::InvalidArgumentError(absl::StrCat(arg, ": expected an integer in [", low,
                                                       ", ", high, "], got '", *text, "'"));
      return v;
    };
    auto byteSize = [&]() -> absl::StatusOr<int64_t> {
      absl::StatusOr<std::string> text = value();
      if (!text.ok())
        return text.status();
      return parseSize(arg, *text);
    };
    absl::Status status;
    auto set = [&](auto &into, auto result) {
      if (!result.ok())
        status = result.status();
      else
        into = *result;
    };
    if (arg == "-h" || arg == "--help") {
      help = true;
      return options;
    } else if (arg == "--host") {
      set(options.host, value());
    } else if (arg == "--port") {
      int64_t port = 0;
      set(port, integer(0, 65535));
      options.port = static_cast<int>(port);
    } else if (arg == "--device") {
      set(options.device, value());
    } else if (arg == "--threads") {
      int64_t threads = 0;
      set(threads, integer(0, 1024));
      options.threads = static_cast<int>(threads);
    } else if (arg == "--no-prefix-cache") {
      options.prefixCache = false;
    } else if (arg == "--kv-pages") {
      set(options.kvPages, integer(1, int64_t{1} << 24));
    } else if (arg == "--max-batch-tokens") {
      set(options.maxBatchTokens, integer(1, int64_t{1} << 20));
    } else if (arg == "--max-seqs") {
      set(options.maxSeqs, integer(1, int64_t{1} << 20));
    } else if (arg == "--max-requests") {
      set(options.maxRequests, integer(1, int64_t{1} << 20));
    } else if (arg == "--api-key") {
      set(options.apiKey, value());
    } else if (arg == "--served-model-name") {
      set(options.servedModelName, value());
    } else if (arg == "--allowed-local-media") {
      set(options.allowedLocalMedia, value());
    } else if (arg == "--kv-memory") {
      set(options.kvMemory, byteSize());
    } else if (arg == "--max-body-size") {
      set(options.maxBodyBytes, byteSize());
    } else if (arg == "--max-connections") {
      set(options.maxConnections, integer(1, int64_t{1} << 20));
    } else if (arg == "--vision-cache") {
      set(options.visionCache, byteSize());
    } else if (!arg.empty() && arg[0] == '-') {
      return absl::InvalidArgumentError(absl::StrCat("unknown option ", arg, " (see --help)"));
    } else if (options.artifact.empty()) {
      options.artifact = arg;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("a second model '", arg, "'"));
    }
    if (!status.ok())
      return status;
  }
  if (options.artifact.empty())
    return absl::InvalidArgumentError("no model given (mvc-serve MODEL.mvc; see --help)");
  if (options.servedModelName.empty())
    options.servedModelName = std::filesystem::path(options.artifact).stem().string();
  if (!options.allowedLocalMedia.empty()) {
    std::error_code error;
    std::filesystem::path dir = std::filesystem::canonical(options.allowedLocalMedia, error);
    if (error || !std::filesystem::is_directory(dir))
      return absl::InvalidArgumentError(absl::StrCat("--allowed-local-media ",
                                                     options.allowedLocalMedia,
                                                     ": not a directory"));
    options.allowedLocalMedia = dir.string();
  }
  if (options.kvPages > 0 && options.kvMemory > 0)
    return absl::InvalidArgumentError("--kv-pages and --kv-memory both size the KV cache: give one");
  return options;
}

/// JSON text; invalid UTF-8 (a model's partial characters, a file name) becomes U+FFFD
/// rather than an exception.
std::string jsonText(const Json &value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

/// A string's UTF-8 bytes as a JSON array (chat logprobs' "bytes").
Json bytesOf(const std::string &text) {
  Json bytes = Json::array();
  for (unsigned char c : text)
    bytes.push_back(static_cast<int>(c));
  return bytes;
}

/// Chat's logprobs object for `entries`: {"content": [{token, logprob, bytes,
/// top_logprobs: [{token, logprob, bytes}]}], "refusal": null}.
Json chatLogprobs(const std::vector<LogprobEntry> &entries) {
  Json content = Json::array();
  for (const LogprobEntry &entry : entries) {
    Json top = Json::array();
    for (const auto &[token, logprob] : entry.top)
      top.push_back({{"token", token}, {"logprob", logprob}, {"bytes", bytesOf(token)}});
    content.push_back({{"token", entry.text},
                       {"logprob", entry.logprob},
                       {"bytes", bytesOf(entry.text)},
                       {"top_logprobs", std::move(top)}});
  }
  return {{"content", std::move(content)}, {"refusal", nullptr}};
}

/// The legacy completions logprobs object for `entries`: parallel lists of tokens, their
/// logprobs, {token: logprob} alternatives and each token's byte offset in the choice's
/// text, counted from `offset` (the text before these tokens) and advanced past them.
Json completionLogprobs(const std::vector<LogprobEntry> &entries, int64_t &offset) {
  Json tokens = Json::array(), logprobs = Json::array(), top = Json::array(),
       offsets = Json::array();
  for (const LogprobEntry &entry : entries) {
    tokens.push_back(entry.text);
    logprobs.push_back(std::isnan(entry.logprob) ? Json() : Json(entry.logprob));
    Json alternatives = Json::object();
    // A dict by text: tokens that decode alike share a key, the most likely one's.
    for (const auto &[token, logprob] : entry.top)
      if (!alternatives.contains(token))
        alternatives[token] = logprob;
    // The first prompt token (logprob NaN: nothing predicts it) has null for both.
    top.push_back(std::isnan(entry.logprob) ? Json() : std::move(alternatives));
    offsets.push_back(offset);
    offset += static_cast<int64_t>(entry.text.size());
  }
  return {{"tokens", std::move(tokens)},
          {"token_logprobs", std::move(logprobs)},
          {"top_logprobs", std::move(top)},
          {"text_offset", std::move(offsets)}};
}

/// OpenAI's error body.
std::string errorBody(const ApiError &error) {
  Json body = {{"error",
                {{"message", error.message},
                 {"type", error.type},
                 {"param", error.param.empty() ? Json() : Json(error.param)},
                 {"code", Json()}}}};
  return jsonText(body);
}

ApiError makeError(int status, absl::string_view type, absl::string_view message,
                   absl::string_view param = "") {
  ApiError error;
  error.status = status;
  error.type = std::string(type);
  error.message = std::string(message);
  error.param = std::string(param);
  return error;
}

class Server {
public:
  explicit Server(Options options)
      : options(std::move(options)), http(limitsOf(this->options)) {}

  int run() {
    // Each connection is a file descriptor: raise the soft limit (Debian's is 1024) toward
    // --max-connections, as far as the hard limit allows.
    rlimit files{};
    if (::getrlimit(RLIMIT_NOFILE, &files) == 0) {
      const rlim_t want = static_cast<rlim_t>(options.maxConnections) + 256;
      if (files.rlim_cur < want) {
        files.rlim_cur = std::min(want, files.rlim_max);
        ::setrlimit(RLIMIT_NOFILE, &files);
      }
      if (files.rlim_cur < want)
        std::cerr << "mvc-serve: note: open files are limited to " << files.rlim_cur
                  << " (ulimit -n): fewer than --max-connections " << options.maxConnections
                  << " connections fit\n";
    }
    http.set_payload_max_length(static_cast<size_t>(options.maxBodyBytes));
    http.set_read_timeout(10, 0);
    // What the Keep-Alive header announces: HttpServer's idle limit, no request count.
    http.set_keep_alive_timeout(30);
    http.set_keep_alive_max_count(1 << 20);
    http.set_write_timeout(30, 0);
    http.Get("/health", [&](const httplib::Request &, httplib::Response &res) {
      if (!ready) {
        res.status = 503;
        res.set_content(R"({"status":"loading"})", "application/json");
      } else {
        res.set_content(R"({"status":"ok"})", "application/json");
      }
    });
    http.Get("/metrics", [&](const httplib::Request &, httplib::Response &res) {
      if (!ready)
        return sendError(res, makeError(503, "server_error", "the model is loading"));
      res.set_content(scheduler->metricsText(), "text/plain; version=0.0.4");
    });
    http.Get("/v1/models", [&](const httplib::Request &req, httplib::Response &res) {
      if (!authorized(req, res))
        return;
      Json model = {{"id", options.servedModelName},
                    {"object", "model"},
                    {"created", static_cast<int64_t>(startTime)},
                    {"owned_by", "mvc"}};
      res.set_content(jsonText(Json{{"object", "list"}, {"data", Json::array({model})}}),
                      "application/json");
    });
    http.Post("/v1/chat/completions", [&](const httplib::Request &req, httplib::Response &res) {
      handle(req, res, /*chat=*/true);
    });
    http.Post("/v1/completions", [&](const httplib::Request &req, httplib::Response &res) {
      handle(req, res, /*chat=*/false);
    });
    http.set_error_handler([&](const httplib::Request &, httplib::Response &res) {
      if (res.status == 413)
        sendError(res, makeError(413, "invalid_request_error",
                                 absl::StrCat("the request body is larger than ",
                                              options.maxBodyBytes, " bytes")));
      else if (res.status == 404 && res.body.empty())
        sendError(res, makeError(404, "invalid_request_error", "no such endpoint"));
    });

    int port = options.port;
    if (port == 0) {
      port = http.bind_to_any_port(options.host);
      if (port < 0) {
        std::cerr << "mvc-serve: error: cannot bind " << options.host << "\n";
        return 1;
      }
    } else if (!http.bind_to_port(options.host, port)) {
      std::cerr << "mvc-serve: error: cannot bind " << options.host << ":" << port << "\n";
      return 1;
    }
    http.widenBacklog(4096);
    // Each line goes out in one write: the loader thread's lines never interleave with this
    // thread's.
    std::cerr << absl::StrCat("mvc-serve: listening on ", options.host, ":", port, "\n");
    std::thread loader([&] {
      absl::Status status = load();
      if (!status.ok()) {
        std::cerr << absl::StrCat("mvc-serve: error: ", status.message(), "\n");
        loadFailed = true;
        // stop() only stops a server that is listening: wait for listen to begin.
        for (int i = 0; i < 1000 && !http.is_running(); ++i)
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        http.stop();
        return;
      }
      ready = true;
      std::cerr << absl::StrCat("mvc-serve: ready: ", options.servedModelName, "\n");
    });
    http.listen_after_bind();
    loader.join();
    http.shutdown(); // the handlers in flight finish while the scheduler still runs
    scheduler.reset();
    return loadFailed ? 1 : 0;
  }

private:
  absl::Status load() {
    SessionOptions sessionOptions;
    sessionOptions.device = options.device;
    sessionOptions.numThreads = options.threads;
    absl::StatusOr<std::unique_ptr<Session>> created = Session::create(sessionOptions);
    if (!created.ok())
      return created.status();
    session = std::move(*created);
    LoadOptions loadOptions;
    int64_t pages = options.kvPages;
    if (options.kvMemory > 0) {
      absl::StatusOr<std::unique_ptr<ArtifactReader>> reader = ArtifactReader::open(options.artifact);
      if (!reader.ok())
        return reader.status();
      const uint64_t perPage = (*reader)->manifest().stateBytesPerPage();
      if (perPage == 0)
        return absl::InvalidArgumentError(absl::StrCat(
            options.artifact, ": --kv-memory: the artifact has no KV cache pages to size"));
      pages = options.kvMemory / static_cast<int64_t>(perPage);
      if (pages < 1)
        return absl::InvalidArgumentError(absl::StrCat(
            "--kv-memory ", options.kvMemory, " bytes: less than one KV page (", perPage,
            " bytes)"));
      std::cerr << absl::StrCat("mvc-serve: KV cache: ", pages, " pages of ", perPage, " bytes (",
                                absl::StrFormat("%.1f", double(pages) * double(perPage) / double(1 << 20)),
                                " MiB)\n");
    }
    if (pages > 0)
      loadOptions.loadSymbols.push_back({"num_pages", pages});
    absl::StatusOr<std::unique_ptr<Model>> loaded = session->load(options.artifact, loadOptions);
    if (!loaded.ok())
      return loaded.status(); // names the file
    model = std::move(*loaded);
    if (!model->languageModel())
      return absl::InvalidArgumentError(
          absl::StrCat(options.artifact, ": not a language model (no language_model entry)"));
    absl::StatusOr<TextSession> createdText = TextSession::create(*model->languageModel());
    if (!createdText.ok())
      return absl::Status(createdText.status().code(),
                          absl::StrCat(options.artifact, ": ", createdText.status().message()));
    text.emplace(std::move(*createdText));
    if (!model->languageModel()->responseFormat.empty()) {
      absl::StatusOr<ResponseFormat> format = responseFormatByName(model->languageModel()->responseFormat);
      if (!format.ok()) return format.status();
      replyFormat = std::move(*format);
    }
    SchedulerOptions schedulerOptions;
    schedulerOptions.engine.maxStepTokens = options.maxBatchTokens;
    schedulerOptions.engine.maxRunning = options.maxSeqs;
    schedulerOptions.engine.prefixCache = options.prefixCache;
    schedulerOptions.engine.visionCacheBytes = static_cast<uint64_t>(options.visionCache);
    schedulerOptions.maxRequests = options.maxRequests;
    absl::StatusOr<std::unique_ptr<Scheduler>> made =
        Scheduler::create(*model, *text, textMutex, schedulerOptions);
    if (!made.ok())
      return made.status();
    scheduler = std::move(*made);
    return absl::OkStatus();
  }

  void sendError(httplib::Response &res, const ApiError &error) {
    res.status = error.status;
    res.set_content(errorBody(error), "application/json");
  }

  bool authorized(const httplib::Request &req, httplib::Response &res) {
    if (options.apiKey.empty())
      return true;
    std::string header = req.get_header_value("Authorization");
    if (header == "Bearer " + options.apiKey)
      return true;
    sendError(res, makeError(401, "invalid_request_error",
                             header.empty() ? "no API key (Authorization: Bearer KEY)"
                                            : "incorrect API key"));
    return false;
  }

  /// Image parts: inline data, or files under --allowed-local-media.
  std::optional<ApiError> checkMedia(const Conversation &conversation) {
    for (const ConversationMedia &media : conversation.media) {
      if (media.kind != ConversationMedia::Kind::Image)
        return makeError(400, "invalid_request_error",
                         absl::StrCat(media.where, ": videos are not supported"), "messages");
      if (media.path.empty())
        continue;
      if (options.allowedLocalMedia.empty())
        return makeError(400, "invalid_request_error",
                         absl::StrCat(media.where, ": local files are not allowed (start the "
                                                   "server with --allowed-local-media DIR)"),
                         "messages");
      std::error_code error;
      std::filesystem::path path = std::filesystem::weakly_canonical(media.path, error);
      std::string dir = options.allowedLocalMedia + "/";
      if (error || path.string().compare(0, dir.size(), dir) != 0)
        return makeError(400, "invalid_request_error",
                         absl::StrCat(media.where, ": ", media.path, " is not under ",
                                      options.allowedLocalMedia),
                         "messages");
    }
    return std::nullopt;
  }

  /// The prompt's token ids and image frames, or the error to send.
  std::optional<ApiError> encodeChat(const ChatRequest &request, Job &job) {
    if (std::optional<ApiError> error = checkMedia(request.conversation))
      return error;
    const RunHalf &half = scheduler->runHalf();
    if (!request.conversation.media.empty() && !half.takesImages())
      return makeError(400, "invalid_request_error", "this model takes no images", "messages");
    absl::StatusOr<std::vector<PreparedImage>> images =
        prepareConversationImages(request.conversation, half, ImageSplitting::kDefault);
    if (!images.ok())
      return makeError(400, "invalid_request_error", images.status().message(), "messages");
    // OpenAI clients send string content; a template that reads parts gets it as one text
    // part (as vLLM does; transformers would render the string's characters as parts).
    Conversation conversation = request.conversation;
    if (text->templateReadsParts())
      for (Json &message : conversation.messages)
        if (message.contains("content") && message["content"].is_string())
          message["content"] = Json::array({{{"type", "text"}, {"text", message["content"]}}});
    absl::StatusOr<std::vector<int32_t>> ids;
    {
      std::lock_guard<std::mutex> lock(textMutex);
      ids = text->encodeConversation(conversation, *images, &half);
    }
    if (!ids.ok())
      return makeError(400, "invalid_request_error", ids.status().message(), "messages");
    job.prompt = std::move(*ids);
    for (PreparedImage &image : *images)
      for (ImageFrame &frame : image.frames)
        job.images.push_back(std::move(frame));
    return std::nullopt;
  }

  std::optional<ApiError> encodeCompletion(const CompletionRequest &request, Job &job) {
    if (request.text) {
      absl::StatusOr<std::vector<int32_t>> ids;
      {
        std::lock_guard<std::mutex> lock(textMutex);
        ids = text->encodePrompt(*request.text);
      }
      if (!ids.ok())
        return makeError(400, "invalid_request_error", ids.status().message(), "prompt");
      job.prompt = std::move(*ids);
    } else {
      for (int32_t id : request.ids)
        if (id >= model->languageModel()->vocabSize)
          return makeError(400, "invalid_request_error",
                           absl::StrCat("token id ", id, " is outside the vocabulary of ",
                                        model->languageModel()->vocabSize),
                           "prompt");
      job.prompt = request.ids;
    }
    return std::nullopt;
  }

  void handle(const httplib::Request &req, httplib::Response &res, bool chat) {
    if (!ready)
      return sendError(res, makeError(503, "server_error", "the model is loading"));
    if (!authorized(req, res))
      return;
    const std::string id =
        absl::StrCat(chat ? "chatcmpl-" : "cmpl-", nextId.fetch_add(1) + 1);
    Job job;
    std::string modelName, echo;
    std::optional<ApiError> error;
    if (chat) {
      Parsed<ChatRequest> parsed = parseChatRequest(req.body);
      if (!parsed.ok())
        error = parsed.error;
      else {
        modelName = parsed.request->model;
        job.params = parsed.request->params;
        // A reply format splits the text at special-token markers: keep them in the text.
        job.params.keepSpecialTokens = replyFormat.has_value();
        error = encodeChat(*parsed.request, job);
      }
    } else {
      Parsed<CompletionRequest> parsed = parseCompletionRequest(req.body);
      if (!parsed.ok())
        error = parsed.error;
      else {
        modelName = parsed.request->model;
        job.params = parsed.request->params;
        error = encodeCompletion(*parsed.request, job);
        if (!error && parsed.request->echo) {
          std::lock_guard<std::mutex> lock(textMutex);
          echo = parsed.request->text ? *parsed.request->text : text->decode(job.prompt);
        }
      }
    }
    if (!error && !modelName.empty() && modelName != options.servedModelName)
      error = makeError(404, "invalid_request_error",
                        absl::StrCat("the model '", modelName, "' does not exist (this server "
                                                                "serves '",
                                     options.servedModelName, "')"),
                        "model");
    const GenerationParams params = job.params;
    std::shared_ptr<RequestStream> stream;
    if (!error) {
      auto submitted = scheduler->submit(std::move(job));
      if (std::holds_alternative<ApiError>(submitted))
        error = std::get<ApiError>(submitted);
      else
        stream = std::get<std::shared_ptr<RequestStream>>(submitted);
    }
    if (error) {
      log(id, error->status, 0, 0, 0);
      return sendError(res, *error);
    }
    const int64_t created = static_cast<int64_t>(std::time(nullptr));
    Json base = {{"id", id},
                 {"object", chat ? "chat.completion" : "text_completion"},
                 {"created", created},
                 {"model", options.servedModelName}};
    if (!params.stream) {
      std::vector<std::string> texts(static_cast<size_t>(params.n), echo);
      std::vector<std::string> finishes(static_cast<size_t>(params.n), "length");
      std::vector<std::vector<LogprobEntry>> logprobs(static_cast<size_t>(params.n));
      std::vector<ChoiceDelta> deltas;
      while (stream->next(deltas, std::chrono::milliseconds(100))) {
        if (HttpServer::clientGone()) {
          // The client closed its side: stop generating (its pages are freed at the
          // scheduler's next step). A client that only half-closed still gets an answer.
          stream->cancel();
          log(id, 499, stream->promptTokens, stream->completionTokens, stream->ttftSeconds);
          res.set_header("Connection", "close");
          return sendError(res, makeError(499, "invalid_request_error",
                                          "the client closed its connection"));
        }
        for (ChoiceDelta &delta : deltas) {
          texts[delta.index] += delta.text;
          // Prompt entries arrive before any new token's (their steps come first).
          for (LogprobEntry &entry : delta.promptLogprobs)
            logprobs[delta.index].push_back(std::move(entry));
          for (LogprobEntry &entry : delta.logprobs)
            logprobs[delta.index].push_back(std::move(entry));
          if (delta.finish)
            finishes[delta.index] = *delta.finish;
        }
        deltas.clear();
      }
      if (stream->error) {
        log(id, stream->error->status, stream->promptTokens, 0, 0);
        return sendError(res, *stream->error);
      }
      Json choices = Json::array();
      for (int64_t i = 0; i < params.n; ++i) {
        Json choice = {{"index", i}};
        if (chat && replyFormat) {
          // Reasoning, content and tool calls, as OpenAI-compatible servers return them.
          ResponseParser parser(*replyFormat);
          parser.feed(texts[i]);
          parser.finish();
          choice["message"] = assistantMessage(parser, absl::StrCat("call_", id, "_", i, "_"));
          if (!parser.toolCalls().empty() && finishes[i] == "stop") finishes[i] = "tool_calls";
        } else if (chat) {
          choice["message"] = {{"role", "assistant"}, {"content", texts[i]}};
        } else {
          choice["text"] = texts[i];
        }
        // text_offset counts from the start of the text: the echoed prompt's tokens come
        // first when their logprobs are there.
        int64_t offset = params.promptLogprobs ? 0 : static_cast<int64_t>(echo.size());
        choice["logprobs"] = params.logprobs < 0 ? Json()
                             : chat              ? chatLogprobs(logprobs[i])
                                                 : completionLogprobs(logprobs[i], offset);
        choice["finish_reason"] = finishes[i];
        choices.push_back(std::move(choice));
      }
      Json body = base;
      body["choices"] = std::move(choices);
      body["usage"] = usage(*stream);
      res.set_content(jsonText(body), "application/json");
      log(id, 200, stream->promptTokens, stream->completionTokens, stream->ttftSeconds);
      return;
    }
    // Streaming: server-sent events, one chunk per delta, then [DONE].
    base["object"] = chat ? "chat.completion.chunk" : "text_completion";
    auto started = std::make_shared<std::vector<bool>>(static_cast<size_t>(params.n), false);
    // Completions' text_offset: the bytes of each choice's text so far.
    auto offsets = std::make_shared<std::vector<int64_t>>(
        static_cast<size_t>(params.n), params.promptLogprobs ? 0 : static_cast<int64_t>(echo.size()));
    // With a reply format, each choice's text goes through its parser: deltas of content,
    // reasoning_content and tool_calls.
    auto parsers = std::make_shared<std::vector<std::unique_ptr<ResponseParser>>>();
    auto calls = std::make_shared<std::vector<int64_t>>(static_cast<size_t>(params.n), 0);
    if (chat && replyFormat)
      for (int64_t i = 0; i < params.n; ++i) parsers->push_back(std::make_unique<ResponseParser>(*replyFormat));
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, stream, base, params, chat, started, offsets, echo, id, parsers, calls](
            size_t, httplib::DataSink &sink) {
          auto send = [&](const Json &chunk) {
            std::string event = absl::StrCat("data: ", jsonText(chunk), "\n\n");
            return sink.write(event.data(), event.size());
          };
          auto chunk = [&](int64_t index, const std::string &content,
                           const std::vector<LogprobEntry> &entries,
                           const std::optional<std::string> &finish) {
            Json choice = {{"index", index}};
            std::optional<std::string> finishReason = finish;
            if (chat && !parsers->empty()) {
              ResponseParser &parser = *(*parsers)[index];
              std::vector<ResponseEvent> events = parser.feed(content);
              if (finish) {
                std::vector<ResponseEvent> last = parser.finish();
                events.insert(events.end(), last.begin(), last.end());
              }
              Json delta = Json::object();
              if (!(*started)[index]) delta["role"] = "assistant";
              addToDelta(events, absl::StrCat("call_", id, "_", index, "_"), !(*started)[index],
                         (*calls)[index], delta);
              if (finishReason && *finishReason == "stop" && (*calls)[index] > 0) finishReason = "tool_calls";
              choice["delta"] = std::move(delta);
            } else if (chat) {
              Json delta = Json::object();
              if (!(*started)[index])
                delta["role"] = "assistant";
              if (!content.empty() || !(*started)[index])
                delta["content"] = content;
              choice["delta"] = std::move(delta);
            } else {
              choice["text"] = ((*started)[index] ? "" : echo) + content;
            }
            (*started)[index] = true;
            choice["logprobs"] = params.logprobs < 0 ? Json()
                                 : chat ? chatLogprobs(entries)
                                        : completionLogprobs(entries, (*offsets)[index]);
            choice["finish_reason"] = finishReason ? Json(*finishReason) : Json();
            Json out = base;
            out["choices"] = Json::array({choice});
            return send(out);
          };
          std::vector<ChoiceDelta> deltas;
          bool more = stream->next(deltas, std::chrono::milliseconds(100));
          for (const ChoiceDelta &delta : deltas) {
            std::vector<LogprobEntry> entries = delta.promptLogprobs;
            entries.insert(entries.end(), delta.logprobs.begin(), delta.logprobs.end());
            if (!chunk(delta.index, delta.text, entries, delta.finish)) {
              stream->cancel();
              return false;
            }
          }
          if (more) {
            if (deltas.empty() && sink.is_writable && !sink.is_writable()) {
              stream->cancel();
              return false;
            }
            return true;
          }
          if (stream->error) {
            send(Json::parse(errorBody(*stream->error)));
          } else if (params.includeUsage) {
            Json out = base;
            out["choices"] = Json::array();
            out["usage"] = usage(*stream);
            send(out);
          }
          static const char done[] = "data: [DONE]\n\n";
          sink.write(done, sizeof(done) - 1);
          sink.done();
          log(id, stream->error ? stream->error->status : 200, stream->promptTokens,
              stream->completionTokens, stream->ttftSeconds);
          return true;
        },
        [stream](bool success) {
          if (!success)
            stream->cancel(); // the client went away mid-stream
        });
  }

  static Json usage(const RequestStream &stream) {
    return {{"prompt_tokens", stream.promptTokens},
            {"completion_tokens", stream.completionTokens},
            {"total_tokens", stream.promptTokens + stream.completionTokens}};
  }

  void log(const std::string &id, int status, int64_t prompt, int64_t completion, double ttft) {
    std::lock_guard<std::mutex> lock(logMutex);
    std::cerr << "mvc-serve: " << id << " " << status << " prompt=" << prompt
              << " completion=" << completion << " ttft=" << ttft << "s\n";
  }

  /// Requests in flight at once: every admitted request (a stream holds its worker to the
  /// end) and some for the endpoints that answer at once (/health, /metrics, errors).
  static HttpServer::Limits limitsOf(const Options &options) {
    HttpServer::Limits limits;
    limits.workers = static_cast<size_t>(options.maxRequests + 32);
    limits.maxConnections = options.maxConnections;
    return limits;
  }

  Options options;
  std::atomic<bool> ready{false}, loadFailed{false};
  std::atomic<uint64_t> nextId{0};
  std::time_t startTime = std::time(nullptr);
  std::unique_ptr<Session> session;
  std::unique_ptr<Model> model;
  std::optional<TextSession> text;
  /// The model's reply format (Gemma 4): chat replies split into content,
  /// reasoning_content and tool_calls.
  std::optional<ResponseFormat> replyFormat;
  std::mutex textMutex, logMutex;
  std::unique_ptr<Scheduler> scheduler;
  HttpServer http; // last: destroyed first, while what its handlers use still exists
};

int toolMain(int argc, char **argv) {
  bool help = false;
  absl::StatusOr<Options> options = parseArgs(argc, argv, help);
  if (help) {
    printHelp();
    return 0;
  }
  if (!options.ok()) {
    std::cerr << "mvc-serve: error: " << options.status().message() << "\n";
    return 1;
  }
  Server server(std::move(*options));
  return server.run();
}

} // namespace
} // namespace mvc::serving

int main(int argc, char **argv) {
  return mvc::guardedMain("mvc-serve", [&] { return mvc::serving::toolMain(argc, argv); });
}
