// gomap_harness/concurrent_features.hpp — libFuzzer features read from a
// concurrent history, shared by the concurrent targets.
//
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "gomap_harness/concurrent_ops.hpp"
#include "gomap_harness/linearizability.hpp"

namespace gomap_harness::conc_features {

// Features of what the threads did, read from the history on this thread
// (libFuzzer's extra counters): each kind with each outcome, each pair of
// kinds that overlapped in time on one key (or on the whole map, for range,
// len and clear), and range sizes. They reward inputs whose schedules made
// new kinds of operations race, which line coverage of the threads cannot
// show (and, under TSan, may not count: see concurrent_coverage_allowlist.txt).
inline constexpr std::size_t kKinds = gomap_harness::kConcOpKinds;
inline constexpr std::size_t kPairBase = 2 * kKinds;
inline constexpr std::size_t kRangeBase = kPairBase + kKinds * kKinds;
inline constexpr std::size_t kFeatureCount = kRangeBase + 10;

inline void record_features(const gomap_harness::lin::History& h, std::uint8_t* counters) {
  auto bump = [&](std::size_t i) {
    if (counters[i] != 0xff) ++counters[i];
  };
  std::vector<const gomap_harness::lin::Operation*> ops;
  for (const auto& o : h.ops) ops.push_back(&o);
  std::sort(ops.begin(), ops.end(), [](auto* a, auto* b) { return a->invoke < b->invoke; });
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const auto& a = *ops[i];
    const std::size_t ka = static_cast<std::size_t>(a.kind);
    bump(2 * ka + (a.ok ? 1 : 0));
    if (gomap_harness::conc_is_range(a.kind)) {
      const std::size_t n = a.yielded.size();
      bump(kRangeBase + 2 * (n == 0 ? 0 : n == 1 ? 1 : n < 4 ? 2 : n < 8 ? 3 : 4) + (a.ok ? 1 : 0));
    }
    const bool a_global = !gomap_harness::conc_is_point(a.kind);
    for (std::size_t j = i + 1; j < ops.size() && ops[j]->invoke < a.ret; ++j) {
      const auto& b = *ops[j];
      if (b.thread == a.thread) continue;  // a callback's own nested operations
      if (!a_global && gomap_harness::conc_is_point(b.kind) && b.key != a.key) continue;
      const std::size_t kb = static_cast<std::size_t>(b.kind);
      bump(kPairBase + std::min(ka, kb) * kKinds + std::max(ka, kb));
    }
  }
}

}  // namespace gomap_harness::conc_features
