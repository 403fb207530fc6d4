//===- FormDispatchRegions.cpp - fuse ops into dispatch regions ----------===//
//
// Greedy, in program order: each op either joins the region of one of its operands'
// producers or starts a region of its own. A region is later outlined into one kernel,
// so only values that leave it ever touch memory.
//
//===----------------------------------------------------------------------===//
#include "dialects/mvc/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"

#include <optional>

namespace mvc {
#define GEN_PASS_DEF_FORMDISPATCHREGIONS
#include "dialects/mvc/Transforms/Passes.h.inc"
} // namespace mvc

using namespace mlir;
using namespace mvc;

namespace {

/// Row ops see their result as rows of its last dimension; two ops fit one row kernel
/// when their results have the same leading shape (dynamic dims are the token count).
SmallVector<int64_t> rowShape(Operation *op) {
  auto t = cast<RankedTensorType>(op->getResult(0).getType());
  return SmallVector<int64_t>(t.getShape().drop_back());
}

struct Group {
  DispatchKind kind;
  SmallVector<Operation *> ops;
  llvm::SmallPtrSet<Operation *, 8> members;
  // The last op (in block order) defining a value the members read from outside, when it
  // comes after the first member: the region then goes right after it instead of at the
  // first member (a weight read by a later member is often defined between them). Only
  // ops that stay outside regions (weights, states, views) qualify, so it never moves.
  Operation *after = nullptr;
};

class RegionBuilder {
public:
  explicit RegionBuilder(Block &block) : block(block) {}

  void formGroups() {
    for (Operation &op : block) {
      // Views, weights, states and constants stay outside regions.
      auto kernelOp = dyn_cast<KernelOpInterface>(&op);
      if (!kernelOp) continue;
      DispatchKind kind = kernelOp.getDispatchKind();
      Group *target = kind == DispatchKind::row ? findGroupToJoin(kernelOp) : nullptr;
      if (!target) {
        groups.push_back(std::make_unique<Group>());
        target = groups.back().get();
        target->kind = kind;
      }
      target->ops.push_back(&op);
      target->members.insert(&op);
      groupOf[&op] = target;
    }
  }

  void materialize() {
    for (auto &group : groups) materializeGroup(*group);
  }

private:
  /// A region this row op can join, or null.
  Group *findGroupToJoin(KernelOpInterface op) {
    for (Value operand : op.getRowOperands()) {
      Operation *producer = operand.getDefiningOp();
      auto it = producer ? groupOf.find(producer) : groupOf.end();
      if (it == groupOf.end()) continue;
      Group *g = it->second;
      if (!compatible(*g, op)) continue;
      std::optional<Operation *> after = placementAfterJoining(*g, op);
      if (!after) continue;
      g->after = *after;
      return g;
    }
    return nullptr;
  }

  /// Row ops join row regions of the same row shape; elementwise ops join a matmul's
  /// epilogue when they read the matmul output (or its epilogue) elementwise.
  bool compatible(Group &g, Operation *op) {
    if (g.kind == DispatchKind::row) return rowShape(g.ops.front()) == rowShape(op);
    if (g.kind != DispatchKind::matmul || !op->hasTrait<mvc::OpTrait::Elementwise>()) return false;
    auto out = cast<RankedTensorType>(g.ops.front()->getResult(0).getType());
    for (Value operand : op->getOperands()) {
      if (operand.getDefiningOp() && g.members.contains(operand.getDefiningOp())) continue;
      auto t = cast<RankedTensorType>(operand.getType());
      bool sameShape = t.getShape() == out.getShape();
      bool columnVector = t.getRank() == 1 && t.getShape() == out.getShape().drop_front();
      if (!sameShape && !columnVector) return false;
    }
    return cast<RankedTensorType>(op->getResult(0).getType()).getShape() == out.getShape();
  }

  /// A region sits at its first member, or right after the last outside definition its
  /// members read (Group::after) when that comes later. Returns the group's `after` once
  /// `op` joins, or nothing when no position works: moving the region past an op
  /// that reads one of its values (other than `op`) would break that use.
  std::optional<Operation *> placementAfterJoining(Group &g, Operation *op) {
    Operation *first = g.ops.front(), *after = g.after;
    for (Value operand : op->getOperands()) {
      Operation *def = operand.getDefiningOp();
      if (!def || g.members.contains(def)) continue;
      if (def->getBlock() != first->getBlock()) return std::nullopt;
      if (def->isBeforeInBlock(first)) continue;
      // Only ops that stay where they are (weights, states, views) can anchor the region;
      // a kernel op moves into a region of its own.
      if (isa<KernelOpInterface>(def)) return std::nullopt;
      if (!after || after->isBeforeInBlock(def)) after = def;
    }
    if (after == g.after) return after;
    for (Operation *m : g.ops)
      for (Value r : m->getResults())
        for (Operation *user : r.getUsers()) {
          if (user == op || g.members.contains(user)) continue;
          if (user->getBlock() != after->getBlock() || !after->isBeforeInBlock(user)) return std::nullopt;
        }
    return after;
  }

  void materializeGroup(Group &g) {
    SmallVector<Value> results;
    for (Operation *op : g.ops)
      for (Value r : op->getResults())
        if (llvm::any_of(r.getUsers(), [&](Operation *u) { return !g.members.contains(u); }))
          results.push_back(r);

    OpBuilder b(g.ops.front());
    if (g.after) b.setInsertionPointAfter(g.after);
    auto region = DispatchRegionOp::create(b, g.ops.front()->getLoc(),
                                           ValueRange(results).getTypes(), g.kind);
    Block *body = b.createBlock(&region.getBody());
    for (Operation *op : g.ops) op->moveBefore(body, body->end());
    b.setInsertionPointToEnd(body);
    YieldOp::create(b, region.getLoc(), results);
    for (auto [i, r] : llvm::enumerate(results))
      r.replaceUsesWithIf(region.getResult(i), [&](OpOperand &use) {
        return !region->isProperAncestor(use.getOwner());
      });
  }

  Block &block;
  SmallVector<std::unique_ptr<Group>> groups;
  DenseMap<Operation *, Group *> groupOf;
};

struct FormDispatchRegionsPass
    : public mvc::impl::FormDispatchRegionsBase<FormDispatchRegionsPass> {
  void runOnOperation() override {
    for (Block &block : getOperation().getBody()) {
      RegionBuilder builder(block);
      builder.formGroups();
      builder.materialize();
    }
  }
};

} // namespace
