// concurrent_sched: gomap::SyncMap and gomap::ShardedMap run by logical
// threads under the controlled scheduler (scheduler.hpp), one at a time, with
// the interleaving chosen by the input: its schedule bytes (libFuzzer mutates
// the interleaving), a seeded PCT run, or a bounded exhaustive round-robin
// search. The input layout is the binary form of concurrent_program.hpp. The
// same input replays to the same history, schedule and verdict in every build
// (`gomap-replay FILE`), so a failure found here can be kept as a text
// regression. Built by the fuzz preset (ASan: memory errors, linearizability),
// by the fuzz-tsan preset (ThreadSanitizer sees the logical threads as
// threads), and as the plain concurrent_sched_replay everywhere else.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "gomap_harness/concurrent_features.hpp"
#include "gomap_harness/concurrent_program.hpp"
#include "gomap_harness/program.hpp"

namespace {
constexpr std::size_t kSwitchCounters = 4096;

// GOMAP_SCHED_ONLY=bytes|pct|rr: run only inputs of that strategy (the
// others return -1, so libFuzzer drops them). For focused runs and for
// measuring each strategy; the inputs it keeps replay as they are, with or
// without the variable.
std::optional<gomap_harness::Strategy> only_strategy() {
  static const std::optional<gomap_harness::Strategy> only = []() -> std::optional<gomap_harness::Strategy> {
    const char* v = std::getenv("GOMAP_SCHED_ONLY");
    if (v == nullptr || *v == 0) return std::nullopt;
    const std::string s(v);
    if (s == "bytes") return gomap_harness::Strategy::Bytes;
    if (s == "pct") return gomap_harness::Strategy::Pct;
    if (s == "rr") return gomap_harness::Strategy::RoundRobin;
    std::fprintf(stderr, "concurrent_sched: error: GOMAP_SCHED_ONLY must be bytes, pct or rr, not '%s'\n", v);
    std::exit(2);
  }();
  return only;
}
}  // namespace

#if defined(GOMAP_LIBFUZZER)
// History features first, then one counter per (stop site, resume site) pair
// of a thread switch: new interleavings of the maps' atomics and locks count
// as coverage even where no new line runs.
__attribute__((section("__libfuzzer_extra_counters"), used)) std::uint8_t
    gomap_sched_counters[gomap_harness::conc_features::kFeatureCount + kSwitchCounters];
#define GOMAP_SCHED_COUNTERS gomap_sched_counters
#else
#define GOMAP_SCHED_COUNTERS nullptr
#endif

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > gomap_harness::kMaxFuzzInputBytes) return -1;  // too long to run in time; kept out of the corpus
  const gomap_harness::ConcurrentProgram p = gomap_harness::decode_concurrent(data, size);
  if (const auto only = only_strategy(); only && p.strategy != *only) return -1;
  gomap_harness::ConcurrentRunOptions opts;
  std::uint8_t* counters = GOMAP_SCHED_COUNTERS;
  if (counters) {
    opts.switch_counters = counters + gomap_harness::conc_features::kFeatureCount;
    opts.switch_counter_count = kSwitchCounters;
  }
  const gomap_harness::ConcurrentResult r = gomap_harness::run_concurrent(p, opts);
  if (counters) gomap_harness::conc_features::record_features(r.history, counters);
  if (r.failed) {
    std::fprintf(stderr, "\n==gomap== concurrent_sched failure\n%s==gomap== replay: gomap-replay <input file>\n",
                 r.report.c_str());
    std::fflush(stderr);
    // exit, not abort: libFuzzer saves the input when the target exits, and
    // its crash handler is not signal-safe under TSan (as in concurrent_map).
    std::exit(1);
  }
  return 0;
}

extern "C" const char* gomap_fuzz_target_name() { return "concurrent_sched"; }
