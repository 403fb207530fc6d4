//===- MvcDialect.cpp - the mvc dialect ----------------------------------===//
#include "dialects/mvc/IR/MvcDialect.h"
#include "dialects/mvc/IR/MvcOps.h"

using namespace mlir;
using namespace mvc;

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

#include "dialects/mvc/IR/MvcDialect.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/mvc/IR/MvcAttributes.cpp.inc"

//===----------------------------------------------------------------------===//
// Lowering configs: every field is a positive size (but small_batch_rows, 0 = off).
//===----------------------------------------------------------------------===//

namespace {
LogicalResult allPositive(function_ref<InFlightDiagnostic()> emitError, StringRef attr,
                          ArrayRef<std::pair<StringRef, int64_t>> fields) {
  for (auto [name, value] : fields)
    if (value <= 0)
      return emitError() << "#mvc." << attr << ": " << name << " must be positive, got "
                         << value;
  return success();
}
} // namespace

LogicalResult CpuMatmulConfigAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                          int64_t microkernelRows, int64_t panelsPerWorkgroup,
                                          int64_t rowsPerWorkgroup, int64_t smallBatchRows,
                                          int64_t amxRows, int64_t int8Rows,
                                          int64_t microkernelPanels) {
  if (microkernelPanels < 0 || (microkernelPanels && panelsPerWorkgroup % microkernelPanels))
    return emitError() << "#mvc." << getMnemonic() << ": microkernel_panels (" << microkernelPanels
                       << ") must be 0 or divide panels_per_workgroup (" << panelsPerWorkgroup << ")";
  // int8_rows: 0 (off), or up to 16 rows of quantized activations per workgroup.
  if (int8Rows < 0 || int8Rows > 16)
    return emitError() << "#mvc." << getMnemonic() << ": int8_rows must be 0..16, got " << int8Rows;
  // small_batch_rows may be 0: no small-batch kernel (or rows too long for it).
  if (smallBatchRows < 0)
    return emitError() << "#mvc." << getMnemonic() << ": small_batch_rows must be >= 0, got "
                       << smallBatchRows;
  // amx_rows: 0 (no tiles), or one or two 16-row A tiles dividing the workgroup's rows.
  if (amxRows != 0 && amxRows != 16 && amxRows != 32)
    return emitError() << "#mvc." << getMnemonic() << ": amx_rows must be 0, 16 or 32, got "
                       << amxRows;
  if (amxRows && rowsPerWorkgroup % amxRows)
    return emitError() << "#mvc." << getMnemonic() << ": rows_per_workgroup (" << rowsPerWorkgroup
                       << ") must be a multiple of amx_rows (" << amxRows << ")";
  return allPositive(emitError, getMnemonic(),
                     {{"microkernel_rows", microkernelRows},
                      {"panels_per_workgroup", panelsPerWorkgroup},
                      {"rows_per_workgroup", rowsPerWorkgroup}});
}

LogicalResult CpuAttentionConfigAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                             int64_t queryRows, int64_t amxQueryRows,
                                             int64_t amxKeyRows, int64_t headSplits) {
  // The AMX template: both 0 (off), or both positive multiples of 32.
  bool off = amxQueryRows == 0 && amxKeyRows == 0;
  bool on = amxQueryRows > 0 && amxKeyRows > 0 && amxQueryRows % 32 == 0 && amxKeyRows % 32 == 0;
  if (!off && !on)
    return emitError() << "#mvc." << getMnemonic()
                       << ": amx_query_rows and amx_key_rows must both be 0 or both positive "
                          "multiples of 32, got "
                       << amxQueryRows << " and " << amxKeyRows;
  if (on && headSplits != 1)
    return emitError() << "#mvc." << getMnemonic()
                       << ": the AMX template takes every query head of a KV head (head_splits = 1)";
  return allPositive(emitError, getMnemonic(), {{"query_rows", queryRows}, {"head_splits", headSplits}});
}

LogicalResult CpuRowsConfigAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                        int64_t rowsPerWorkgroup) {
  return allPositive(emitError, getMnemonic(), {{"rows_per_workgroup", rowsPerWorkgroup}});
}

LogicalResult GpuMatmulConfigAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                          int64_t tileM, int64_t tileN, int64_t tileK,
                                          int64_t stages, int64_t warpTileM, int64_t warpTileN,
                                          int64_t threads) {
  return allPositive(emitError, getMnemonic(),
                     {{"tile_m", tileM},
                      {"tile_n", tileN},
                      {"tile_k", tileK},
                      {"stages", stages},
                      {"warp_tile_m", warpTileM},
                      {"warp_tile_n", warpTileN},
                      {"threads", threads}});
}

LogicalResult GpuAttentionConfigAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                             int64_t threads, int64_t queryVectors) {
  return allPositive(emitError, getMnemonic(),
                     {{"threads", threads}, {"query_vectors", queryVectors}});
}

void MvcDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/mvc/IR/MvcOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/mvc/IR/MvcAttributes.cpp.inc"
      >();
}
