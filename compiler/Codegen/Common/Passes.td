//===- Passes.td - codegen passes shared by every target -----*- tablegen -*-===//
#ifndef MVC_CODEGEN_COMMON_PASSES_TD
#define MVC_CODEGEN_COMMON_PASSES_TD

include "mlir/Pass/PassBase.td"

def DeduplicateKernels : Pass<"mvc-deduplicate-kernels", "mlir::ModuleOp"> {
  let summary = "Structurally identical kernels become one";
  let description = [{
    The kernel templates emit one kernel per dispatch, so a model's repeated layers give
    the same kernel many times under different names (Gemma 3 270M: 257 kernels, 17
    distinct). This pass keeps the first kernel of each class of identical ones (same
    signature, attributes and body: the printed function with its own name left out) and
    erases the others, before anything expensive (LLVM lowering, O3, object emission,
    ptxas) runs on them. Kernels are the module's top-level func.func (cpu) and the
    gpu.func of its gpu.modules (cuda). The erased names are recorded in the module's
    `mvc.kernel_aliases` dictionary (erased name -> kept name), from which the schedule's
    steps are renamed; steps keep their own workgroups and push constants, so the
    profile still attributes time per step. Like IREE's DeduplicateExecutables.
  }];
}

#endif
