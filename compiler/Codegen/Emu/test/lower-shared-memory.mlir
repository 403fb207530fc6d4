// RUN: mvc-opt --mvc-emu-lower-shared-memory --split-input-file --verify-diagnostics %s | FileCheck %s

// Each kernel lays out only the shared globals it uses, in module order and at their
// alignment; the dynamic shared memory follows, 16-byte aligned.
llvm.mlir.global internal @a() {addr_space = 3 : i32, alignment = 4 : i64} : !llvm.array<3 x f32>
llvm.mlir.global internal @b() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<8 x f32>
llvm.mlir.global external @dynamic() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<0 x i8>

// CHECK-NOT: llvm.mlir.global
// CHECK-LABEL: llvm.func @both
// CHECK-SAME: mvc.emu.static_shared = 48 : i64
// CHECK: %[[BASE:.*]] = llvm.call @mvc_emu_shared_base() : () -> !llvm.ptr
// CHECK: %[[A:.*]] = llvm.getelementptr %[[BASE]][0] : (!llvm.ptr) -> !llvm.ptr, i8
// CHECK: llvm.addrspacecast %[[A]] : !llvm.ptr to !llvm.ptr<3>
// CHECK: %[[B:.*]] = llvm.getelementptr %[[BASE]][16] : (!llvm.ptr) -> !llvm.ptr, i8
// CHECK: llvm.addrspacecast %[[B]] : !llvm.ptr to !llvm.ptr<3>
// CHECK: %[[D:.*]] = llvm.getelementptr %[[BASE]][48] : (!llvm.ptr) -> !llvm.ptr, i8
// CHECK: llvm.addrspacecast %[[D]] : !llvm.ptr to !llvm.ptr<3>
llvm.func @both() attributes {nvvm.kernel} {
  %a = llvm.mlir.addressof @a : !llvm.ptr<3>
  %b = llvm.mlir.addressof @b : !llvm.ptr<3>
  %d = llvm.mlir.addressof @dynamic : !llvm.ptr<3>
  %x = llvm.load %a : !llvm.ptr<3> -> f32
  llvm.store %x, %b : f32, !llvm.ptr<3>
  llvm.store %x, %d : f32, !llvm.ptr<3>
  llvm.return
}

// CHECK-LABEL: llvm.func @only_b
// CHECK-SAME: mvc.emu.static_shared = 32 : i64
// CHECK: llvm.getelementptr %{{.*}}[0] : (!llvm.ptr) -> !llvm.ptr, i8
llvm.func @only_b() attributes {nvvm.kernel} {
  %b = llvm.mlir.addressof @b : !llvm.ptr<3>
  %x = llvm.load %b : !llvm.ptr<3> -> f32
  llvm.return
}

// CHECK: llvm.func @mvc_emu_shared_base() -> !llvm.ptr

// -----

llvm.mlir.global internal @s() {addr_space = 3 : i32} : !llvm.array<4 x f32>

llvm.func @helper() {
  // expected-error @below {{cuda-emu: shared memory global 's' used in function 'helper', which is not a kernel}}
  %s = llvm.mlir.addressof @s : !llvm.ptr<3>
  llvm.return
}
