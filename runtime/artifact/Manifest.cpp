//===- Manifest.cpp - manifest JSON to typed structs, fully validated -----===//
#include "runtime/artifact/Manifest.h"
#include "runtime/util/Json.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/artifact/BlockFormat.h"
#include "runtime/artifact/Format.h"
#include "runtime/util/StatusMacros.h"

namespace mvc {

using Json = nlohmann::ordered_json;

absl::string_view bufferKindName(BufferKind kind) {
  switch (kind) {
  case BufferKind::Input:
    return "input";
  case BufferKind::Output:
    return "output";
  case BufferKind::Weight:
    return "weight";
  case BufferKind::State:
    return "state";
  case BufferKind::Transient:
    return "transient";
  }
  return "?";
}

int64_t ProgramInfo::bufferPosition(int64_t id) const {
  for (size_t i = 0; i < buffers.size(); ++i)
    if (buffers[i].id == id)
      return static_cast<int64_t>(i);
  return -1;
}

const ProgramInfo *Manifest::findProgram(absl::string_view name) const {
  for (const ProgramInfo &program : programs)
    if (program.name == name)
      return &program;
  return nullptr;
}

uint64_t Manifest::stateBytesPerPage() const {
  uint64_t total = 0;
  for (const TensorInfo &state : states) {
    uint64_t perPage = dtypeSize(state.dtype);
    for (size_t i = 1; i < state.shape.size(); ++i)
      perPage *= state.shape[i].isConstant() ? static_cast<uint64_t>(state.shape[i].leaf().value) : 0;
    total += perPage;
  }
  return total;
}

bool operator==(const KernelVariant &a, const KernelVariant &b) {
  return std::tie(a.arch, a.format, a.section) == std::tie(b.arch, b.format, b.section);
}
bool operator==(const TargetInfo &a, const TargetInfo &b) {
  return std::tie(a.kind, a.cpu, a.cpuFeatures, a.variants) ==
         std::tie(b.kind, b.cpu, b.cpuFeatures, b.variants);
}
bool operator==(const WeightInfo &a, const WeightInfo &b) {
  return std::tie(a.name, a.dtype, a.shape, a.layout, a.offset, a.size) ==
         std::tie(b.name, b.dtype, b.shape, b.layout, b.offset, b.size);
}
bool operator==(const TensorInfo &a, const TensorInfo &b) {
  return std::tie(a.name, a.dtype, a.shape, a.buffer) ==
         std::tie(b.name, b.dtype, b.shape, b.buffer);
}
bool operator==(const BufferInfo &a, const BufferInfo &b) {
  return std::tie(a.id, a.kind, a.index, a.size, a.first, a.last) ==
         std::tie(b.id, b.kind, b.index, b.size, b.first, b.last);
}
bool operator==(const StepInfo &a, const StepInfo &b) {
  return std::tie(a.kind, a.kernel, a.workgroups, a.bindings, a.push, a.block, a.sharedBytes, a.src,
                  a.dst, a.srcOffset, a.dstOffset, a.size) ==
         std::tie(b.kind, b.kernel, b.workgroups, b.bindings, b.push, b.block, b.sharedBytes, b.src,
                  b.dst, b.srcOffset, b.dstOffset, b.size);
}
bool operator==(const ProgramInfo &a, const ProgramInfo &b) {
  return std::tie(a.name, a.symbols, a.inputs, a.outputs, a.buffers, a.steps) ==
         std::tie(b.name, b.symbols, b.inputs, b.outputs, b.buffers, b.steps);
}
bool operator==(const Manifest &a, const Manifest &b) {
  return std::tie(a.formatVersion, a.producer, a.sourcePath, a.sourceKind, a.architecture, a.config,
                  a.languageModel, a.target, a.weights, a.states, a.loadSymbols, a.programs) ==
         std::tie(b.formatVersion, b.producer, b.sourcePath, b.sourceKind, b.architecture, b.config,
                  b.languageModel, b.target, b.weights, b.states, b.loadSymbols, b.programs);
}

namespace {

absl::Status fieldError(const std::string &path, absl::string_view message) {
  if (path.empty())
    return absl::InvalidArgumentError(absl::StrCat("manifest: ", message));
  return absl::InvalidArgumentError(absl::StrCat("manifest: ", path, ": ", message));
}

std::string join(const std::string &path, absl::string_view key) {
  return path.empty() ? std::string(key) : absl::StrCat(path, ".", key);
}
std::string at(const std::string &path, size_t index) {
  return absl::StrCat(path, "[", index, "]");
}

/// Readers of one JSON object's members; `path` names the object in errors.
class ObjectReader {
public:
  ObjectReader(const Json &json, std::string path) : json(json), path(std::move(path)) {}

