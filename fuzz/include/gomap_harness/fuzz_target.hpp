// gomap_harness/fuzz_target.hpp — the shared helper of every fuzz target.
//
// GOMAP_FUZZ_TARGET(Target) defines LLVMFuzzerTestOneInput for one target:
// decode the bytes (every byte string is a program), run it through the one
// executor, and on a failure print the decoded failure and abort, so that
// libFuzzer saves the input as a crash. The same file links either with
// libFuzzer (the fuzz preset) or with standalone_main.cpp (any compiler), which
// feeds files and directories to the same function.
//
// Extra coverage: libFuzzer also treats the bytes of the
// "__libfuzzer_extra_counters" section as features, so the engine states we
// want explored (growing or not, same-size growth, load band, overflow depth,
// live iterators across growth, clear with live iterators, ...) count as new
// coverage even when they run no new lines.
#pragma once

#include <bitset>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "gomap_harness/executor.hpp"
#include "gomap_harness/state_space.hpp"

namespace gomap_harness {

// Counter layout: each feature family has a named base and size, the next
// base follows the last, and the total is the extra-counter array's size.
namespace counters {
inline constexpr std::size_t kGrowth = 0, kGrowthN = 4;                    // growing x same-size
inline constexpr std::size_t kLoadBand = kGrowth + kGrowthN, kLoadBandN = 8;  // entries per bucket 0..7+
inline constexpr std::size_t kOverflowDepth = kLoadBand + kLoadBandN, kOverflowDepthN = 4;
inline constexpr std::size_t kLiveIters = kOverflowDepth + kOverflowDepthN,
                             kLiveItersN = 2 * (kMaxIterators + 1);          // live iterators x growing
inline constexpr std::size_t kLogBuckets = kLiveIters + kLiveItersN, kLogBucketsN = 16;  // B, 15+ as one
inline constexpr std::size_t kClearWithIters = kLogBuckets + kLogBucketsN, kClearWithItersN = 2;  // x growing
inline constexpr std::size_t kGrowthStarts = kClearWithIters + kClearWithItersN,
                             kGrowthStartsN = 4;                              // same-size x live iterators
inline constexpr std::size_t kGrowthEnds = kGrowthStarts + kGrowthStartsN, kGrowthEndsN = 2;  // x live iterators
inline constexpr std::size_t kCompacts = kGrowthEnds + kGrowthEndsN, kCompactsN = 2;          // x live iterators
inline constexpr std::size_t kNoverflow = kCompacts + kCompactsN, kNoverflowN = 8;            // noverflow 0..7+
// One per op kind run during a growth with live iterators.
inline constexpr std::size_t kKindUnderGrowth = kNoverflow + kNoverflowN, kKindUnderGrowthN = kOpKinds;
// One per state of state_space.hpp.
inline constexpr std::size_t kStates = kKindUnderGrowth + kKindUnderGrowthN, kStatesN = states::kStates;
inline constexpr std::size_t kTotal = kStates + kStatesN;
}  // namespace counters
inline constexpr std::size_t kExtraCounters = counters::kTotal;

// The states of state_space.hpp that `o` is in, as indices; calls f(index).
template <class F>
void for_each_state(const OpObservation& o, F&& f) {
  const auto op = states::whole_map_op(o.kind);
  if (!op) return;
  const states::Growth g = !o.before.growing         ? states::Growth::None
                           : o.before.same_size_grow ? states::Growth::SameSize
                                                     : states::Growth::Doubling;
  for (unsigned i = 0; i < states::kIters; ++i)
    if (o.iter_phases & (1u << i)) f(states::index(o.nan_present, g, static_cast<states::Iter>(i), *op));
}

// When this process ran its first input: the zero of the state-coverage
// times. fuzz_one() calls it first, so the clock starts before any state.
inline std::chrono::steady_clock::time_point first_input_time() {
  static const auto start = std::chrono::steady_clock::now();
  return start;
}

// Prints a line the first time this process reaches a state, with the time
// since the first input: ci/fuzz.sh turns these into the state-coverage table.
inline void report_first_reach(std::size_t state) {
  static std::bitset<states::kStates> reached;
  if (reached.test(state)) return;
  reached.set(state);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - first_input_time()).count();
  std::fprintf(stderr, "==gomap== state first reached: %s at %.2fs\n", states::name(state).c_str(), secs);
}

