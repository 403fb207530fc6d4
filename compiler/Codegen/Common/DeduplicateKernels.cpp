//===- DeduplicateKernels.cpp - identical kernels become one --------------===//
#include "compiler/Codegen/Common/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/raw_ostream.h"

namespace mvc {
#define GEN_PASS_DEF_DEDUPLICATEKERNELS
#include "compiler/Codegen/Common/Passes.h.inc"
} // namespace mvc

using namespace mlir;

namespace mvc {
namespace {

constexpr const char *kAliases = "mvc.kernel_aliases";

/// The kernel's text with its own symbol name replaced, so two kernels that differ only in
/// name print the same. Kernels never refer to themselves, so the name occurs once.
std::string structuralKey(Operation *kernel, StringRef name) {
  std::string text;
  llvm::raw_string_ostream os(text);
  kernel->print(os, OpPrintingFlags().useLocalScope());
  std::string symbol = ("@" + name).str();
  size_t at = text.find(symbol);
  if (at != std::string::npos)
    text.replace(at, symbol.size(), "@_");
  return text;
}

/// Erases every kernel of `kernels` that repeats an earlier one; records the aliases.
void deduplicate(ArrayRef<Operation *> kernels, SmallVectorImpl<NamedAttribute> &aliases,
                 MLIRContext *context) {
  llvm::StringMap<StringRef> firstByKey;
  for (Operation *kernel : kernels) {
    StringRef name = SymbolTable::getSymbolName(kernel).getValue();
    auto [it, inserted] = firstByKey.try_emplace(structuralKey(kernel, name), name);
    if (inserted)
      continue;
    aliases.push_back(NamedAttribute(StringAttr::get(context, name),
                                     FlatSymbolRefAttr::get(context, it->second)));
    kernel->erase();
  }
}

class DeduplicateKernelsPass : public impl::DeduplicateKernelsBase<DeduplicateKernelsPass> {
public:
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<NamedAttribute> aliases;
    if (auto existing = module->getAttrOfType<DictionaryAttr>(kAliases))
      aliases.append(existing.begin(), existing.end());
    SmallVector<Operation *> cpuKernels(llvm::map_range(
        module.getOps<func::FuncOp>(), [](func::FuncOp f) { return f.getOperation(); }));
    deduplicate(cpuKernels, aliases, &getContext());
    for (gpu::GPUModuleOp gpuModule : module.getOps<gpu::GPUModuleOp>()) {
      SmallVector<Operation *> gpuKernels(llvm::map_range(
          gpuModule.getOps<gpu::GPUFuncOp>(), [](gpu::GPUFuncOp f) { return f.getOperation(); }));
      deduplicate(gpuKernels, aliases, &getContext());
    }
    if (!aliases.empty())
      module->setAttr(kAliases, DictionaryAttr::get(&getContext(), aliases));
  }
};

} // namespace

std::map<std::string, std::string> kernelAliases(ModuleOp module) {
  std::map<std::string, std::string> result;
  if (auto aliases = module->getAttrOfType<DictionaryAttr>(kAliases))
    for (NamedAttribute alias : aliases)
      result[alias.getName().str()] = cast<FlatSymbolRefAttr>(alias.getValue()).getValue().str();
  return result;
}

} // namespace mvc