  absl::Status checkIsObject() const {
    return json.is_object() ? absl::OkStatus() : fieldError(path, "expected an object");
  }
  bool has(const char *key) const { return json.contains(key); }
  std::string pathOf(const char *key) const { return join(path, key); }
  const std::string &pathName() const { return path; }
  const Json &get(const char *key) const { return json.at(key); }

  absl::Status member(const char *key, const Json *&out, Json::value_t type,
                      bool required = true) const {
    out = nullptr;
    auto it = json.find(key);
    if (it == json.end())
      return required ? fieldError(path, absl::StrCat("missing field '", key, "'"))
                      : absl::OkStatus();
    bool ok = type == Json::value_t::number_integer ? it->is_number_integer()
                                                    : it->type() == type;
    if (!ok)
      return fieldError(pathOf(key), absl::StrCat("expected ", typeName(type), ", got ",
                                                  it->type_name()));
    out = &*it;
    return absl::OkStatus();
  }
  absl::Status string(const char *key, std::string &out, bool required = true) const {
    const Json *value;
    MVC_RETURN_IF_ERROR(member(key, value, Json::value_t::string, required));
    if (value)
      out = value->get<std::string>();
    return absl::OkStatus();
  }
  absl::Status nonEmptyString(const char *key, std::string &out) const {
    MVC_RETURN_IF_ERROR(string(key, out));
    return out.empty() ? fieldError(pathOf(key), "must not be empty") : absl::OkStatus();
  }
  /// A non-negative int64 (ids, indices, offsets, sizes).
  absl::Status count(const char *key, int64_t &out, bool required = true) const {
    const Json *value;
    MVC_RETURN_IF_ERROR(member(key, value, Json::value_t::number_integer, required));
    if (!value)
      return absl::OkStatus();
    if (value->is_number_unsigned() && value->get<uint64_t>() > INT64_MAX)
      return fieldError(pathOf(key), "exceeds int64");
    out = value->get<int64_t>();
    return out < 0 ? fieldError(pathOf(key), absl::StrCat("must be >= 0, got ", out))
                   : absl::OkStatus();
  }
  absl::Status array(const char *key, const Json *&out, bool required = true) const {
    return member(key, out, Json::value_t::array, required);
  }
  absl::Status dtype(const char *key, DType &out) const {
    std::string name;
    MVC_RETURN_IF_ERROR(string(key, name));
    absl::StatusOr<DType> parsed = parseDType(name);
    if (!parsed.ok())
      return fieldError(pathOf(key), parsed.status().message());
    out = *parsed;
    return absl::OkStatus();
  }
  absl::Status expr(const char *key, Expr &out, bool required = true) const {
    if (!json.contains(key)) {
      if (required)
        return fieldError(path, absl::StrCat("missing field '", key, "'"));
      out = Expr::constant(0);
      return absl::OkStatus();
    }
    return parseExpr(json.at(key), pathOf(key), out);
  }

  static absl::Status parseExpr(const Json &json, const std::string &path, Expr &out) {
    absl::StatusOr<Expr> parsed = Expr::fromJson(json);
    if (!parsed.ok())
      return fieldError(path, parsed.status().message());
    out = std::move(*parsed);
    return absl::OkStatus();
  }

private:
  static const char *typeName(Json::value_t type) {
    switch (type) {
    case Json::value_t::object:
      return "an object";
    case Json::value_t::array:
      return "an array";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::number_integer:
      return "an integer";
    default:
      return "another type";
    }
  }

