// RUN: mvc-opt --mvc-emu-kernel-wrappers %s | FileCheck %s

// CHECK-LABEL: llvm.func internal @scale.emu_body(%{{.*}}: !llvm.ptr<1>, %{{.*}}: i64)
// CHECK-NOT: nvvm.kernel
// CHECK: llvm.func @scale(%[[PARAMS:.*]]: !llvm.ptr)
// CHECK: %[[SLOT0:.*]] = llvm.getelementptr %[[PARAMS]][0] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[ADDR0:.*]] = llvm.load %[[SLOT0]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[ARG0:.*]] = llvm.load %[[ADDR0]] : !llvm.ptr -> !llvm.ptr<1>
// CHECK: %[[SLOT1:.*]] = llvm.getelementptr %[[PARAMS]][1] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[ADDR1:.*]] = llvm.load %[[SLOT1]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[ARG1:.*]] = llvm.load %[[ADDR1]] : !llvm.ptr -> i64
// CHECK: llvm.call @scale.emu_body(%[[ARG0]], %[[ARG1]]) : (!llvm.ptr<1>, i64) -> ()
llvm.func @scale(%out: !llvm.ptr<1>, %n: i64) attributes {nvvm.kernel, nvvm.maxntid = array<i32: 128, 1, 1>, mvc.emu.static_shared = 256 : i64} {
  llvm.return
}

// Helpers stay as they are.
// CHECK-LABEL: llvm.func @helper()
llvm.func @helper() {
  llvm.return
}

// CHECK: llvm.func @mvc_emu_abi_version() -> i32
// CHECK: llvm.mlir.constant(3 : i32)
// CHECK: llvm.mlir.global internal constant @mvc_emu_kernel_info_text("{\22scale\22: [256, 2]}\00")
// CHECK: llvm.func @mvc_emu_kernel_info() -> !llvm.ptr
