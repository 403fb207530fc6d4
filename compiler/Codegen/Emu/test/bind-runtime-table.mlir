// RUN: mvc-opt --mvc-emu-bind-runtime-table --split-input-file --verify-diagnostics %s | FileCheck %s

// CHECK: llvm.mlir.global external @mvc_emu_table() {{.*}}: !llvm.ptr {
// CHECK:   llvm.mlir.zero : !llvm.ptr
// CHECK-LABEL: llvm.func internal @mvc_emu_sreg(
// CHECK-SAME: %[[WHICH:.*]]: i32) -> i32
// CHECK: %[[TABLE:.*]] = llvm.load %{{.*}} : !llvm.ptr -> !llvm.ptr
// CHECK: %[[SLOT:.*]] = llvm.getelementptr %[[TABLE]][0] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[FN:.*]] = llvm.load %[[SLOT]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[R:.*]] = llvm.call %[[FN]](%[[WHICH]]) : !llvm.ptr, (i32) -> i32
// CHECK: llvm.return %[[R]] : i32
llvm.func @mvc_emu_sreg(i32) -> i32
// A void function skips a null slot.
// CHECK-LABEL: llvm.func internal @mvc_emu_cp_async_commit()
// CHECK: llvm.getelementptr %{{.*}}[8] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[TARGET:.*]] = llvm.load
// CHECK: %[[NULL:.*]] = llvm.mlir.zero : !llvm.ptr
// CHECK: %[[ABSENT:.*]] = llvm.icmp "eq" %[[TARGET]], %[[NULL]] : !llvm.ptr
// CHECK: llvm.cond_br %[[ABSENT]], ^[[DONE:.*]], ^[[CALL:[^ ]*]]
// CHECK: ^[[CALL]]:
// CHECK-NEXT: llvm.call %[[TARGET]]() : !llvm.ptr, () -> ()
llvm.func @mvc_emu_cp_async_commit()

// -----

// expected-error @below {{cuda-emu: 'mvc_emu_teleport' is not a function of the emulator}}
llvm.func @mvc_emu_teleport(i32)