  const Json &json;
  std::string path;
};

/// Checks that `name` is unique among `seen`.
absl::Status checkUnique(std::set<std::string> &seen, const std::string &name,
                         const std::string &path) {
  if (!seen.insert(name).second)
    return fieldError(path, "duplicate name '" + name + "'");
  return absl::OkStatus();
}

/// Checks that every symbol of `expr` is one of `allowed`.
absl::Status checkSymbols(const Expr &expr, const std::set<std::string> &allowed,
                          const std::string &path) {
  for (const std::string &symbol : expr.symbols())
    if (!allowed.count(symbol))
      return fieldError(path, absl::StrCat("unknown symbol '", symbol, "' (known: ",
                                           absl::StrJoin(allowed, ", "), ")"));
  return absl::OkStatus();
}

/// A shape: an array of expressions over `allowed` symbols. With `dimsOnly`, every entry
/// must be a non-negative integer or a bare symbol (input shapes, from which symbols bind).
absl::Status parseShape(const ObjectReader &object, const char *key,
                        const std::set<std::string> &allowed, bool dimsOnly,
                        std::vector<Expr> &out) {
  const Json *array;
  MVC_RETURN_IF_ERROR(object.array(key, array));
  std::string path = object.pathOf(key);
  for (size_t i = 0; i < array->size(); ++i) {
    Expr dim;
    MVC_RETURN_IF_ERROR(ObjectReader::parseExpr((*array)[i], at(path, i), dim));
    if (dimsOnly && !dim.isConstant() && !dim.isSymbol())
      return fieldError(at(path, i), "an input dimension must be an integer or a symbol");
    if (dim.isConstant() && dim.leaf().value < 0)
      return fieldError(at(path, i), "negative dimension");
    MVC_RETURN_IF_ERROR(checkSymbols(dim, allowed, at(path, i)));
    out.push_back(std::move(dim));
  }
  return absl::OkStatus();
}

absl::Status parseTarget(const ObjectReader &root, TargetInfo &target) {
  const Json *json;
  MVC_RETURN_IF_ERROR(root.member("target", json, Json::value_t::object));
  ObjectReader object(*json, "target");
  MVC_RETURN_IF_ERROR(object.string("kind", target.kind));
  if (target.kind != "cpu" && target.kind != "cuda" && target.kind != "cuda-emu")
    return fieldError("target.kind", "unknown target '" + target.kind +
                                         "' (expected cpu, cuda or cuda-emu)");
  MVC_RETURN_IF_ERROR(object.string("cpu", target.cpu, /*required=*/false));
  const Json *variants;
  MVC_RETURN_IF_ERROR(object.array("variants", variants, /*required=*/false));
  for (size_t i = 0; variants && i < variants->size(); ++i) {
    ObjectReader variant((*variants)[i], at("target.variants", i));
    KernelVariant parsed;
    MVC_RETURN_IF_ERROR(variant.checkIsObject());
    MVC_RETURN_IF_ERROR(variant.nonEmptyString("arch", parsed.arch));
    MVC_RETURN_IF_ERROR(variant.string("format", parsed.format));
    if (parsed.format != "cubin" && parsed.format != "ptx" && parsed.format != "emu")
      return fieldError(variant.pathOf("format"), "unknown kernel format '" + parsed.format +
                                                      "' (expected cubin, ptx or emu)");
    MVC_RETURN_IF_ERROR(variant.nonEmptyString("section", parsed.section));
    target.variants.push_back(std::move(parsed));
  }
  if (target.kind == "cuda" && target.variants.empty())
    return fieldError("target.variants", "a cuda target needs at least one kernel variant");
  const Json *features;
  MVC_RETURN_IF_ERROR(object.array("cpu_features", features, /*required=*/false));
  if (!features)
    return absl::OkStatus();
  for (size_t i = 0; i < features->size(); ++i) {
    if (!(*features)[i].is_string())
      return fieldError(at("target.cpu_features", i), "expected a string");
    target.cpuFeatures.push_back((*features)[i].get<std::string>());
  }
  return absl::OkStatus();
}

absl::Status parseWeight(const ObjectReader &object, WeightInfo &weight) {
  MVC_RETURN_IF_ERROR(object.checkIsObject());
  MVC_RETURN_IF_ERROR(object.nonEmptyString("name", weight.name));
  MVC_RETURN_IF_ERROR(object.dtype("dtype", weight.dtype));
  const Json *shape;
  MVC_RETURN_IF_ERROR(object.array("shape", shape));
  uint64_t elements = 1;
  for (size_t i = 0; i < shape->size(); ++i) {
    const Json &dim = (*shape)[i];
    if (!dim.is_number_integer() || dim.get<int64_t>() < 0 ||
        (dim.is_number_unsigned() && dim.get<uint64_t>() > INT64_MAX))
      return fieldError(at(object.pathOf("shape"), i), "expected a non-negative integer");
    int64_t value = dim.get<int64_t>();
    if (__builtin_mul_overflow(elements, static_cast<uint64_t>(value), &elements))
      return fieldError(object.pathOf("shape"), "element count overflows");
    weight.shape.push_back(value);
  }
  MVC_RETURN_IF_ERROR(object.string("layout", weight.layout));
  // "<format>_n16": a matmul weight in a ggml block format (BlockFormat.h).
  const BlockFormat *blocks =
      absl::EndsWith(weight.layout, "_n16")
          ? findBlockFormat(std::string_view(weight.layout).substr(0, weight.layout.size() - 4))
          : nullptr;
  if (weight.layout != "row_major" && weight.layout != "packed_n16" &&
      weight.layout != "packed_n16_k2" && !blocks)
    return fieldError(object.pathOf("layout"),
                      "unknown layout '" + weight.layout +
                          "' (expected row_major, packed_n16, packed_n16_k2 or <format>_n16 "
                          "for q8_0, q4_0, q4_1, q5_0, q5_1)");
  int64_t offset = 0, size = 0;
  MVC_RETURN_IF_ERROR(object.count("offset", offset));
  MVC_RETURN_IF_ERROR(object.count("size", size));
  weight.offset = static_cast<uint64_t>(offset);
  weight.size = static_cast<uint64_t>(size);
  if (weight.offset % artifact::kAlignment != 0)
    return fieldError(object.pathOf("offset"),
                      absl::StrCat(offset, " is not a multiple of ", artifact::kAlignment));
  if (blocks) {
    // Blocks of 32 values in panels of 16 rows: the size is exact.
    if (weight.dtype != DType::U8 || weight.shape.size() != 2 ||
        weight.shape[1] % blocks->groupValues != 0)
      return fieldError(object.pathOf("layout"),
                        absl::StrCat(weight.layout, " holds a u8 [N, K] weight with K a multiple of ",
                                     blocks->groupValues));
    uint64_t want;
    if (__builtin_mul_overflow(uint64_t((weight.shape[0] + 15) / 16),
                               uint64_t(weight.shape[1] / blocks->groupValues) *
                                   uint64_t(blocks->panelGroupBytes()),
                               &want))
      return fieldError(object.pathOf("shape"), "byte size overflows");
    if (weight.size != want)
      return fieldError(object.pathOf("size"),
                        absl::StrCat(size, " bytes, but ", weight.layout, " [", weight.shape[0],
                                     ", ", weight.shape[1], "] takes ", want));
    return absl::OkStatus();
  }
  uint64_t logical;
  if (__builtin_mul_overflow(elements, dtypeSize(weight.dtype), &logical))
    return fieldError(object.pathOf("shape"), "byte size overflows");
  // Packed layouts pad to whole panels, so they may be larger than the logical tensor.
  bool exact = weight.layout == "row_major";
  if (exact ? weight.size != logical : weight.size < logical)
    return fieldError(object.pathOf("size"),
                      absl::StrCat(size, " bytes, but the shape and dtype need ",
                                   exact ? "" : "at least ", logical));
  return absl::OkStatus();
}

/// Context shared by the parts of one program.
struct ProgramContext {
  std::string path;
  const Manifest &manifest;
  std::set<std::string> symbols; // program symbols and load symbols
};

absl::Status parseTensors(const ObjectReader &program, const char *key, ProgramContext &ctx,
                          bool dimsOnly, std::vector<TensorInfo> &out) {
  const Json *array;
  MVC_RETURN_IF_ERROR(program.array(key, array));
  std::set<std::string> names;
  for (size_t i = 0; i < array->size(); ++i) {
    ObjectReader object((*array)[i], at(program.pathOf(key), i));
    MVC_RETURN_IF_ERROR(object.checkIsObject());
    TensorInfo tensor;
    MVC_RETURN_IF_ERROR(object.nonEmptyString("name", tensor.name));
    // Names become file names in mvc-run (FUNCTION.NAME.npy).
    if (tensor.name.find('/') != std::string::npos)
      return fieldError(object.pathOf("name"), "must not contain '/'");
    MVC_RETURN_IF_ERROR(checkUnique(names, tensor.name, object.pathOf("name")));
    MVC_RETURN_IF_ERROR(object.dtype("dtype", tensor.dtype));
    MVC_RETURN_IF_ERROR(parseShape(object, "shape", ctx.symbols, dimsOnly, tensor.shape));
    MVC_RETURN_IF_ERROR(object.count("buffer", tensor.buffer));
    out.push_back(std::move(tensor));
  }
  return absl::OkStatus();
}

absl::Status parseBuffer(const ObjectReader &object, ProgramContext &ctx, size_t numSteps,
                         ProgramInfo &program, BufferInfo &buffer) {
  MVC_RETURN_IF_ERROR(object.checkIsObject());
  MVC_RETURN_IF_ERROR(object.count("id", buffer.id));
  std::string kind;
  MVC_RETURN_IF_ERROR(object.string("kind", kind));
  auto findByName = [&](const char *key, const auto &list, const char *what) -> absl::Status {
    std::string name;
    MVC_RETURN_IF_ERROR(object.string(key, name));
    for (size_t i = 0; i < list.size(); ++i)
      if (list[i].name == name) {
        buffer.index = static_cast<int64_t>(i);
        return absl::OkStatus();
      }
    return fieldError(object.pathOf(key), absl::StrCat(what, " '", name, "' does not exist"));
  };
  auto readSize = [&](bool required) -> absl::Status {
    if (!required && !object.has("size"))
      return absl::OkStatus();
    Expr size;
    MVC_RETURN_IF_ERROR(object.expr("size", size));
    MVC_RETURN_IF_ERROR(checkSymbols(size, ctx.symbols, object.pathOf("size")));
    buffer.size = std::move(size);
    return absl::OkStatus();
  };
  auto readIndex = [&](size_t limit, const char *what) -> absl::Status {
    MVC_RETURN_IF_ERROR(object.count("index", buffer.index));
    if (static_cast<size_t>(buffer.index) >= limit)
      return fieldError(object.pathOf("index"),
                        absl::StrCat(what, " ", buffer.index, " does not exist (the program has ",
                                     limit, ")"));
    return absl::OkStatus();
  };
  if (kind == "input") {
    buffer.kind = BufferKind::Input;
    return readIndex(program.inputs.size(), "input");
  }
  if (kind == "output") {
    buffer.kind = BufferKind::Output;
    MVC_RETURN_IF_ERROR(readIndex(program.outputs.size(), "output"));
    return readSize(/*required=*/false);
  }
  if (kind == "weight") {
    buffer.kind = BufferKind::Weight;
    return findByName("weight", ctx.manifest.weights, "weight");
  }
  if (kind == "state") {
    buffer.kind = BufferKind::State;
    return findByName("state", ctx.manifest.states, "state");
  }
  if (kind != "transient")
    return fieldError(object.pathOf("kind"),
                      "unknown buffer kind '" + kind +
                          "' (expected input, output, weight, state or transient)");
  buffer.kind = BufferKind::Transient;
  MVC_RETURN_IF_ERROR(readSize(/*required=*/true));
  MVC_RETURN_IF_ERROR(object.count("first", buffer.first));
  MVC_RETURN_IF_ERROR(object.count("last", buffer.last));
  if (buffer.first > buffer.last || static_cast<size_t>(buffer.last) >= numSteps)
    return fieldError(object.pathOf("last"),
                      absl::StrCat("live range [", buffer.first, ", ", buffer.last,
                                   "] is not within the program's ", numSteps, " steps"));
  return absl::OkStatus();
}

/// Resolves the buffer id at `json` (a member of a step) to a buffer position, checking that
/// a transient is live at step `stepIndex`.
absl::Status resolveBuffer(const Json &json, const std::string &path, const ProgramInfo &program,
                           size_t stepIndex, int64_t &position) {
  if (!json.is_number_integer())
    return fieldError(path, "expected a buffer id");
  int64_t id = json.get<int64_t>();
  position = program.bufferPosition(id);
  if (position < 0)
    return fieldError(path, absl::StrCat("buffer ", id, " does not exist"));
  const BufferInfo &buffer = program.buffers[position];
  if (buffer.kind == BufferKind::Transient &&
      (static_cast<int64_t>(stepIndex) < buffer.first ||
       static_cast<int64_t>(stepIndex) > buffer.last))
    return fieldError(path, absl::StrCat("transient buffer ", id, " is used at step ",
                                         stepIndex, " outside its live range [", buffer.first,
                                         ", ", buffer.last, "]"));
  return absl::OkStatus();
}

absl::Status parseStep(const ObjectReader &object, size_t index, const ProgramContext &ctx,
                       const ProgramInfo &program, StepInfo &step) {
  MVC_RETURN_IF_ERROR(object.checkIsObject());
  std::string kind;
  MVC_RETURN_IF_ERROR(object.string("kind", kind));
  auto expr = [&](const char *key, Expr &out, bool required) -> absl::Status {
    MVC_RETURN_IF_ERROR(object.expr(key, out, required));
    return checkSymbols(out, ctx.symbols, object.pathOf(key));
  };
  if (kind == "dispatch") {
    step.kind = StepKind::Dispatch;
    MVC_RETURN_IF_ERROR(object.nonEmptyString("kernel", step.kernel));
    MVC_RETURN_IF_ERROR(object.string("part", step.part, /*required=*/false));
    MVC_RETURN_IF_ERROR(expr("workgroups", step.workgroups, /*required=*/true));
    const Json *bindings;
    MVC_RETURN_IF_ERROR(object.array("bindings", bindings));
    for (size_t i = 0; i < bindings->size(); ++i) {
      int64_t position;
      MVC_RETURN_IF_ERROR(resolveBuffer((*bindings)[i], at(object.pathOf("bindings"), i),
                                        program, index, position));
      step.bindings.push_back(position);
    }
    const Json *push;
    MVC_RETURN_IF_ERROR(object.array("push", push, /*required=*/false));
    for (size_t i = 0; push && i < push->size(); ++i) {
      Expr value;
      MVC_RETURN_IF_ERROR(ObjectReader::parseExpr((*push)[i], at(object.pathOf("push"), i), value));
      MVC_RETURN_IF_ERROR(checkSymbols(value, ctx.symbols, at(object.pathOf("push"), i)));
      step.push.push_back(std::move(value));
    }
    const Json *block;
    MVC_RETURN_IF_ERROR(object.array("block", block, /*required=*/false));
    if (block && (block->empty() || block->size() > 3))
      return fieldError(object.pathOf("block"), "expected 1 to 3 thread counts");
    for (size_t i = 0; block && i < block->size(); ++i) {
      const Json &dim = (*block)[i];
      if (!dim.is_number_integer() || dim.get<int64_t>() < 1 || dim.get<int64_t>() > 1024)
        return fieldError(at(object.pathOf("block"), i), "expected an integer in 1..1024");
      step.block[i] = dim.get<int64_t>();
    }
    if (step.block[0] * step.block[1] * step.block[2] > 1024)
      return fieldError(object.pathOf("block"), "more than 1024 threads per block");
    MVC_RETURN_IF_ERROR(object.count("shared_bytes", step.sharedBytes, /*required=*/false));
    return absl::OkStatus();
  }
  if (kind != "copy")
    return fieldError(object.pathOf("kind"),
                      "unknown step kind '" + kind + "' (expected dispatch or copy)");
  step.kind = StepKind::Copy;
  for (const char *key : {"src", "dst"})
    if (!object.has(key))
      return fieldError(object.pathName(), absl::StrCat("missing field '", key, "'"));
  MVC_RETURN_IF_ERROR(resolveBuffer(object.get("src"), object.pathOf("src"), program, index, step.src));
  MVC_RETURN_IF_ERROR(resolveBuffer(object.get("dst"), object.pathOf("dst"), program, index, step.dst));
  BufferKind dstKind = program.buffers[step.dst].kind;
  if (dstKind == BufferKind::Input || dstKind == BufferKind::Weight)
    return fieldError(object.pathOf("dst"),
                      absl::StrCat("a copy cannot write ", bufferKindName(dstKind), " buffer ",
                                   program.buffers[step.dst].id));
  MVC_RETURN_IF_ERROR(expr("src_offset", step.srcOffset, /*required=*/false));
  MVC_RETURN_IF_ERROR(expr("dst_offset", step.dstOffset, /*required=*/false));
  return expr("size", step.size, /*required=*/true);
}

absl::Status parseProgram(const ObjectReader &object, const Manifest &manifest,
                          ProgramInfo &program) {
  MVC_RETURN_IF_ERROR(object.checkIsObject());
  ProgramContext ctx{object.pathName(), manifest, {}};
  MVC_RETURN_IF_ERROR(object.nonEmptyString("name", program.name));
  for (const auto &[name, value] : manifest.loadSymbols)
    ctx.symbols.insert(name);
  const Json *symbols;
  MVC_RETURN_IF_ERROR(object.array("symbols", symbols));
  for (size_t i = 0; i < symbols->size(); ++i) {
    std::string path = at(object.pathOf("symbols"), i);
    if (!(*symbols)[i].is_string() || (*symbols)[i].get<std::string>().empty())
      return fieldError(path, "expected a symbol name");
    std::string name = (*symbols)[i].get<std::string>();
    if (!ctx.symbols.insert(name).second)
      return fieldError(path, "symbol '" + name + "' is already a program or load symbol");
    program.symbols.push_back(name);
  }
  MVC_RETURN_IF_ERROR(parseTensors(object, "inputs", ctx, /*dimsOnly=*/true, program.inputs));
  MVC_RETURN_IF_ERROR(parseTensors(object, "outputs", ctx, /*dimsOnly=*/false, program.outputs));
  // Program symbols are bound from input shapes, so each must be some input's dimension.
  for (size_t i = 0; i < program.symbols.size(); ++i) {
    bool bound = false;
    for (const TensorInfo &input : program.inputs)
      for (const Expr &dim : input.shape)
        bound |= dim.isSymbol() && dim.leaf().name == program.symbols[i];
    if (!bound)
      return fieldError(at(object.pathOf("symbols"), i),
                        "symbol '" + program.symbols[i] + "' is not a dimension of any input");
  }

  const Json *steps, *buffers;
  MVC_RETURN_IF_ERROR(object.array("steps", steps));
  MVC_RETURN_IF_ERROR(object.array("buffers", buffers));
  for (size_t i = 0; i < buffers->size(); ++i) {
    ObjectReader buffer((*buffers)[i], at(object.pathOf("buffers"), i));
    BufferInfo info;
    MVC_RETURN_IF_ERROR(parseBuffer(buffer, ctx, steps->size(), program, info));
    if (program.bufferPosition(info.id) >= 0)
      return fieldError(buffer.pathOf("id"), absl::StrCat("duplicate buffer id ", info.id));
    program.buffers.push_back(std::move(info));
  }
  // Each input and output lives in exactly the buffer that names it back.
  for (auto [key, kind, tensors] :
       {std::make_tuple("inputs", BufferKind::Input, &program.inputs),
        std::make_tuple("outputs", BufferKind::Output, &program.outputs)}) {
    for (size_t i = 0; i < tensors->size(); ++i) {
      int64_t id = (*tensors)[i].buffer;
      int64_t position = program.bufferPosition(id);
      std::string path = join(at(object.pathOf(key), i), "buffer");
      if (position < 0)
        return fieldError(path, absl::StrCat("buffer ", id, " does not exist"));
      const BufferInfo &buffer = program.buffers[position];
      if (buffer.kind != kind || buffer.index != static_cast<int64_t>(i))
        return fieldError(path, absl::StrCat("buffer ", id, " is not ", bufferKindName(kind),
                                             " buffer with index ", i));
      (*tensors)[i].buffer = position;
    }
  }
  for (const BufferInfo &buffer : program.buffers) {
    bool isIo = buffer.kind == BufferKind::Input || buffer.kind == BufferKind::Output;
    const auto &tensors = buffer.kind == BufferKind::Input ? program.inputs : program.outputs;
    if (isIo && tensors[buffer.index].buffer != program.bufferPosition(buffer.id))
      return fieldError(ctx.path + ".buffers",
                        absl::StrCat("buffer ", buffer.id, " claims ", bufferKindName(buffer.kind),
                                     " ", buffer.index, ", which lives in another buffer"));
  }
  for (size_t i = 0; i < steps->size(); ++i) {
    StepInfo step;
    MVC_RETURN_IF_ERROR(
        parseStep(ObjectReader((*steps)[i], at(object.pathOf("steps"), i)), i, ctx, program, step));
    program.steps.push_back(std::move(step));
  }
  return absl::OkStatus();
}

} // namespace

absl::StatusOr<Manifest> parseManifest(absl::string_view text) {
  MVC_ASSIGN_OR_RETURN(Json json, parseJson<Json>(std::string_view(text.data(), text.size()), "manifest"));
  ObjectReader root(json, "");
  if (!json.is_object())
    return absl::InvalidArgumentError("manifest: expected a JSON object");
  Manifest manifest;
  MVC_RETURN_IF_ERROR(root.count("format_version", manifest.formatVersion));
  if (manifest.formatVersion != 1)
    return fieldError("format_version",
                      absl::StrCat("unsupported version ", manifest.formatVersion, " (expected 1)"));
  MVC_RETURN_IF_ERROR(root.string("producer", manifest.producer, /*required=*/false));
  MVC_RETURN_IF_ERROR(root.string("architecture", manifest.architecture, /*required=*/false));
  const Json *source;
  MVC_RETURN_IF_ERROR(root.member("source", source, Json::value_t::object, /*required=*/false));
  if (source) {
    ObjectReader object(*source, "source");
    MVC_RETURN_IF_ERROR(object.string("path", manifest.sourcePath, /*required=*/false));
    MVC_RETURN_IF_ERROR(object.string("kind", manifest.sourceKind, /*required=*/false));
  }
  if (json.contains("config"))
    manifest.config = json.at("config");
  if (json.contains("language_model"))
    manifest.languageModel = json.at("language_model");
  MVC_RETURN_IF_ERROR(parseTarget(root, manifest.target));

  const Json *loadSymbols;
  MVC_RETURN_IF_ERROR(
      root.member("load_symbols", loadSymbols, Json::value_t::object, /*required=*/false));
  std::set<std::string> loadNames;
  if (loadSymbols) {
    ObjectReader object(*loadSymbols, "load_symbols");
    for (const auto &item : loadSymbols->items()) {
      int64_t value = 0;
      MVC_RETURN_IF_ERROR(object.count(item.key().c_str(), value));
      manifest.loadSymbols.emplace_back(item.key(), value);
      loadNames.insert(item.key());
    }
  }

  const Json *weights;
  MVC_RETURN_IF_ERROR(root.array("weights", weights, /*required=*/false));
  std::set<std::string> names;
  for (size_t i = 0; weights && i < weights->size(); ++i) {
    ObjectReader object((*weights)[i], at("weights", i));
    WeightInfo weight;
    MVC_RETURN_IF_ERROR(parseWeight(object, weight));
    MVC_RETURN_IF_ERROR(checkUnique(names, weight.name, object.pathOf("name")));
    manifest.weights.push_back(std::move(weight));
  }

  const Json *states;
  MVC_RETURN_IF_ERROR(root.array("states", states, /*required=*/false));
  names.clear();
  for (size_t i = 0; states && i < states->size(); ++i) {
    ObjectReader object((*states)[i], at("states", i));
    MVC_RETURN_IF_ERROR(object.checkIsObject());
    TensorInfo state;
    MVC_RETURN_IF_ERROR(object.nonEmptyString("name", state.name));
    MVC_RETURN_IF_ERROR(checkUnique(names, state.name, object.pathOf("name")));
    MVC_RETURN_IF_ERROR(object.dtype("dtype", state.dtype));
    MVC_RETURN_IF_ERROR(parseShape(object, "shape", loadNames, /*dimsOnly=*/false, state.shape));
    manifest.states.push_back(std::move(state));
  }

  const Json *programs;
  MVC_RETURN_IF_ERROR(root.array("programs", programs));
  names.clear();
  for (size_t i = 0; i < programs->size(); ++i) {
    ObjectReader object((*programs)[i], at("programs", i));
    ProgramInfo program;
    MVC_RETURN_IF_ERROR(parseProgram(object, manifest, program));
    MVC_RETURN_IF_ERROR(checkUnique(names, program.name, object.pathOf("name")));
    manifest.programs.push_back(std::move(program));
  }
  return manifest;
}

} // namespace mvc
