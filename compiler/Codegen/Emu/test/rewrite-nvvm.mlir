// RUN: mvc-opt --mvc-emu-rewrite-nvvm --split-input-file --verify-diagnostics %s | FileCheck %s

// CHECK-LABEL: llvm.func @ids
// CHECK: %[[TID:.*]] = llvm.mlir.constant(0 : i32) : i32
// CHECK: llvm.call @mvc_emu_sreg(%[[TID]]) : (i32) -> i32
// CHECK: %[[CTAID:.*]] = llvm.mlir.constant(6 : i32) : i32
// CHECK: llvm.call @mvc_emu_sreg(%[[CTAID]]) : (i32) -> i32
// CHECK: %[[LANE:.*]] = llvm.mlir.constant(12 : i32) : i32
// CHECK: llvm.call @mvc_emu_sreg(%[[LANE]]) : (i32) -> i32
// CHECK-NOT: nvvm.
llvm.func @ids() -> i32 attributes {nvvm.kernel} {
  %t = nvvm.read.ptx.sreg.tid.x : i32
  %c = nvvm.read.ptx.sreg.ctaid.x : i32
  %l = nvvm.read.ptx.sreg.laneid : i32
  %s = llvm.add %t, %c : i32
  %r = llvm.add %s, %l : i32
  llvm.return %r : i32
}

// -----

// CHECK-LABEL: llvm.func @sync
// CHECK: llvm.call @mvc_emu_barrier(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (i32, i32, i32, i32) -> i32
// CHECK: %[[DOWN:.*]] = llvm.mlir.constant(1 : i32) : i32
// CHECK-NEXT: %[[PACKED:.*]] = llvm.call @mvc_emu_shfl(%[[DOWN]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (i32, i32, i32, i32, i32) -> i64
// CHECK: %[[LOW:.*]] = llvm.trunc %[[PACKED]] : i64 to i32
// CHECK: llvm.bitcast %[[LOW]] : i32 to f32
// CHECK: %[[BALLOT:.*]] = llvm.mlir.constant(2 : i32) : i32
// CHECK-NEXT: llvm.call @mvc_emu_vote(%[[BALLOT]], %{{.*}}, %{{.*}}) : (i32, i32, i32) -> i32
llvm.func @sync(%v: f32, %p: i1) -> f32 attributes {nvvm.kernel} {
  %mask = llvm.mlir.constant(-1 : i32) : i32
  %one = llvm.mlir.constant(1 : i32) : i32
  %clamp = llvm.mlir.constant(31 : i32) : i32
  nvvm.barrier0
  %s = nvvm.shfl.sync down %mask, %v, %one, %clamp : f32 -> f32
  %b = nvvm.vote.sync ballot %mask, %p -> i32
  llvm.return %s : f32
}

// -----

// The fragments go through stack slots made once, in the entry block.
// CHECK-LABEL: llvm.func @mma
// CHECK-COUNT-4: llvm.alloca
// CHECK: llvm.br
// CHECK: ^bb1:
// CHECK-NOT: llvm.alloca
// CHECK: %[[SHAPE:.*]] = llvm.mlir.constant(0 : i32) : i32
// CHECK-NEXT: llvm.call @mvc_emu_mma(%[[SHAPE]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (i32, !llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr) -> ()
// CHECK: llvm.insertvalue
llvm.func @mma(%a0: i32, %a1: i32, %a2: i32, %a3: i32, %b0: i32, %b1: i32, %c: f32) -> !llvm.struct<(f32, f32, f32, f32)> attributes {nvvm.kernel} {
  llvm.br ^bb1
^bb1:
  %d = nvvm.mma.sync A[%a0, %a1, %a2, %a3] B[%b0, %b1] C[%c, %c, %c, %c]
    {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>,
     multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>,
     shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
  llvm.return %d : !llvm.struct<(f32, f32, f32, f32)>
}

// -----

// CHECK-LABEL: llvm.func @staging
// CHECK: %[[ROW:.*]] = llvm.addrspacecast %{{.*}} : !llvm.ptr<3> to !llvm.ptr
// CHECK-NEXT: %[[NUM:.*]] = llvm.mlir.constant(4 : i32) : i32
// CHECK-NEXT: %[[TRANS:.*]] = llvm.mlir.constant(1 : i32) : i32
// CHECK-NEXT: llvm.call @mvc_emu_ldmatrix(%[[ROW]], %[[NUM]], %[[TRANS]], %{{.*}}) : (!llvm.ptr, i32, i32, !llvm.ptr) -> ()
// CHECK: %[[SIZE:.*]] = llvm.mlir.constant(16 : i32) : i32
// CHECK: llvm.call @mvc_emu_cp_async(%{{.*}}, %{{.*}}, %[[SIZE]], %[[SIZE]]) : (!llvm.ptr, !llvm.ptr, i32, i32) -> ()
// CHECK: llvm.call @mvc_emu_cp_async_commit() : () -> ()
// CHECK: %[[GROUPS:.*]] = llvm.mlir.constant(1 : i32) : i32
// CHECK-NEXT: llvm.call @mvc_emu_cp_async_wait(%[[GROUPS]]) : (i32) -> ()
llvm.func @staging(%s: !llvm.ptr<3>, %g: !llvm.ptr<1>) -> !llvm.struct<(i32, i32, i32, i32)> attributes {nvvm.kernel} {
  %m = nvvm.ldmatrix %s {num = 4 : i32, layout = #nvvm.mma_layout<col>, shape = #nvvm.ld_st_matrix_shape<m = 8, n = 8>, eltType = #nvvm.ld_st_matrix_elt_type<b16>} : (!llvm.ptr<3>) -> !llvm.struct<(i32, i32, i32, i32)>
  nvvm.cp.async.shared.global %s, %g, 16, cache = cg : !llvm.ptr<3>, !llvm.ptr<1>
  nvvm.cp.async.commit.group
  nvvm.cp.async.wait.group 1
  llvm.return %m : !llvm.struct<(i32, i32, i32, i32)>
}

// -----

// CHECK-LABEL: llvm.func @to_bf16
// CHECK: %[[BITS:.*]] = llvm.call @mvc_emu_f32_to_bf16(%{{.*}}) : (f32) -> i16
// CHECK: llvm.bitcast %[[BITS]] : i16 to bf16
llvm.func @to_bf16(%x: f32) -> bf16 {
  %y = llvm.fptrunc %x : f32 to bf16
  llvm.return %y : bf16
}

// -----

llvm.func @k() attributes {nvvm.kernel} {
  // expected-error @below {{cuda-emu: unsupported operation 'nvvm.read.ptx.sreg.clock' in kernel 'k'}}
  %c = nvvm.read.ptx.sreg.clock : i32
  llvm.return
}

// -----

llvm.func @k2(%a: i32) attributes {nvvm.kernel} {
  // expected-error @below {{cuda-emu: unsupported operation 'llvm.inline_asm' in kernel 'k2': inline PTX assembly cannot run on the host}}
  %r = llvm.inline_asm has_side_effects "mov.u32 $0, $1;", "=r,r" %a : (i32) -> i32
  llvm.return
}

// -----

llvm.func @__nv_expf(f32) -> f32
llvm.func @k3(%x: f32) -> f32 attributes {nvvm.kernel} {
  // expected-error @below {{cuda-emu: unsupported operation 'llvm.call' in kernel 'k3': '__nv_expf' is an NVPTX-only function}}
  %r = llvm.call @__nv_expf(%x) : (f32) -> f32
  llvm.return %r : f32
}
