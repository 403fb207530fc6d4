//===- GpuPagedCache.h - tokens in the ragged batch and the paged cache -*- C++ -*-===//
//
// What the attention and KV-write kernels share: a token's sequence and absolute position
// (from the batch's row offsets and cache lengths), and where a position's row lives in a
// paged KV cache (through the block table), as in compiler/Codegen/CPU/AttentionKernel.cpp.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_COMPILER_CODEGEN_CUDA_GPUPAGEDCACHE_H
#define MVC_COMPILER_CODEGEN_CUDA_GPUPAGEDCACHE_H

#include "compiler/Codegen/CUDA/GpuKernelBuilder.h"

namespace mvc {

struct TokenPlace {
  mlir::Value seq, pos;
};

/// The sequence of token `t` (the last whose first row is <= t) and its absolute position.
TokenPlace placeToken(GpuKernelBuilder &kb, mlir::Value t, mlir::Value rowOffsets,
                      mlir::Value cacheLens, mlir::Value batch);

/// Element offset of (position, kv head 0) of sequence `seq` in a paged cache.
mlir::Value cacheOffset(GpuKernelBuilder &kb, mlir::Value blockTable, mlir::Value maxPages,
                        mlir::Value seq, mlir::Value pos, int64_t pageSize, int64_t rowElems);

} // namespace mvc

#endif
