//===- PagedCache.h - tokens in the ragged batch and the paged cache -*- C++ -*-===//
//
// What every backend's attention and KV-write kernels share: the static shape of an
// mvc.attention, a token's sequence and absolute position (from the batch's row offsets
// and cache lengths), and where a position's row lives in a paged KV cache (through the
// block table). Plain arith/memref/scf on an OpBuilder, so the cpu kernels and the gpu.func
// templates emit the same index arithmetic.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_COMPILER_CODEGEN_COMMON_PAGEDCACHE_H
#define MVC_COMPILER_CODEGEN_COMMON_PAGEDCACHE_H

#include "dialects/mvc/IR/MvcOps.h"
#include "mlir/IR/Builders.h"

namespace mvc {

/// The static shape of an mvc.attention: query [T, heads, hd], caches [pages, pageSize,
/// kvHeads, hd], `group` query heads per KV head.
struct AttentionShape {
  int64_t heads, hd, pageSize, kvHeads, group;
  float scale, softcap;
  static AttentionShape of(AttentionOp op);
};

struct TokenPlace {
  mlir::Value seq, pos;
};

/// The sequence of token `t` (the last whose first row is <= t; empty sequences are
/// skipped over) and its absolute position.
TokenPlace placeToken(mlir::OpBuilder &b, mlir::Location loc, mlir::Value t,
                      mlir::Value rowOffsets, mlir::Value cacheLens, mlir::Value batch);

/// Element offset of (position, kv head 0) of sequence `seq` in a paged cache.
mlir::Value cacheOffset(mlir::OpBuilder &b, mlir::Location loc, mlir::Value blockTable,
                        mlir::Value maxPages, mlir::Value seq, mlir::Value pos, int64_t pageSize,
                        int64_t rowElems);

} // namespace mvc

#endif // MVC_COMPILER_CODEGEN_COMMON_PAGEDCACHE_H
