//===- Passes.td - cuda-emu: NVVM kernels to host code -------*- tablegen -*-===//
//
// The cuda-emu rewrite, in pipeline order (EmuCodegen.cpp runs them on the kernels of
// the cuda path, taken out of their gpu.module before any NVVM op is lowered).
//
//===----------------------------------------------------------------------===//
#ifndef MVC_CODEGEN_EMU_PASSES_TD
#define MVC_CODEGEN_EMU_PASSES_TD

include "mlir/Pass/PassBase.td"

def EmuLowerSharedMemory : Pass<"mvc-emu-lower-shared-memory", "mlir::ModuleOp"> {
  let summary = "addrspace(3) globals become offsets into the emulated block's arena";
  let description = [{
    Each kernel gets its own shared-memory layout, as on a GPU: the static addrspace(3)
    globals it uses, in module order, each at its alignment (16 bytes when the global
    names none), then the dynamic shared memory (the zero-sized extern global) 16-byte
    aligned after them. `llvm.mlir.addressof @g` becomes `mvc_emu_shared_base() + offset`,
    still typed !llvm.ptr<3> (address-space casts are no-ops on x86-64), and the kernel is
    tagged `mvc.emu.static_shared` with its static bytes (a multiple of 16, so dynamic
    memory starts right after). A shared global used outside a kernel is an error: its
    offset would depend on the caller.
  }];
  let dependentDialects = ["mlir::LLVM::LLVMDialect"];
}

def EmuInstrumentSharedAccesses : Pass<"mvc-emu-instrument-shared-accesses", "mlir::ModuleOp"> {
  let summary = "Every shared-memory load, store and atomic first calls mvc_emu_shared_access";
  let description = [{
    The emulator cannot see plain accesses, so each llvm.load / llvm.store / llvm.atomicrmw
    / llvm.cmpxchg on an !llvm.ptr<3> address is preceded by
    `mvc_emu_shared_access(address, bytes, kind)` (kind: 0 read, 1 write, 2 atomic): the
    emulator stops the block on an access outside its shared memory or a race between
    barriers (runtime/hal/emu/BlockScheduler.h, checkShared). Fibers run in one fixed
    order, which hides missing barriers; the race check does not depend on the order.
  }];
  let dependentDialects = ["mlir::LLVM::LLVMDialect"];
}

def EmuRewriteNvvm : Pass<"mvc-emu-rewrite-nvvm", "mlir::ModuleOp"> {
  let summary = "NVVM operations become calls of the emulator's mvc_emu_* functions";
  let description = [{
    Special registers, barriers, bar.warp.sync, shfl.sync, vote.sync, mma.sync, ldmatrix
    and cp.async become calls with the signatures of runtime/hal/emu/EmuRuntime.h. Fragment
    operands go through stack slots allocated once in the kernel's entry block (a slot in
    a loop body would grow the fiber's stack every iteration). Any other NVVM operation,
    inline assembly, or a call to an NVPTX-only function fails with
    "cuda-emu: unsupported operation 'OP' in kernel 'K'": what the cuda path emits must be
    emulated exactly, not approximated. f32 -> bf16 truncation becomes mvc_emu_f32_to_bf16
    (cvt.rn.bf16.f32) because the host's libgcc may lack __truncsfbf2.
  }];
  let dependentDialects = ["mlir::LLVM::LLVMDialect"];
}

def EmuKernelWrappers : Pass<"mvc-emu-kernel-wrappers", "mlir::ModuleOp"> {
  let summary = "Each kernel gets a host entry NAME(void **kernelParams)";
  let description = [{
    The kernel's body is renamed `NAME.emu_body` (internal, C calling convention, NVVM
    attributes dropped); `NAME` loads each argument through cuLaunchKernel's parameter
    array and calls it. The library describes itself: mvc_emu_abi_version() and
    mvc_emu_kernel_info() = {"NAME": [static shared bytes, parameter count], ...}.
  }];
  let dependentDialects = ["mlir::LLVM::LLVMDialect"];
}

def EmuBindRuntimeTable : Pass<"mvc-emu-bind-runtime-table", "mlir::ModuleOp"> {
  let summary = "mvc_emu_* declarations become thunks through the runtime's table";
  let description = [{
    The kernel library must link with nothing but libc/libm, so it defines the pointer
    `mvc_emu_table` (null; the emulator fills it after dlopen) and turns every declared
    mvc_emu_* function into an internal function that calls table slot i (slot order:
    MVC_EMU_FUNCTIONS in runtime/hal/emu/EmuAbi.h). A void function's thunk skips a null
    slot (the runtime leaves shared_access null when its checks are off). At -O3 the
    thunks inline away.
  }];
  let dependentDialects = ["mlir::LLVM::LLVMDialect"];
}

#endif
