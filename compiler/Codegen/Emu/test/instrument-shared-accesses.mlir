// RUN: mvc-opt --mvc-emu-instrument-shared-accesses %s | FileCheck %s

// CHECK-LABEL: llvm.func @stage
// CHECK: %[[S:.*]] = llvm.addrspacecast %arg0 : !llvm.ptr<3> to !llvm.ptr
// CHECK-NEXT: %[[BYTES:.*]] = llvm.mlir.constant(16 : i32) : i32
// CHECK-NEXT: %[[WRITE:.*]] = llvm.mlir.constant(1 : i32) : i32
// CHECK-NEXT: llvm.call @mvc_emu_shared_access(%[[S]], %[[BYTES]], %[[WRITE]]) : (!llvm.ptr, i32, i32) -> ()
// CHECK-NEXT: llvm.store %{{.*}}, %arg0 : vector<4xf32>, !llvm.ptr<3>
// CHECK: llvm.mlir.constant(2 : i32) : i32
// CHECK-NEXT: %[[READ:.*]] = llvm.mlir.constant(0 : i32) : i32
// CHECK-NEXT: llvm.call @mvc_emu_shared_access(%{{.*}}, %{{.*}}, %[[READ]])
// CHECK-NEXT: llvm.load %arg0 : !llvm.ptr<3> -> bf16
// CHECK: llvm.mlir.constant(4 : i32) : i32
// CHECK-NEXT: %[[ATOMIC:.*]] = llvm.mlir.constant(2 : i32) : i32
// CHECK-NEXT: llvm.call @mvc_emu_shared_access(%{{.*}}, %{{.*}}, %[[ATOMIC]])
// CHECK-NEXT: llvm.atomicrmw fadd
// Global memory is not instrumented.
// CHECK-NEXT: llvm.load %arg1 : !llvm.ptr<1> -> f32
// CHECK-NEXT: llvm.return
llvm.func @stage(%s: !llvm.ptr<3>, %g: !llvm.ptr<1>, %v: vector<4xf32>, %x: f32) attributes {nvvm.kernel} {
  llvm.store %v, %s : vector<4xf32>, !llvm.ptr<3>
  %h = llvm.load %s : !llvm.ptr<3> -> bf16
  %old = llvm.atomicrmw fadd %s, %x monotonic : !llvm.ptr<3>, f32
  %y = llvm.load %g : !llvm.ptr<1> -> f32
  llvm.return
}
