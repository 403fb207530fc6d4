//===- HfConfig.cpp - typed reads of Hugging Face config.json files ------===//
#include "architectures/common/HfConfig.h"
#include "runtime/util/Json.h"
#include "runtime/util/Files.h"

#include <cmath>
#include <sstream>

#include <algorithm>

#include <fstream>
#include <sstream>

namespace mvc {

absl::StatusOr<OrderedJson> readJsonFile(const std::string &path) {
  absl::StatusOr<std::string> text = readInputFile(path, "config");
  if (!text.ok()) return text.status();
  absl::StatusOr<OrderedJson> j = parseJson<OrderedJson>(*text, path);
  if (!j.ok()) return j.status();
  if (!j->is_object()) return absl::InvalidArgumentError(path + ": expected a JSON object");
  return j;
}

static const OrderedJson &emptyObject() {
  static const OrderedJson empty = OrderedJson::object();
  return empty;
}

ConfigFields::ConfigFields(const OrderedJson &object, std::string where)
    : ConfigFields(object, std::move(where), std::make_shared<absl::Status>()) {}

ConfigFields::ConfigFields(const OrderedJson &object, std::string where,
                           std::shared_ptr<absl::Status> errors)
    : json(object), where(std::move(where)), errors(std::move(errors)) {}

bool ConfigFields::has(const std::string &key) const {
  return json.is_object() && json.contains(key) && !json[key].is_null();
}

void ConfigFields::fail(const std::string &key, const std::string &what) {
  if (errors->ok()) *errors = absl::InvalidArgumentError(where + "." + key + ": " + what);
}

const OrderedJson *ConfigFields::get(const std::string &key, bool required) {
  if (has(key)) return &json[key];
  if (required) fail(key, "missing");
  return nullptr;
}

int64_t ConfigFields::integer(const std::string &key, std::optional<int64_t> fallback) {
  const OrderedJson *v = get(key, !fallback);
  if (!v) return fallback.value_or(0);
  if (!v->is_number_integer()) { fail(key, "expected an integer, got " + v->dump()); return 0; }
  return v->get<int64_t>();
}

int64_t ConfigFields::positive(const std::string &key, std::optional<int64_t> fallback,
                               int64_t max) {
  bool hadError = !errors->ok();
  int64_t v = integer(key, fallback);
  if (!hadError && !errors->ok()) return 1;  // not an integer: already recorded
  if (v <= 0 || v > max) {
    fail(key, "expected a positive integer of at most " + std::to_string(max) + ", got " +
                  std::to_string(v));
    return 1;
  }
  return v;
}

double ConfigFields::positiveNumber(const std::string &key, std::optional<double> fallback) {
  bool hadError = !errors->ok();
  double v = number(key, fallback);
  if (!hadError && !errors->ok()) return 1.0;
  if (!(v > 0) || !std::isfinite(v)) {
    std::ostringstream os;
    os << "expected a positive number, got " << v;
    fail(key, os.str());
    return 1.0;
  }
  return v;
}

double ConfigFields::number(const std::string &key, std::optional<double> fallback) {
  const OrderedJson *v = get(key, !fallback);
  if (!v) return fallback.value_or(0.0);
  if (!v->is_number()) { fail(key, "expected a number, got " + v->dump()); return 0.0; }
  return v->get<double>();
}

bool ConfigFields::boolean(const std::string &key, std::optional<bool> fallback) {
  const OrderedJson *v = get(key, !fallback);
  if (!v) return fallback.value_or(false);
  if (!v->is_boolean()) { fail(key, "expected true or false, got " + v->dump()); return false; }
  return v->get<bool>();
}

std::string ConfigFields::string(const std::string &key, std::optional<std::string> fallback) {
  const OrderedJson *v = get(key, !fallback);
  if (!v) return fallback.value_or("");
  if (!v->is_string()) { fail(key, "expected a string, got " + v->dump()); return ""; }
  return v->get<std::string>();
}

std::vector<int64_t> ConfigFields::integers(const std::string &key) {
  const OrderedJson *v = get(key, false);
  if (!v) return {};
  if (v->is_number_integer()) return {v->get<int64_t>()};
  std::vector<int64_t> out;
  if (!v->is_array()) { fail(key, "expected an integer or a list of integers"); return out; }
  for (const auto &e : *v) {
    if (!e.is_number_integer()) { fail(key, "expected a list of integers, got " + v->dump()); return {}; }
    out.push_back(e.get<int64_t>());
  }
  return out;
}

const OrderedJson &ConfigFields::object(const std::string &key) {
  const OrderedJson *v = get(key, false);
  if (!v) return emptyObject();
  if (!v->is_object()) { fail(key, "expected an object"); return emptyObject(); }
  return *v;
}

ConfigFields ConfigFields::sub(const std::string &key) {
  return ConfigFields(object(key), where + "." + key, errors);
}

std::optional<int64_t> readOptionalTokenId(ConfigFields &model, ConfigFields &top,
                                           const std::string &key, int64_t vocabSize) {
  for (ConfigFields *fields : {&model, &top}) {
    if (!fields->has(key))
      continue;
    const int64_t id = fields->integer(key);
    if (id < 0 || id >= vocabSize)
      model.fail(key, "id " + std::to_string(id) + " outside the vocabulary");
    return id;
  }
  return std::nullopt;
}

std::vector<int64_t> readEosTokenIds(ConfigFields &model, ConfigFields &top,
                                     ConfigFields &generation, int64_t vocabSize) {
  std::vector<int64_t> eos = model.integers("eos_token_id");
  if (eos.empty()) eos = top.integers("eos_token_id");
  for (int64_t id : generation.integers("eos_token_id")) eos.push_back(id);
  std::sort(eos.begin(), eos.end());
  eos.erase(std::unique(eos.begin(), eos.end()), eos.end());
  for (int64_t id : eos)
    if (id < 0 || id >= vocabSize)
      model.fail("eos_token_id", "id " + std::to_string(id) + " outside the vocabulary");
  return eos;
}

} // namespace mvc
