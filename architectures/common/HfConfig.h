//===- HfConfig.h - typed reads of Hugging Face config.json files -*- C++ -*-===//
//
// Reads fields with their expected types; the first problem is kept and reported with
// the file and the field path ("config.json: text_config.head_dim: expected an integer").
// MLIR-free: both the compile and the run side of an architecture use it.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_ARCHITECTURES_COMMON_HFCONFIG_H
#define MVC_ARCHITECTURES_COMMON_HFCONFIG_H

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include <nlohmann/json.hpp>

namespace mvc {

using OrderedJson = nlohmann::ordered_json;

/// Reads a JSON file; errors name the file.
absl::StatusOr<OrderedJson> readJsonFile(const std::string &path);

class ConfigFields {
public:
  /// `object` must outlive this; `where` prefixes errors ("config.json: text_config").
  ConfigFields(const OrderedJson &object, std::string where);

  bool has(const std::string &key) const;
  int64_t integer(const std::string &key, std::optional<int64_t> fallback = std::nullopt);
  double number(const std::string &key, std::optional<double> fallback = std::nullopt);
  bool boolean(const std::string &key, std::optional<bool> fallback = std::nullopt);
  std::string string(const std::string &key, std::optional<std::string> fallback = std::nullopt);
  /// An integer or a list of integers (eos_token_id); empty when absent.
  std::vector<int64_t> integers(const std::string &key);
  /// A nested object (empty object when absent); `sub` reads it with the path extended.
  const OrderedJson &object(const std::string &key);
  ConfigFields sub(const std::string &key);
  /// A positive integer (sizes) of at most `max` (a size beyond any model's is an error
  /// here, not an overflow or an allocation failure later). On error, records it and
  /// returns 1, so that the caller's arithmetic stays defined until status() is checked.
  int64_t positive(const std::string &key, std::optional<int64_t> fallback = std::nullopt,
                   int64_t max = kMaxConfigSize);
  /// A finite number > 0 (epsilons, scales, RoPE bases); on error records it, returns 1.
  double positiveNumber(const std::string &key, std::optional<double> fallback = std::nullopt);

  /// The largest size any config field may have (2^24: 16M positions or features).
  static constexpr int64_t kMaxConfigSize = int64_t(1) << 24;

  void fail(const std::string &key, const std::string &what);
  absl::Status status() const { return *errors; }

private:
  ConfigFields(const OrderedJson &object, std::string where,
               std::shared_ptr<absl::Status> errors);
  const OrderedJson *get(const std::string &key, bool required);
  const OrderedJson &json;
  std::string where;
  std::shared_ptr<absl::Status> errors;  // the first error, shared with sub-readers
};

/// An optional token id (bos_token_id, pad_token_id): the model config's, else the
/// top-level config's, else none; an id outside [0, vocabSize) is recorded as an error of
/// `model`.
std::optional<int64_t> readOptionalTokenId(ConfigFields &model, ConfigFields &top,
                                           const std::string &key, int64_t vocabSize);

/// The ids generation stops on, as transformers' generate collects them: the model config's
/// eos_token_id (else the top-level config's) and generation_config.json's, sorted, each
/// once; an id outside [0, vocabSize) is recorded as an error of `model`.
std::vector<int64_t> readEosTokenIds(ConfigFields &model, ConfigFields &top,
                                     ConfigFields &generation, int64_t vocabSize);

} // namespace mvc

#endif