inline void record_features(std::uint8_t* counters, const OpObservation& o) {
  namespace c = counters;
  auto bump = [&](std::size_t i) {
    if (counters[i] != 0xff) ++counters[i];
  };
  auto band = [](std::size_t v, std::size_t n) { return v < n ? v : n - 1; };
  const gomap::Stats& s = o.after;
  const bool growing = s.growing;
  bump(c::kGrowth + (growing ? 2 : 0) + (s.same_size_grow ? 1 : 0));
  const std::size_t load = s.buckets ? (s.count * 8) / (s.buckets * 8 + 1) : 0;  // entries per bucket
  bump(c::kLoadBand + band(load, c::kLoadBandN));
  const std::size_t ovf = s.overflow_buckets == 0 ? 0 : s.overflow_buckets * 4 <= s.buckets ? 1 : s.overflow_buckets <= s.buckets ? 2 : 3;
  bump(c::kOverflowDepth + ovf);
  bump(c::kLiveIters + o.live_iterators * 2 + (growing ? 1 : 0));
  if (o.live_iterators > 0 && growing) bump(c::kKindUnderGrowth + static_cast<std::size_t>(o.kind));
  bump(c::kLogBuckets + band(s.B, c::kLogBucketsN));
  if (o.kind == OpKind::Clear && o.live_iterators > 0 && o.before.count > 0) bump(c::kClearWithIters + (o.before.growing ? 1 : 0));
  if (!o.before.growing && growing) bump(c::kGrowthStarts + (s.same_size_grow ? 1 : 0) + (o.live_iterators > 0 ? 2 : 0));
  if (o.before.growing && !growing && o.kind != OpKind::Clear) bump(c::kGrowthEnds + (o.live_iterators > 0 ? 1 : 0));
  if (o.kind == OpKind::Compact) bump(c::kCompacts + (o.live_iterators > 0 ? 1 : 0));
  bump(c::kNoverflow + band(s.noverflow, c::kNoverflowN));
  for_each_state(o, [&](std::size_t state) {
    bump(c::kStates + state);
    report_first_reach(state);
  });
}

template <class T>
int fuzz_one(const std::uint8_t* data, std::size_t size, std::uint8_t* counters) {
  static_assert(T::max_len <= kMaxFuzzInputBytes, "a target's max_len must fit the input cap");
  if (size > kMaxFuzzInputBytes) return -1;  // too long to run in time; -1 keeps it out of the corpus
  if (counters) first_input_time();
  Program p = decode(data, size);
  p.target = std::string(T::name);
  ExecOptions opts;
  if (counters) opts.observer = [counters](const OpObservation& o) { record_features(counters, o); };
  const RunResult r = execute<T>(p, std::move(opts));
  if (!r.ok) {
    std::fprintf(stderr, "\n==gomap== %s divergence\n%s==gomap== replay: gomap-replay --target %s <input file>\n",
                 std::string(T::name).c_str(), describe_failure(*r.failure).c_str(), std::string(T::name).c_str());
    std::fflush(stderr);
    std::abort();
  }
  return 0;
}

}  // namespace gomap_harness

#if defined(GOMAP_LIBFUZZER)
#define GOMAP_EXTRA_COUNTERS_ATTR __attribute__((section("__libfuzzer_extra_counters"), used))
#define GOMAP_EXTRA_COUNTERS_PTR gomap_extra_counters
#else
#define GOMAP_EXTRA_COUNTERS_ATTR
#define GOMAP_EXTRA_COUNTERS_PTR nullptr
#endif

// The build names each target after its file (fuzz/targets/<name>.cpp), so a
// file that runs another target than its name says fails to compile.
#if defined(GOMAP_TARGET_FILE_NAME)
#define GOMAP_CHECK_TARGET_FILE_NAME(TargetType) \
  static_assert(TargetType::name == GOMAP_TARGET_FILE_NAME, "fuzz/targets/<name>.cpp must run the target <name>");
#else
#define GOMAP_CHECK_TARGET_FILE_NAME(TargetType)
#endif

#define GOMAP_FUZZ_TARGET(TargetType)                                                              \
  GOMAP_CHECK_TARGET_FILE_NAME(TargetType)                                                         \
  GOMAP_EXTRA_COUNTERS_ATTR std::uint8_t gomap_extra_counters[::gomap_harness::kExtraCounters];  \
  extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {             \
    return ::gomap_harness::fuzz_one<TargetType>(data, size, GOMAP_EXTRA_COUNTERS_PTR);            \
  }                                                                                                \
  extern "C" const char* gomap_fuzz_target_name() { return TargetType::name.data(); }
