// gomap_harness/state_space.hpp — the engine states that matter for
// correctness, defined once.
//
// Bugs of the double-yield-after-clear kind live where several engine states
// meet: NaN entries (which no lookup finds and which pick their growth half
// by tophash), a growth in progress (doubling or same-size, so two arrays),
// a live iterator that started before the running growth or during it, and
// a whole-map operation (clear, compact, copy, move) at that moment. A state
// is one combination of the four; the fuzz targets count each as extra
// coverage and report when they first reach it (fuzz/README.md, "State
// space"), and `gomap-replay --states` lists those a corpus reaches.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "gomap_harness/program.hpp"

namespace gomap_harness::states {

enum class Growth : std::uint8_t { None, Doubling, SameSize };
// A live iterator's relation to the map's growth: "before" reads an array
// that a growth has replaced since it started (or that is being evacuated
// now); "during" started in the running growth (or, with no growth running,
// reads the current array).
enum class Iter : std::uint8_t { None, StartedBefore, StartedDuring };
enum class WholeMapOp : std::uint8_t { Clear, Compact, Copy, Move };

inline constexpr std::size_t kGrowths = 3, kIters = 3, kWholeMapOps = 4;
inline constexpr std::size_t kStates = 2 * kGrowths * kIters * kWholeMapOps;

inline std::size_t index(bool nan, Growth g, Iter i, WholeMapOp op) {
  return ((static_cast<std::size_t>(nan) * kGrowths + static_cast<std::size_t>(g)) * kIters + static_cast<std::size_t>(i)) *
             kWholeMapOps +
         static_cast<std::size_t>(op);
}

constexpr std::optional<WholeMapOp> whole_map_op(OpKind k) {
  switch (k) {
    case OpKind::Clear: return WholeMapOp::Clear;
    case OpKind::Compact: return WholeMapOp::Compact;
    case OpKind::CopyCompare: return WholeMapOp::Copy;
    case OpKind::MoveMap: return WholeMapOp::Move;
    default: return std::nullopt;
  }
}

// The whole-map ops of the state space are ops the op table marks whole-map.
static_assert([] {
  for (const OpInfo& op : kOps)
    if (whole_map_op(op.kind) && !op.whole_map) return false;
  return true;
}(), "a state-space whole-map op must be marked whole_map in kOps");

// "nan/same-size/iter-before/clear": the name used in logs and reports.
inline std::string name(std::size_t state) {
  static const char* ops[kWholeMapOps] = {"clear", "compact", "copy", "move"};
  static const char* iters[kIters] = {"no-iter", "iter-before", "iter-during"};
  static const char* growths[kGrowths] = {"no-growth", "doubling", "same-size"};
  const std::size_t op = state % kWholeMapOps, it = (state / kWholeMapOps) % kIters,
                    g = (state / (kWholeMapOps * kIters)) % kGrowths, nan = state / (kWholeMapOps * kIters * kGrowths);
  return std::string(nan ? "nan" : "no-nan") + "/" + growths[g] + "/" + iters[it] + "/" + ops[op];
}

inline bool has_nan(std::size_t state) { return state >= kStates / 2; }

}  // namespace gomap_harness::states
